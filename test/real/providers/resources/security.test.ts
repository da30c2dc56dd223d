// SecurityProfile: created through its handler on this machine, then every rule is proven by a
// real process run under the profile's wrapper; bad input is refused by check() as in preview.
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { capabilityMask, scopesFor, withRootLauncherArgs, wrapperArgv } from "../../../../core/security";
import { UNKNOWN } from "../../../../core/secrets";
import { MemoryLogger } from "../../../../providers/runtime/log";
import { handlers } from "../../../../providers/resources/index";
import { NetbedProvider } from "../../../../providers/runtime/provider";
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

describe("SecurityProfile wrapper (pure)", () => {
    const spec = {
        prlimit: "/usr/bin/prlimit",
        setpriv: "/usr/bin/setpriv",
        launcher: "/c/netbed-confine",
        rlimits: {},
        capabilities: [],
        user: 999,
        group: 995,
        landlock: {
            enabled: true,
            mode: "strict" as const,
            ro: [],
            rw: [],
            exec: [],
            bindPorts: [],
            connectPorts: [],
            denyTcp: false,
            scopes: scopesFor(undefined, 6),
        },
    };

    it("starts with the launcher's root stage, then drops to the uid with its supplementary groups (or none) and no capabilities", () => {
        const w = wrapperArgv({ ...spec, groups: [995, 994] });
        assert.deepEqual(w.slice(0, 3), ["/c/netbed-confine", "--no-landlock", "--"]);
        assert.deepEqual(w.slice(3, 10), [
            "/usr/bin/setpriv",
            "--no-new-privs",
            "--regid=995",
            "--groups=995,994",
            "--reuid=999",
            "--inh-caps=-all",
            "--ambient-caps=-all",
        ]);
        assert.ok(wrapperArgv(spec).includes("--clear-groups"));
        assert.deepEqual(w.slice(-5), ["--scope", "abstract-unix", "--scope", "signal", "--"]);
        const vm = withRootLauncherArgs(w, ["--tap", "tap0=3"]);
        assert.deepEqual(vm.slice(0, 5), ["/c/netbed-confine", "--no-landlock", "--tap", "tap0=3", "--"]);
        assert.throws(
            () => withRootLauncherArgs(w.slice(3), ["--tap", "tap0=3"]),
            /no root stage \(a profile made by an older netbed\): replace the SecurityProfile/,
        );
    });

    it("takes both scopes by default from ABI 6, none below; a list given is kept", () => {
        assert.deepEqual(scopesFor(undefined, 7), ["abstract-unix", "signal"]);
        assert.deepEqual(scopesFor(undefined, 5), []);
        assert.deepEqual(scopesFor(["signal"], 7), ["signal"]);
    });
});

