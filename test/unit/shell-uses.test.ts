// No command is built as a shell string from input: every shell use in providers/, core/ and
// scripts/ is listed here with why it is safe. A new one fails this test until it is reviewed and
// added; a review whose line is gone fails it too, so the list stays true.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { type Reviewed, findShellUses, review } from "../helpers/shell-scan";

const ROOT = path.resolve(__dirname, "..", "..");
const POSITIONAL = "constant script; every input is a positional argument ($1...), never script text";

const REVIEWED: Reviewed[] = [
    {
        file: "providers/hostops/probe.ts",
        match: "stdin: PROBE_SCRIPT",
        reason: "the probe script is a constant on stdin (it interpolates only netbed's own tool list); it takes no input",
    },
    {
        file: "providers/hostops/cache.ts",
        match: `'if [ -d "$1/refs" ]; then mv -T -- "$1/refs" "$2/refs"; fi; rm -rf -- "$1"'`,
        reason: `${POSITIONAL}: the broken cache entry and the rebuilt one (moves the other stacks' references over)`,
    },
    { file: "providers/resources/image.ts", match: `ARCHIVE_SCRIPT, "sh", root, out`, reason: `${POSITIONAL}: the image root and output file` },
    { file: "providers/hostops/ipbatch.ts", match: "ETHTOOL_BATCH_SCRIPT", reason: `${POSITIONAL}: the device names ('for d do ethtool -k "$d"')` },
    {
        file: "providers/hostops/irq.ts",
        match: `"sh", "-c", WRITE_FILE, "sh"`,
        reason: `${POSITIONAL}: WRITE_FILE writes $2 to the file $1 (shell for the redirection)`,
    },
    { file: "providers/resources/kernel.ts", match: `'xz -dc -- "$1" > "$2"'`, reason: `${POSITIONAL}: source and destination` },
    { file: "providers/resources/microvm.ts", match: `"sh", "-c", WRITE_FILE, "sh"`, reason: `${POSITIONAL}: the console FIFO and the console line` },
    {
        file: "core/detach.ts",
        match: "FD_WRAPPER",
        reason: `${POSITIONAL}: the fd count and device paths; eval only ever sees 'exec <n><>"$1"' with a number netbed computed (the path stays "$1")`,
    },
    { file: "providers/resources/microvm.ts", match: "READ_FROM", reason: `${POSITIONAL}: the console log and the byte offset to read from` },
    {
        file: "providers/hostops/vm-confinement.ts",
        match: `'stat -c "%u %a" -- "$1" && sha256sum -- "$1"'`,
        reason: `${POSITIONAL}: the seccomp filter file whose owner, mode and hash are checked before boot`,
    },
    { file: "core/detach.ts", match: "DETACH_WRAPPER", reason: `${POSITIONAL}: log, FIFO and pid file, then the VMM argv run with exec "$@"` },
    { file: "providers/resources/security.ts", match: `'for p; do [ -e "$p" ]`, reason: `${POSITIONAL}: the Landlock paths to test` },
    { file: "providers/transport/index.ts", match: `'command -v "$1"'`, reason: `${POSITIONAL}: the tool name` },
    { file: "providers/hostops/cache.ts", match: "LOCK_HOLDER_SCRIPT", reason: `${POSITIONAL}: the lock file, its owner line and the seconds to hold it` },
    {
        file: "providers/hostops/ipsession.ts",
        match: "ETHTOOL_LOOP_SCRIPT",
        reason: 'a constant loop reading device names as data on stdin, one per line, each passed to ethtool as "$d"',
    },
    { file: "providers/transport/ssh.ts", match: "ABORTABLE", reason: `${POSITIONAL}: the command, run as "$@" (stopped through the session's stdin)` },
    { file: "scripts/sim.ts", match: "BOOT_SCRIPT", reason: `${POSITIONAL}: a simulated machine's disk directory and name` },
    {
        file: "providers/transport/ssh.ts",
        match: "client.exec(line",
        reason: "SSH's exec request is one string for the remote shell: renderForSsh single-quotes every argv word (test/unit/core/argv.test.ts)",
    },
    { file: "providers/resources/tuning.ts", match: `"sh", "-c", WRITE_FILE, "sh"`, reason: `${POSITIONAL}: the /proc or /sys file and the value` },
    {
        file: "core/agent.ts",
        match: "AGENT_SCRIPT",
        reason: 'the guest agent (in the guest): interpolates only constants; the argv arrives one word per line and runs as "$@" after an allow-list',
    },
    {
        file: "core/guestinit.ts",
        match: "GUEST_INIT",
        reason: "the guest's init (in the guest): interpolates only constants; NIC settings come from the kernel command line as data",
    },
    { file: "core/report/appendix.ts", match: `lang: "bash"`, reason: "a code block's language in a report: commands shown to the reader, never run" },
];

