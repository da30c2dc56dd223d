// `pulumi up` of one stack in a process of its own: node -r ts-node/register/transpile-only
// test/helpers/up-child.ts <stack> <project dir>. The engine output goes to stdout, the error to
// stderr, and the exit code says which. Fault tests run an up they will interrupt here: a CLI killed
// under an in-process (inline) program leaves that program half-run in the test's process, and CI
// saw later programs in that process register no resources at all.
import { openStack } from "../../scripts/engine";

const [stackName, dir] = process.argv.slice(2);
openStack({ stack: stackName, dir })
    .then((s) => s.up({ onOutput: (t) => process.stdout.write(t), color: "never" }))
    .then(
        () => process.exit(0),
        (e) => {
            process.stderr.write(String(e));
            process.exit(1);
        },
    );
