// SecurityProfile: created through its handler on this machine, then every rule is proven by a
// real process run under the profile's wrapper.
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { capabilityMask } from "../../../../core/security";
import { ensureLauncher, profileDir, securityHandler } from "../../../../providers/resources/security";
import type { Transport } from "../../../../providers/transport";
import { SecurityProfileArgsSchema } from "../../../../schema/security";
import { listen, portOf } from "../../../helpers";
import { handlerCtx } from "../../../helpers/ctx";

const local = { kind: "local" as const, name: "me" };
interface Run {
    pid: number;
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
}

/** Runs argv to completion; still running after timeoutMs, it is killed by its own pid. */
function run(argv: string[], timeoutMs = 20_000): Promise<Run> {
    return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d));
        child.stderr.on("data", (d: Buffer) => (stderr += d));
        const timer = setTimeout(() => {
            if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
            reject(new Error(`${argv.join(" ")}: timed out after ${timeoutMs} ms`));
        }, timeoutMs);
        child.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ pid: child.pid ?? -1, code, signal, stdout, stderr });
        });
    });
}

const field = (status: string, name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, "m").exec(status)?.[1];

/** bash's /dev/tcp: a connect(2) to 127.0.0.1:PORT, the port passed as an argument. */
const CONNECT = ["/bin/bash", "-c", 'exec 3<>"/dev/tcp/127.0.0.1/$1" && echo connected', "bash"];

