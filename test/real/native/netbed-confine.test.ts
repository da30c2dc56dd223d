// native/netbed-confine: every rule is proven by a real process run under the launcher.
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { listen, portOf } from "../../helpers";

const root = path.resolve(__dirname, "../../..");
const NODE = process.execPath;

interface Run {
    pid: number;
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
    /** What the launcher wrote to --status-fd 3 (only when asked for). */
    status: string;
}

/** Runs argv to completion; a process still running after timeoutMs is killed by its own pid. */
function run(argv: string[], opts: { statusFd?: boolean; timeoutMs?: number } = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), {
            stdio: opts.statusFd ? ["ignore", "pipe", "pipe", "pipe"] : ["ignore", "pipe", "pipe"],
        });
        const out = { stdout: "", stderr: "", status: "" };
        child.stdout!.on("data", (d: Buffer) => (out.stdout += d.toString()));
        child.stderr!.on("data", (d: Buffer) => (out.stderr += d.toString()));
        if (opts.statusFd) (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => (out.status += d.toString()));
        const timer = setTimeout(() => {
            if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
            reject(new Error(`${argv.join(" ")}: timed out after ${opts.timeoutMs ?? 20000} ms`));
        }, opts.timeoutMs ?? 20000);
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ pid: child.pid ?? -1, code, signal, ...out });
        });
    });
}

/** A classic-BPF program as the raw little-endian bytes the launcher reads (8 bytes per insn). */
function bpf(insns: [code: number, jt: number, jf: number, k: number][]): Buffer {
    const b = Buffer.alloc(8 * insns.length);
    insns.forEach(([code, jt, jf, k], i) => {
        b.writeUInt16LE(code, 8 * i);
        b.writeUInt8(jt, 8 * i + 2);
        b.writeUInt8(jf, 8 * i + 3);
        b.writeUInt32LE(k >>> 0, 8 * i + 4);
    });
    return b;
}
const RET_ALLOW = 0x7fff0000;

function statusField(status: string, name: string): string | undefined {
    return status.match(new RegExp(`^${name}:\\s*(.*)$`, "m"))?.[1];
}

const close = (s: net.Server) => new Promise<void>((r) => s.close(() => r()));

/** A node script run under the launcher: connects to each port in argv[1] and prints ok or the error code. */
const CONNECT = `
const net = require("net");
Promise.all(JSON.parse(process.argv[1]).map((p) => new Promise((res) => {
    const s = net.connect(p, "127.0.0.1");
    s.on("connect", () => { s.destroy(); res("ok"); });
    s.on("error", (e) => res(e.code));
}))).then((r) => console.log(JSON.stringify(r)));`;

