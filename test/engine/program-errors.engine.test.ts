// A program's error ends the operation: a synchronous throw, a rejection nobody handles, and a bad
// `dependsOn` (which Pulumi rejects inside a registration, leaving outputs that never settle), under
// netbed's CLI (the program inline) and under the bare CLI (a language host runs it). Each run must
// end within BOUND_MS with a non-zero exit, the error's text and a stack frame.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../../scripts/engine";
import { cliEnv, command, type Driver, type Op, pulumiSync, run } from "../helpers/cli";
import { uniq } from "../helpers";

const FIXTURE = path.join(ROOT, "test", "fixtures", "program-errors");
/** The runner colours stack traces even for a pipe. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");
/** Loading the engine and Node.js takes seconds on a busy machine; a hang is what this bounds. */
const BOUND_MS = 60_000;

const FAILURES: { failure: string; error: RegExp; frame: RegExp; ops: Op[] }[] = [
    { failure: "throw", error: /deliberate failure: the program threw/, frame: /at program \(.*program-errors\/index\.js:\d+:\d+\)/, ops: ["preview"] },
    { failure: "reject", error: /deliberate failure: an async step rejected/, frame: /at failLater \(.*program-errors\/index\.js:\d+:\d+\)/, ops: ["preview"] },
    {
        failure: "dependsOn",
        error: /'dependsOn' was passed a value that was not a Resource/,
        frame: /at .*gatherExplicitDependencies/,
        ops: ["preview", "up"],
    },
];

for (const driver of ["netbed", "pulumi"] as Driver[]) {
    describe(`a program's error ends the operation under ${driver === "netbed" ? "netbed's CLI (inline)" : "the bare pulumi CLI"}`, function () {
        this.timeout(20 * BOUND_MS);
        const stack = `perr${uniq()}${driver[0]}`;
        let backend = "";
        let env: NodeJS.ProcessEnv = {};

        before(() => {
            backend = fs.mkdtempSync(path.join(os.tmpdir(), `${stack}-state-`));
            env = cliEnv(backend);
            pulumiSync(["stack", "init", stack], FIXTURE, env);
        });
        after(() => {
            fs.rmSync(backend, { recursive: true, force: true });
            fs.rmSync(path.join(FIXTURE, `Pulumi.${stack}.yaml`), { force: true });
        });

        for (const { failure, error, frame, ops } of FAILURES) {
            for (const op of ops) {
                it(`${failure}: ${op} fails within ${BOUND_MS / 1000} s with the error and its stack`, async () => {
                    pulumiSync(["config", "set", "failure", failure, "--stack", stack], FIXTURE, env);
                    const c = command(driver, op, stack, FIXTURE);
                    const r = await run(c.argv, { cwd: c.cwd, env, timeoutMs: BOUND_MS });
                    assert.equal(r.hung, false, `${op} hung (killed after ${BOUND_MS / 1000} s):\n${r.out}`);
                    assert.notEqual(r.code, 0, r.out);
                    const out = r.out.replace(ANSI, "");
                    assert.match(out, error);
                    assert.match(out, frame);
                });
            }
        }
    });
}