describe("SecurityProfile (real processes under the wrapper)", function () {
    this.timeout(5 * 60_000);
    let dir = "";
    let abi = 0;
    let parentFilters = 0;
    let a: { id: string; outs: any };
    const servers: net.Server[] = [];
    let outsider: ChildProcess | undefined;
    const cleanup: (() => Promise<void>)[] = [];

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-sec-"));
        // Profile B runs as nobody, who must be able to reach its paths.
        fs.chmodSync(dir, 0o755);
        for (const d of ["ro", "rw", "outside"]) fs.mkdirSync(path.join(dir, d), { mode: 0o777 });
        fs.chmodSync(path.join(dir, "rw"), 0o777);
        fs.writeFileSync(path.join(dir, "ro", "file.txt"), "ro-data");
        fs.writeFileSync(path.join(dir, "outside", "secret.txt"), "secret");
        parentFilters = Number(field(fs.readFileSync("/proc/self/status", "utf8"), "Seccomp_filters") ?? 0);
        servers.push(await listen(), await listen());
        const ctx = handlerCtx("SecurityProfile", "pa", { project: "sec" });
        // Root keeping net_admin, asked for explicitly (the default is netbed-vmm with none), and
        // inet sockets (the preset allows unix ones only) for the TCP port rules.
        a = await securityHandler.create(
            ctx,
            SecurityProfileArgsSchema.parse({
                host: local,
                user: 0,
                group: 0,
                capabilities: ["net_admin"],
                seccomp: { preset: "qemu", extraAllow: ["socket"] },
                landlock: {
                    ro: ["/usr", "/proc", "/etc/ld.so.cache", path.join(dir, "ro")],
                    exec: ["/usr"],
                    rw: [path.join(dir, "rw")],
                    connectPorts: [portOf(servers[0])],
                    scopes: ["abstract-unix", "signal"],
                    mode: "best-effort",
                },
                rlimits: { nofile: 1234 },
            }),
        );
        cleanup.unshift(() => securityHandler.delete(ctx, a.id, a.outs));
        abi = a.outs.landlockAbi;
        outsider = spawn("/bin/sleep", ["300"], { stdio: "ignore" });
    });

    after(async () => {
        if (outsider?.pid !== undefined && outsider.exitCode === null) process.kill(outsider.pid, "SIGKILL");
        for (const s of servers) s.close();
        for (const c of cleanup) await c().catch((e) => console.error(e));
        if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    const under = (outs: any, argv: string[]) => run([...outs.wrapper, ...argv]);

    it("reports the filter, the host's ABI, the rules and the wrapper; the filter is on the host, root's, mode 0644", () => {
        const o = a.outs;
        assert.equal(o.name, "pa");
        assert.match(o.filterSha256, /^[0-9a-f]{64}$/);
        assert.equal(o.filterBytes, o.filterInstructions * 8);
        assert.ok(o.syscallCount > 150, String(o.syscallCount));
        assert.ok(abi >= 1, "this machine has Landlock");
        assert.equal(o.filterPath, `${profileDir(local, "pa", handlerCtx("SecurityProfile", "pa", { project: "sec" }).urn)}/filter.bpf`);
        assert.equal(fs.statSync(o.filterPath).mode & 0o777, 0o644);
        assert.equal(fs.statSync(o.filterPath).uid, 0);
        assert.equal(fs.statSync(o.filterPath).size, o.filterBytes);
        assert.match(o.launcherPath, /^\/var\/cache\/netbed\/native\/[0-9a-f]{64}\/netbed-confine$/);
        assert.deepEqual(o.rules.capabilities, ["net_admin"]);
        assert.deepEqual(o.rules.rlimits, { nofile: 1234 });
        assert.equal(o.rules.landlock.abi, abi);
        assert.deepEqual(o.rules.landlock.connectPorts, abi >= 4 ? [portOf(servers[0])] : []);
        const w: string[] = o.wrapper;
        assert.deepEqual(w.slice(0, 6), [o.launcherPath, "--no-landlock", "--", "/usr/bin/prlimit", "--nofile=1234:1234", "--"]);
        assert.equal(w[6], "/usr/bin/setpriv");
        assert.deepEqual(w.slice(-3), ["--seccomp", o.filterPath, "--"]);
        assert.ok(w.includes(o.launcherPath));
    });

    it("runs the program in place with Seccomp 2 (one more filter), NoNewPrivs, exactly the kept capabilities and the rlimits", async () => {
        const r = await under(a.outs, ["/bin/cat", "/proc/self/status", "/proc/self/limits"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(field(r.stdout, "Pid"), String(r.pid), "exec in place: the pid spawned is the program's");
        assert.equal(field(r.stdout, "Seccomp"), "2");
        assert.equal(field(r.stdout, "Seccomp_filters"), String(parentFilters + 1));
        assert.equal(field(r.stdout, "NoNewPrivs"), "1");
        assert.equal(capabilityMask(["net_admin"]), "0000000000001000");
        for (const set of ["CapEff", "CapPrm", "CapBnd"]) assert.equal(field(r.stdout, set), "0000000000001000", set);
        assert.match(r.stdout, /^Max open files\s+1234\s+1234\s+files/m);
    });

    it("kills a process making a syscall outside the allow-list (symlinkat is not in the QEMU preset)", async () => {
        const r = await under(a.outs, ["/bin/ln", "-s", "target", path.join(dir, "rw", "link")]);
        assert.equal(r.signal, "SIGSYS", `${r.code} ${r.stderr}`);
        assert.equal(fs.existsSync(path.join(dir, "rw", "link")), false);
    });

    it("opens files only beneath the Landlock paths", async () => {
        const outside = await under(a.outs, ["/bin/cat", path.join(dir, "outside", "secret.txt")]);
        assert.notEqual(outside.code, 0);
        assert.match(outside.stderr, /secret\.txt: Permission denied/);
        const inside = await under(a.outs, ["/bin/cat", path.join(dir, "ro", "file.txt")]);
        assert.equal(inside.code, 0, inside.stderr);
        assert.equal(inside.stdout, "ro-data");
        const etc = await under(a.outs, ["/bin/cat", "/etc/hostname"]);
        assert.match(etc.stderr, /Permission denied/);
    });

    it("connects only to the allowed TCP port (Landlock ABI >= 4)", async function () {
        if (abi < 4) this.skip();
        const ok = await under(a.outs, [...CONNECT, String(portOf(servers[0]))]);
        assert.equal(ok.stdout.trim(), "connected", ok.stderr);
        const denied = await under(a.outs, [...CONNECT, String(portOf(servers[1]))]);
        assert.notEqual(denied.code, 0);
        assert.match(denied.stderr, /Permission denied/);
    });

    it("signals nothing outside its domain (Landlock ABI >= 6), itself still", async function () {
        if (abi < 6) this.skip();
        const out = await under(a.outs, ["/bin/bash", "-c", 'kill -0 "$1"', "bash", String(outsider!.pid)]);
        assert.notEqual(out.code, 0);
        assert.match(out.stderr, /Operation not permitted/);
        const self = await under(a.outs, ["/bin/bash", "-c", "kill -0 $$ && echo alive"]);
        assert.equal(self.stdout.trim(), "alive", self.stderr);
    });

    it("errno instead of kill, extra syscalls, another uid/gid and no capabilities", async () => {
        const ctx = handlerCtx("SecurityProfile", "pb", { project: "sec" });
        const b = await securityHandler.create(
            ctx,
            SecurityProfileArgsSchema.parse({
                host: local,
                seccomp: { preset: "qemu", defaultAction: "errno", extraAllow: ["symlinkat"] },
                landlock: { ro: ["/usr", "/proc"], exec: ["/usr"], rw: [path.join(dir, "rw")] },
                capabilities: [],
                user: 65534,
                group: 65534,
            }),
        );
        cleanup.unshift(() => securityHandler.delete(ctx, b.id, b.outs));
        const status = await under(b.outs, ["/bin/cat", "/proc/self/status"]);
        assert.equal(status.code, 0, status.stderr);
        assert.match(field(status.stdout, "Uid")!, /^65534\s+65534\s+65534\s+65534$/);
        assert.match(field(status.stdout, "Gid")!, /^65534\s+65534\s+65534\s+65534$/);
        assert.equal(field(status.stdout, "Groups"), "");
        assert.equal(field(status.stdout, "CapEff"), "0000000000000000");
        assert.equal(field(status.stdout, "CapBnd"), "0000000000000000");
        const link = await under(b.outs, ["/bin/ln", "-s", "target", path.join(dir, "rw", "link")]);
        assert.equal(link.code, 0, link.stderr);
        assert.equal(fs.readlinkSync(path.join(dir, "rw", "link")), "target");
        // mknodat is in no preset: EPERM from the filter, where Landlock would say EACCES.
        const fifo = await under(b.outs, ["/usr/bin/mkfifo", path.join(dir, "rw", "fifo")]);
        assert.equal(fifo.signal, null);
        assert.match(fifo.stderr, /Operation not permitted/);
    });

    it("read() sees the files; delete removes the profile's directory and keeps the shared launcher", async () => {
        const ctx = handlerCtx("SecurityProfile", "pc", { project: "sec" });
        const c = await securityHandler.create(
            ctx,
            SecurityProfileArgsSchema.parse({ host: local, seccomp: { preset: "strict" }, landlock: { enabled: false } }),
        );
        assert.deepEqual(await securityHandler.read(ctx, c.id, c.outs), c.outs);
        assert.equal((c.outs.wrapper as string[]).filter((x) => x === "--no-landlock").length, 2, "the root stage's and the second stage's");
        assert.ok((c.outs.syscallCount as number) < a.outs.syscallCount);
        assert.equal(c.outs.launcherPath, a.outs.launcherPath, "one launcher per source, shared");
        fs.writeFileSync(c.outs.filterPath as string, Buffer.alloc(8));
        assert.equal(await securityHandler.read(ctx, c.id, c.outs), undefined, "a filter changed behind netbed's back");
        await securityHandler.delete(ctx, c.id, c.outs);
        assert.equal(fs.existsSync(profileDir(local, "pc", handlerCtx("SecurityProfile", "pc", { project: "sec" }).urn)), false);
        assert.ok(fs.existsSync(c.outs.launcherPath as string));
        assert.equal(await securityHandler.read(ctx, c.id, c.outs), undefined);
        await securityHandler.delete(ctx, c.id, c.outs);
    });

    it("a host without a C compiler gets an error that names build-essential", async () => {
        const none: Transport = {
            label: "fake",
            run: async () => ({ code: 1, stdout: "", stderr: "" }),
            putFile: async () => undefined,
            getFile: async () => Buffer.alloc(0),
            connectUnix: async () => {
                throw new Error("not used");
            },
            close: async () => undefined,
        };
        await assert.rejects(
            ensureLauncher(handlerCtx("SecurityProfile", "pd", { project: "sec" }), none, "bare", "/var/cache/netbed"),
            /on host 'bare': no C compiler \(cc\).*build-essential/,
        );
    });
});