describe("netbed-confine (native launcher)", () => {
    let dir = "";
    let confine = "";
    let abi = 0;

    before(function () {
        if (process.platform !== "linux") this.skip();
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-confine-"));
        const b = spawnSync("bash", [path.join(root, "scripts/build-native.sh"), path.join(dir, "bin")], {
            encoding: "utf8",
            timeout: 120000,
            killSignal: "SIGKILL",
        });
        assert.equal(b.status, 0, `build-native.sh failed: ${b.stderr}`);
        confine = path.join(dir, "bin", "netbed-confine");
        const r = spawnSync(confine, ["--status-fd", "1", "--ro", "/", "--exec", "/", "--", "/bin/true"], { encoding: "utf8", timeout: 20000 });
        abi = Number(r.stdout.match(/landlock-abi=(\d+)/)?.[1] ?? 0);
        if (abi < 1) throw new Error(`Landlock is not available here: ${r.stdout}${r.stderr}`);
        for (const d of ["ro", "rw", "outside"]) fs.mkdirSync(path.join(dir, d));
        fs.writeFileSync(path.join(dir, "ro", "file.txt"), "ro-data");
        fs.writeFileSync(path.join(dir, "outside", "secret.txt"), "secret");
        fs.copyFileSync("/bin/true", path.join(dir, "ro", "true"));
        fs.chmodSync(path.join(dir, "ro", "true"), 0o755);
    });

    after(() => {
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("execs in place: same pid, no_new_privs set, one status line", async () => {
        const r = await run([confine, "--ro", "/", "--exec", "/", "--status-fd", "3", "--", "/usr/bin/readlink", "/proc/self"], {
            statusFd: true,
        });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), String(r.pid));
        assert.equal(r.status, `landlock-abi=${abi} fs-rules=2 net-rules=0 scopes=none seccomp-insns=0\n`);
        const s = await run([confine, "--ro", "/", "--exec", "/", "--", "/bin/cat", "/proc/self/status"]);
        assert.equal(statusField(s.stdout, "NoNewPrivs"), "1");
        assert.equal(statusField(s.stdout, "Pid"), String(s.pid));
    });

    it("reads only under --ro/--exec paths and writes only under --rw paths", async () => {
        const base = [confine, "--exec", "/usr", "--ro", path.join(dir, "ro"), "--rw", path.join(dir, "rw"), "--"];
        const outside = await run([...base, "/bin/cat", path.join(dir, "outside", "secret.txt")]);
        assert.notEqual(outside.code, 0);
        assert.match(outside.stderr, /secret\.txt: Permission denied/); // EACCES, the file exists
        const inside = await run([...base, "/bin/cat", path.join(dir, "ro", "file.txt")]);
        assert.equal(inside.code, 0, inside.stderr);
        assert.equal(inside.stdout, "ro-data");

        const roNew = await run([...base, "/usr/bin/touch", path.join(dir, "ro", "new")]);
        assert.match(roNew.stderr, /Permission denied/);
        assert.equal(fs.existsSync(path.join(dir, "ro", "new")), false);
        const trunc = await run([...base, "/usr/bin/truncate", "-s", "0", path.join(dir, "ro", "file.txt")]);
        assert.match(trunc.stderr, /Permission denied/);
        assert.equal(fs.readFileSync(path.join(dir, "ro", "file.txt"), "utf8"), "ro-data");

        const rwNew = await run([...base, "/usr/bin/touch", path.join(dir, "rw", "new")]);
        assert.equal(rwNew.code, 0, rwNew.stderr);
        assert.equal(fs.existsSync(path.join(dir, "rw", "new")), true);
        const rwDir = await run([...base, "/bin/mkdir", path.join(dir, "rw", "sub")]);
        assert.equal(rwDir.code, 0, rwDir.stderr);
    });

    it("accepts a rule on a single file (directory-only rights masked) and grants just that file", async () => {
        const secret = path.join(dir, "outside", "secret.txt");
        const base = [confine, "--exec", "/usr", "--ro", secret, "--rw", secret, "--"];
        const r = await run([...base, "/bin/cat", secret]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "secret");
        const sibling = await run([...base, "/usr/bin/touch", path.join(dir, "outside", "other")]);
        assert.match(sibling.stderr, /Permission denied/);
    });

    it("executes only binaries under --exec paths", async () => {
        const tru = path.join(dir, "ro", "true");
        // The launcher's own execve of a binary that is only readable: fails closed with 126.
        const direct = await run([confine, "--exec", "/usr", "--ro", path.join(dir, "ro"), "--", tru]);
        assert.equal(direct.code, 126);
        assert.match(direct.stderr, /^netbed-confine: execv .*\/ro\/true: Permission denied/);
        // A confined program exec'ing it: env reports EACCES (exit 126 is env's "cannot execute").
        const nested = await run([confine, "--exec", "/usr", "--ro", path.join(dir, "ro"), "--", "/usr/bin/env", tru]);
        assert.equal(nested.code, 126);
        assert.match(nested.stderr, /Permission denied/);
        const allowed = await run([confine, "--exec", "/usr", "--exec", path.join(dir, "ro"), "--", tru]);
        assert.equal(allowed.code, 0, allowed.stderr);
    });

    it("allows TCP connect only to --connect-port ports; --deny-tcp denies all", async function () {
        if (abi < 4) this.skip();
        const [a, b] = [await listen(), await listen()];
        try {
            const ports = JSON.stringify([portOf(a), portOf(b)]);
            const fsArgs = ["--ro", "/", "--exec", "/"];
            const r = await run([confine, ...fsArgs, "--connect-port", String(portOf(a)), "--status-fd", "3", "--", NODE, "-e", CONNECT, ports], {
                statusFd: true,
            });
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(JSON.parse(r.stdout), ["ok", "EACCES"]);
            assert.match(r.status, / net-rules=1 /);
            const deny = await run([confine, ...fsArgs, "--deny-tcp", "--", NODE, "-e", CONNECT, ports]);
            assert.deepEqual(JSON.parse(deny.stdout), ["EACCES", "EACCES"]);
            const free = await run([confine, ...fsArgs, "--", NODE, "-e", CONNECT, ports]);
            assert.deepEqual(JSON.parse(free.stdout), ["ok", "ok"]);
        } finally {
            await Promise.all([close(a), close(b)]);
        }
    });

    it("allows TCP bind only to --bind-port ports", async function () {
        if (abi < 4) this.skip();
        const busy = await listen();
        const probe = await listen(); // a port that is free once probe is closed
        const freePort = portOf(probe);
        await close(probe);
        try {
            // Binding the busy port would be EADDRINUSE; Landlock denies it before the stack looks.
            const script = `
const net = require("net");
Promise.all(JSON.parse(process.argv[1]).map((p) => new Promise((res) => {
    const s = net.createServer().listen(p, "127.0.0.1", () => s.close(() => res("ok")));
    s.on("error", (e) => res(e.code));
}))).then((r) => console.log(JSON.stringify(r)));`;
            const r = await run([
                confine,
                "--ro",
                "/",
                "--exec",
                "/",
                "--bind-port",
                String(freePort),
                "--",
                NODE,
                "-e",
                script,
                JSON.stringify([freePort, portOf(busy)]),
            ]);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(JSON.parse(r.stdout), ["ok", "EACCES"]);
        } finally {
            await close(busy);
        }
    });

    it("--scope signal: cannot signal a process outside its Landlock domain", async function () {
        if (abi < 6) this.skip();
        const sleeper: ChildProcess = spawn("/bin/sleep", ["60"], { stdio: "ignore" });
        const pid = sleeper.pid!;
        const exited = new Promise<NodeJS.Signals | null>((r) => sleeper.on("exit", (_c, s) => r(s)));
        try {
            const script = `
const out = [];
try { process.kill(${pid}, "SIGTERM"); out.push("killed"); } catch (e) { out.push(e.code); }
try { process.kill(process.pid, 0); out.push("self ok"); } catch (e) { out.push(e.code); }
console.log(JSON.stringify(out));`;
            const fsArgs = ["--ro", "/", "--exec", "/"];
            const r = await run([confine, ...fsArgs, "--scope", "signal", "--", NODE, "-e", script]);
            assert.equal(r.code, 0, r.stderr);
            assert.deepEqual(JSON.parse(r.stdout), ["EPERM", "self ok"]);
            assert.equal(sleeper.exitCode, null);
            process.kill(pid, 0); // still alive
            // Control: the same confinement without the scope can signal it.
            const free = await run([confine, ...fsArgs, "--", NODE, "-e", script]);
            assert.deepEqual(JSON.parse(free.stdout), ["killed", "self ok"]);
            assert.equal(await exited, "SIGTERM");
        } finally {
            if (sleeper.exitCode === null && sleeper.signalCode === null) process.kill(pid, "SIGKILL");
        }
    });

    it("--seccomp installs the BPF program last: Seccomp 2, one more filter, syscalls denied", async function () {
        const own = fs.readFileSync("/proc/self/status", "utf8");
        const baseline = Number(statusField(own, "Seccomp_filters") ?? 0);
        const allow = path.join(dir, "allow.bpf");
        fs.writeFileSync(allow, bpf([[0x06, 0, 0, RET_ALLOW]])); // RET ALLOW
        const r = await run([confine, "--no-landlock", "--seccomp", allow, "--status-fd", "3", "--", "/bin/cat", "/proc/self/status"], {
            statusFd: true,
        });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(statusField(r.stdout, "Seccomp"), "2");
        assert.equal(statusField(r.stdout, "Seccomp_filters"), String(baseline + 1));
        assert.equal(statusField(r.stdout, "NoNewPrivs"), "1");
        assert.equal(r.status, "landlock-abi=0 fs-rules=0 net-rules=0 scopes=none seccomp-insns=1\n");

        if (process.arch !== "x64") this.skip(); // the program below uses x86_64 syscall numbers
        const noMkdir = path.join(dir, "nomkdir.bpf");
        fs.writeFileSync(
            noMkdir,
            bpf([
                [0x20, 0, 0, 4], // LD W ABS seccomp_data.arch
                [0x15, 1, 0, 0xc000003e], // JEQ AUDIT_ARCH_X86_64
                [0x06, 0, 0, 0x80000000], // RET KILL_PROCESS
                [0x20, 0, 0, 0], // LD W ABS seccomp_data.nr
                [0x15, 0, 1, 83], // JEQ __NR_mkdir
                [0x06, 0, 0, 0x00050001], // RET ERRNO(EPERM)
                [0x06, 0, 0, RET_ALLOW],
            ]),
        );
        const target = path.join(dir, "made-by-mkdir");
        const m = await run([confine, "--ro", "/", "--exec", "/", "--rw", dir, "--seccomp", noMkdir, "--", "/bin/mkdir", target]);
        assert.notEqual(m.code, 0);
        assert.match(m.stderr, /Operation not permitted/);
        assert.equal(fs.existsSync(target), false);

        fs.writeFileSync(path.join(dir, "bad.bpf"), Buffer.alloc(13));
        const bad = await run([confine, "--no-landlock", "--seccomp", path.join(dir, "bad.bpf"), "--", "/bin/true"]);
        assert.equal(bad.code, 126);
        assert.match(bad.stderr, /^netbed-confine: --seccomp .*bad\.bpf: not a program/);
    });

    it("fails closed with 126 and never runs the program", async () => {
        const marker = path.join(dir, "rw", "marker");
        const touch = ["/usr/bin/touch", marker];
        const tooNew = await run([confine, "--ro", "/", "--exec", "/", "--rw", dir, "--require-abi", "99", "--", ...touch]);
        assert.equal(tooNew.code, 126);
        assert.equal(tooNew.stderr, `netbed-confine: Landlock ABI ${abi} is lower than --require-abi 99\n`);
        const missing = await run([confine, "--ro", "/", "--exec", "/", "--rw", dir, "--ro", "/nonexistent/netbed", "--", ...touch]);
        assert.equal(missing.code, 126);
        assert.equal(missing.stderr, "netbed-confine: --ro /nonexistent/netbed: No such file or directory\n");
        const relative = await run([confine, "--no-landlock", "--", "touch", marker]);
        assert.equal(relative.code, 126);
        assert.match(relative.stderr, /must be an absolute path/);
        const unknown = await run([confine, "--scope", "everything", "--", ...touch]);
        assert.equal(unknown.code, 126);
        assert.equal(fs.existsSync(marker), false);
        // The same command without the failing option does run: the marker proves it would have.
        const ok = await run([confine, "--ro", "/", "--exec", "/", "--rw", dir, "--", ...touch]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal(fs.existsSync(marker), true);
    });

    it("runs after prlimit and setpriv in one exec chain: same pid, no capabilities, limits kept", async function () {
        if (!fs.existsSync("/usr/bin/setpriv") || !fs.existsSync("/usr/bin/prlimit") || process.getuid?.() !== 0) this.skip();
        const r = await run([
            "/usr/bin/prlimit",
            "--nofile=64",
            "--",
            "/usr/bin/setpriv",
            "--no-new-privs",
            "--inh-caps=-all",
            "--ambient-caps=-all",
            "--bounding-set=-all",
            "--",
            confine,
            "--ro",
            "/",
            "--exec",
            "/",
            "--",
            "/bin/cat",
            "/proc/self/status",
            "/proc/self/limits",
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(statusField(r.stdout, "Pid"), String(r.pid));
        for (const cap of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) assert.equal(statusField(r.stdout, cap), "0000000000000000", cap);
        assert.equal(statusField(r.stdout, "NoNewPrivs"), "1");
        assert.match(r.stdout, /^Max open files\s+64\s+64\s+files/m);
    });

    it("--tap and --listen: root opens the tap's queues and binds the socket, and the program inherits them at the fds named", async () => {
        const ns = `nbt-s11v-cf-${process.pid}`;
        spawnSync("ip", ["netns", "add", ns]);
        try {
            for (const [t, mq] of [
                ["mq0", ["multi_queue"]],
                ["sq0", []],
            ] as const)
                assert.equal(spawnSync("ip", ["-n", ns, "tuntap", "add", "dev", t, "mode", "tap", "vnet_hdr", ...mq]).status, 0);
            const sock = path.join(dir, "rw", "qmp.sock");
            const show = 'for f in 5 6 7 8; do printf "%s " "$(readlink /proc/self/fd/$f)"; grep -h iff /proc/self/fdinfo/$f; done; echo';
            const r = await run([
                "ip",
                "netns",
                "exec",
                ns,
                confine,
                "--no-landlock",
                "--tap",
                "mq0=5,queues=2",
                "--tap",
                "sq0=7",
                "--listen",
                `${sock}=8`,
                "--",
                "/bin/sh",
                "-c",
                show,
            ]);
            assert.equal(r.code, 0, r.stderr);
            const lines = r.stdout.trim().split("\n");
            assert.deepEqual(lines.slice(0, 3), ["/dev/net/tun iff:\tmq0", "/dev/net/tun iff:\tmq0", "/dev/net/tun iff:\tsq0"]);
            assert.match(lines[3], /^socket:\[\d+\]$/);
            assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
            fs.rmSync(sock);
            // A single-queue tap asked for two queues, and two options on one fd, fail before the program.
            const mq = await run(["ip", "netns", "exec", ns, confine, "--no-landlock", "--tap", "sq0=5,queues=2", "--", "/bin/true"]);
            assert.deepEqual([mq.code, mq.stderr.trim()], [126, "netbed-confine: --tap sq0=5,queues=2: TUNSETIFF: Invalid argument"]);
            const twice = await run(["ip", "netns", "exec", ns, confine, "--no-landlock", "--tap", "sq0=5", "--listen", `${sock}=5`, "--", "/bin/true"]);
            assert.deepEqual([twice.code, twice.stderr.trim()], [126, `netbed-confine: --listen ${sock}=5: its fds overlap those of --tap sq0=5`]);
            assert.ok(!fs.existsSync(sock), "refused before anything was opened");
        } finally {
            spawnSync("ip", ["netns", "del", ns]);
        }
    });
});