describe("SecurityProfile check (what preview runs: no host touched but this machine's paths)", () => {
    const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
    const URN = "urn:pulumi:test::sec::netbed:index:SecurityProfile::prof";
    const caps = (landlockAbi: number) => ({ arch: "x86_64", landlockAbi, seccompFilter: true });
    const failures = async (args: Record<string, unknown>) => {
        const r = await p.check(URN, {}, { host: local, hostCaps: caps(7), ...args });
        return (r.failures ?? []).map((f) => `${f.property}: ${f.reason}`);
    };

    it("accepts the defaults: the QEMU preset, Landlock on, no capabilities, the default user, scopes by the host's ABI", async () => {
        const r = await p.check(URN, {}, { host: local, hostCaps: caps(7) });
        assert.equal(r.failures, undefined);
        assert.equal(r.inputs.seccomp.preset, "qemu");
        assert.equal(r.inputs.landlock.mode, "strict");
        assert.deepEqual(r.inputs.capabilities, []);
        assert.equal(r.inputs.user, undefined);
        assert.equal(r.inputs.landlock.scopes, undefined);
        assert.equal((await p.check(URN, {}, { host: local, hostCaps: caps(5) })).failures, undefined, "no scopes below ABI 6: not refused");
    });

    it("names an unknown syscall and suggests a close one", async () => {
        assert.match(
            (await failures({ seccomp: { extraAllow: ["read", "opne"] } })).join("\n"),
            /^seccomp\.extraAllow\[1\]: unknown syscall 'opne' on x86_64: did you mean 'open'/m,
        );
        assert.match(
            (await failures({ seccomp: { preset: "custom", allow: ["execve", "clock_getime"] } })).join("\n"),
            /seccomp\.allow\[1\]: unknown syscall 'clock_getime'.*'clock_gettime'/,
        );
        assert.match((await failures({ seccomp: { preset: "custom", allow: ["read"] } })).join("\n"), /seccomp\.allow: must include execve/);
        assert.match(
            (await failures({ seccomp: { allow: ["execve"] } })).join("\n"),
            /seccomp\.allow: is the whole list of preset 'custom'; to add syscalls to preset 'qemu', use extraAllow/,
        );
        assert.match(
            (await failures({ seccomp: { extraAllow: ["clone3"] } })).join("\n"),
            /seccomp: syscall 'clone3' is both allowed and unconditionally denied/,
        );
        assert.match((await failures({ seccomp: { preset: "none", extraAllow: ["read"] } })).join("\n"), /seccomp\.extraAllow: only applies with a filter/);
        assert.match((await failures({ seccomp: { errno: 13 } })).join("\n"), /seccomp\.errno: only applies with defaultAction 'errno'/);
    });

    it("refuses paths that do not exist on this machine, relative paths and '..'", async () => {
        assert.deepEqual(await failures({ landlock: { ro: ["/usr", "/nonexistent/netbed-x"] } }), [
            "landlock.ro[1]: '/nonexistent/netbed-x' does not exist on host 'me' (this machine)",
        ]);
        assert.match((await failures({ landlock: { rw: ["run/x"] } })).join("\n"), /landlock\.rw\[0\]: 'run\/x' must be an absolute path/);
        assert.match((await failures({ landlock: { exec: ["/usr/../etc"] } })).join("\n"), /landlock\.exec\[0\]: '\/usr\/\.\.\/etc' must not contain '\.\.'/);
        // On an SSH host the paths are checked at create, on that machine.
        const ssh = {
            kind: "ssh",
            name: "far",
            ssh: {
                host: "10.0.0.5",
                port: 22,
                user: "root",
                privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
                hostKeyFingerprint: `SHA256:${"B".repeat(43)}`,
                connectTimeoutMs: 1000,
                dialRetries: 0,
            },
        };
        const r = await p.check(URN, {}, { host: ssh, landlock: { ro: ["/nonexistent/netbed-x"] } });
        assert.equal(r.failures, undefined);
    });

    it("refuses ports out of range", async () => {
        assert.match((await failures({ landlock: { connectPorts: [70000] } })).join("\n"), /landlock\.connectPorts\[0\]: must be a TCP port in 1\.\.65535/);
        assert.match((await failures({ landlock: { bindPorts: [0] } })).join("\n"), /landlock\.bindPorts\[0\]: must be a TCP port in 1\.\.65535/);
    });

    it("strict mode refuses a feature the host's Landlock ABI lacks, naming feature and ABI; best effort accepts", async () => {
        const at = async (abi: number, landlock: Record<string, unknown>) =>
            ((await p.check(URN, {}, { host: local, hostCaps: caps(abi), landlock })).failures ?? []).map((f) => `${f.property}: ${f.reason}`).join("\n");
        assert.match(
            await at(3, { connectPorts: [80] }),
            /landlock\.connectPorts: TCP port rules need Landlock ABI 4; host 'me' has ABI 3: set landlock\.mode 'best-effort'/,
        );
        assert.match(await at(5, { scopes: ["signal"] }), /landlock\.scopes: scopes need Landlock ABI 6; host 'me' has ABI 5/);
        assert.match(await at(0, {}), /landlock\.enabled: host 'me' has no Landlock \(ABI 0\).*or landlock\.enabled false/);
        assert.equal(await at(3, { connectPorts: [80], scopes: ["signal"], mode: "best-effort" }), "");
        assert.equal(await at(0, { enabled: false }), "");
        assert.match(await at(7, { enabled: false, ro: ["/usr"] }), /landlock\.ro: only applies when landlock\.enabled is true/);
    });

    it("refuses unknown capabilities with a suggestion, and user without group", async () => {
        assert.match(
            (await failures({ capabilities: ["net_admn"] })).join("\n"),
            /capabilities\[0\]: 'net_admn' is not a Linux capability: did you mean 'net_admin'/,
        );
        assert.match((await failures({ capabilities: ["CAP_NET_RAW"] })).join("\n"), /capabilities\[0\]: 'CAP_NET_RAW' is written 'net_raw' here/);
        assert.match((await failures({ user: 1000 })).join("\n"), /group: give group with user/);
    });

    it("a host that cannot run the filter: another architecture, no seccomp", async () => {
        const r = await p.check(URN, {}, { host: local, hostCaps: { arch: "riscv64", landlockAbi: 7, seccompFilter: true } });
        assert.match(
            r.failures!.map((f) => `${f.property}: ${f.reason}`).join("\n"),
            /seccomp\.preset: netbed compiles seccomp filters for x86_64 and aarch64; host 'me' is riscv64: use preset 'none'/,
        );
        const n = await p.check(URN, {}, { host: local, hostCaps: { arch: "x86_64", landlockAbi: 7, seccompFilter: false } });
        assert.match(n.failures!.map((f) => f.reason).join("\n"), /no seccomp filters/);
    });

    it("passes a host probe not known yet (preview of a new Host); every change replaces, deleting first", async () => {
        const r = await p.check(URN, {}, { host: local, hostCaps: UNKNOWN, landlock: { scopes: ["signal"] } });
        assert.equal(r.failures, undefined);
        const olds = (await p.check(URN, {}, { host: local, hostCaps: caps(7) })).inputs;
        const news = (await p.check(URN, {}, { host: local, hostCaps: caps(7), seccomp: { preset: "strict" } })).inputs;
        assert.deepEqual(await p.diff("x", URN, olds, news), { changes: true, replaces: ["seccomp"], deleteBeforeReplace: true });
        assert.equal((await p.diff("x", URN, olds, olds)).changes, false);
    });
});