function walk(dir: string): string[] {
    return fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
            e.isDirectory() ? (e.name === "node_modules" ? [] : walk(path.join(dir, e.name))) : /\.(ts|sh)$/.test(e.name) ? [path.join(dir, e.name)] : [],
        );
}

describe("shell invocations in providers/, core/ and scripts/", () => {
    it("the scanner finds each way of reaching a shell", () => {
        const uses = (text: string, file = "x.ts") => findShellUses(file, text).map((u) => u.kind);
        assert.deepEqual(uses(`await t.run(["bash", "-c", \`ip link del \${name}\`]);`), ["shell as an argv word"]);
        assert.deepEqual(uses(`spawn(cmd, { shell: true })`), ["spawn option shell"]);
        assert.deepEqual(uses(`spawn(argv[0], argv.slice(1), { shell: false })`), []);
        assert.deepEqual(uses(`import { execSync, spawn } from "child_process";`), ["exec of a string (child_process)"]);
        assert.deepEqual(uses(`require("child_process").exec("ls " + dir)`), ["exec of a string (child_process)"]);
        assert.deepEqual(uses(`conn.exec(cmd, cb)`), ["exec of a string (SSH channel)"]);
        assert.deepEqual(uses(`const m = /^(\\d+)$/.exec(line);`), []);
        assert.deepEqual(uses(`const s = "nsenter -t 1 sh -c 'x'";`), ["sh -c in text"]);
        assert.deepEqual(uses(`// sh -c in a comment`), []);
        assert.deepEqual(uses(`eval "$CMD"`, "x.sh"), ["eval"]);
        assert.deepEqual(uses(`# eval in a comment`, "x.sh"), []);
        const r = review(findShellUses("a.ts", `x(["sh", "-c", S, "sh", f]);\ny(["sh", "-c", T]);`), [
            { file: "a.ts", match: "S,", reason: "r" },
            { file: "a.ts", match: "gone", reason: "r" },
        ]);
        assert.deepEqual(
            r.unreviewed.map((u) => u.line),
            [2],
        );
        assert.deepEqual(
            r.stale.map((s) => s.match),
            ["gone"],
        );
    });

    it("every shell use is reviewed, and every review still has its line", () => {
        const files = ["providers", "core", "scripts"].flatMap((d) => walk(path.join(ROOT, d)));
        assert.ok(files.length > 50, `${files.length} files scanned`);
        const uses = files.flatMap((f) => findShellUses(path.relative(ROOT, f), fs.readFileSync(f, "utf8")));
        const { unreviewed, stale } = review(uses, REVIEWED);
        assert.deepEqual(
            unreviewed.map((u) => `${u.file}:${u.line} (${u.kind}): ${u.text}`),
            [],
            "unreviewed shell use: pass inputs as argv (or as positional arguments of a constant script) and add a review to test/unit/shell-uses.test.ts",
        );
        assert.deepEqual(
            stale.map((s) => `${s.file}: ${s.match}`),
            [],
            "reviews whose line is gone: remove them",
        );
        for (const r of REVIEWED) assert.ok(r.reason.length > 20, `${r.file}: a reason`);
    });
});
