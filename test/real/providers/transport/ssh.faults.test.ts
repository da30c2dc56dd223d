// SSH faults against real processes in a namespace this test creates: the sshd serving a command is
// killed, the network under an open connection goes silent, a listener accepts and never speaks,
// and SYNs vanish into a blackhole route. Each must end in a clear error within a bound derived
// from the configured timeouts; none may hang until a command's own timeout.
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { parseProcStat } from "../../../../core/procstat";
import { hostHandler } from "../../../../providers/resources/host";
import { closeAll, CommandError, SshTransport } from "../../../../providers/transport";
import { KEEPALIVE_MISSES, type SshConfig } from "../../../../providers/transport/ssh";
import { HostArgsSchema } from "../../../../schema/host";
import { freeSubnet, must, uniq } from "../../../helpers";
import { type Sshd, startSshd } from "../../../helpers/sshd";
import { handlerCtx } from "../../../helpers/ctx";

/** Scheduling allowance on top of a configured bound: 2 shared cores, other suites running. */
const SLACK_MS = 2000;

/** The dial's documented worst case: every attempt waits its full timeout, with 1 s, 2 s, 4 s ... (at most 10 s) between. */
function dialBoundMs(cfg: Pick<SshConfig, "connectTimeoutMs" | "dialRetries">): number {
    let backoff = 0;
    for (let k = 0; k < cfg.dialRetries; k++) backoff += Math.min(1000 * 2 ** k, 10_000);
    return (cfg.dialRetries + 1) * cfg.connectTimeoutMs + backoff;
}

/** pid -> [ppid, argv] for every process, read from /proc. */
function processTable(): Map<number, { ppid: number; argv: string[] }> {
    const table = new Map<number, { ppid: number; argv: string[] }>();
    for (const e of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(e)) continue;
        try {
            const ppid = Number(parseProcStat(fs.readFileSync(`/proc/${e}/stat`, "utf8"))?.ppid);
            const argv = fs.readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").filter(Boolean);
            table.set(Number(e), { ppid, argv });
        } catch {
            // exited while we looked
        }
    }
    return table;
}

function descendants(table: ReturnType<typeof processTable>, root: number): number[] {
    const out: number[] = [];
    const walk = (p: number) => {
        for (const [pid, v] of table) {
            if (v.ppid !== p) continue;
            out.push(pid);
            walk(pid);
        }
    };
    walk(root);
    return out;
}

/**
 * Waits until `argv` runs under the sshd `sshdPid`; returns the sshd session process serving it
 * (the sshd's child above it) and every process of that session.
 */
async function remoteCommand(sshdPid: number, argv: string[]): Promise<{ session: number; procs: number[] }> {
    const deadline = Date.now() + 10_000;
    for (;;) {
        const table = processTable();
        const hit = descendants(table, sshdPid).find((p) => table.get(p)!.argv.join(" ") === argv.join(" "));
        if (hit !== undefined) {
            let session = hit;
            while (table.get(session)!.ppid !== sshdPid) session = table.get(session)!.ppid;
            return { session, procs: [session, ...descendants(table, session)] };
        }
        if (Date.now() > deadline) throw new Error(`\`${argv.join(" ")}\` did not appear under sshd ${sshdPid}`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** Running (a zombie waiting for a parent that does not reap it counts as gone). */
function alive(pid: number): boolean {
    try {
        return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))?.state !== "Z";
    } catch {
        return false;
    }
}

/** Ends what a test's remote commands left running (processes this test caused), by PID. */
function reap(pids: number[]): void {
    for (const p of pids) if (alive(p)) process.kill(p, "SIGKILL");
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
    const t0 = Date.now();
    const value = await p;
    return { value, ms: Date.now() - t0 };
}

describe("SSH faults (real sshd in a namespace)", function () {
    this.timeout(90_000);
    const id = uniq();
    const ns = `nbt-sshf-${id}`;
    const veth = `nbf${id}`;
    const port = 2222;
    const silentPort = 2223;
    const subnet = freeSubnet("10.250");
    const nsIp = `${subnet}.2`;
    /** Routed from here into the namespace, where a blackhole route drops it: SYNs get no answer at all. */
    const dropped = `${freeSubnet("10.249")}.9`;
    let d: Sshd;
    let sshdPid: number;
    let silent: ChildProcess | undefined;
    const accepted: number[] = [];

    before(async function () {
        this.timeout(30_000);
        d = await startSshd(ns, veth, subnet);
        sshdPid = Number(fs.readFileSync(`${d.dir}/sshd.pid`, "utf8").trim());
        assert.ok(alive(sshdPid));
        // A host that accepts the TCP connection and never sends its SSH banner.
        silent = spawn(
            "ip",
            [
                "netns",
                "exec",
                ns,
                process.execPath,
                "-e",
                `const s = require("net").createServer(() => console.log("accepted " + Date.now()));
             s.listen(${silentPort}, "${nsIp}", () => console.log("listening"));`,
            ],
            { stdio: ["ignore", "pipe", "inherit"] },
        );
        await new Promise<void>((resolve, reject) => {
            let buf = "";
            silent!.stdout!.on("data", (b: Buffer) => {
                buf += b;
                for (;;) {
                    const nl = buf.indexOf("\n");
                    if (nl < 0) break;
                    const line = buf.slice(0, nl);
                    buf = buf.slice(nl + 1);
                    if (line === "listening") resolve();
                    else if (line.startsWith("accepted ")) accepted.push(Number(line.split(" ")[1]));
                }
            });
            silent!.once("exit", (c) => reject(new Error(`the silent listener exited (${c})`)));
        });
        must(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
        must(["ip", "-n", ns, "route", "add", "blackhole", `${dropped}/32`]);
        // Removed with the veth in d.stop().
        must(["ip", "route", "add", `${dropped}/32`, "via", nsIp, "dev", veth]);
    });

    after(async () => {
        await closeAll();
        if (silent?.pid && silent.exitCode === null) process.kill(silent.pid, "SIGKILL");
        d?.stop();
    });

    const cfg = (over: Partial<SshConfig> = {}): SshConfig => ({
        host: nsIp,
        port,
        user: "root",
        privateKey: d.key,
        hostKeyFingerprint: d.fingerprint,
        connectTimeoutMs: 5000,
        dialRetries: 1,
        keepaliveIntervalMs: 5000,
        ...over,
    });

    it("sshd session killed mid-command: every command on it fails at once naming host and command; the next command reconnects", async () => {
        const c = cfg();
        const t = new SshTransport(c, undefined, "far");
        let procs: number[] = [];
        try {
            await t.run(["true"]);
            const timeoutMs = 8000;
            const long = t.run(["sleep", "30"], { timeoutMs });
            const other = t.run(["sleep", "31"], { timeoutMs });
            const served = await remoteCommand(sshdPid, ["sleep", "30"]);
            await remoteCommand(sshdPid, ["sleep", "31"]);
            const seen = Date.now(); // both remote commands had started by now
            const table = processTable();
            procs = [served.session, ...descendants(table, served.session)];
            // Each remote command carries its own bound, so the orphan it becomes cannot outlive it.
            const wrappers = procs.map((p) => table.get(p)!.argv).filter((a) => a[0] === "timeout");
            assert.deepEqual(
                wrappers.map((a) => a.slice(0, 4)),
                [0, 1].map(() => ["timeout", "-k", "5", String(timeoutMs / 1000)]),
            );

            process.kill(served.session, "SIGKILL");
            const [a, b] = await Promise.all([timed(long.catch((e) => e)), timed(other.catch((e) => e))]);
            for (const [r, cmd] of [
                [a, "sleep 30"],
                [b, "sleep 31"],
            ] as const) {
                assert.ok(r.value instanceof CommandError, String(r.value));
                assert.equal(
                    r.value.message,
                    `on host 'far' (ssh root@${nsIp}:${port}): \`${cmd}\` lost its connection before it exited (the connection closed)`,
                );
                // Seen from the TCP close, not from keepalives or the command's timeout.
                assert.ok(r.ms < c.keepaliveIntervalMs!, `took ${r.ms} ms`);
            }
            console.log(`      killed session detected in ${a.ms} / ${b.ms} ms`);

            const again = await timed(t.run(["echo", "again"]));
            assert.equal(again.value.stdout, "again\n");
            assert.ok(again.ms < dialBoundMs(c), `reconnect took ${again.ms} ms`);
            assert.ok(!alive(served.session));
            const table2 = processTable();
            assert.ok(
                [...table2].some(([pid, v]) => v.ppid === sshdPid && pid !== served.session),
                "a new sshd session serves the transport",
            );
            console.log(`      reconnected in ${again.ms} ms`);

            // Nothing is left behind on the host: the orphaned commands end at their own timeout.
            const orphans = procs.slice(1);
            while (orphans.some(alive) && Date.now() < seen + timeoutMs + SLACK_MS) await new Promise((r) => setTimeout(r, 100));
            assert.deepEqual(orphans.filter(alive), [], "remote processes outlived their timeout");
            console.log(`      orphaned remote commands gone ${Date.now() - seen} ms after they were seen running (their timeout: ${timeoutMs} ms)`);
        } finally {
            await t.close();
            reap(procs);
        }
    });

    it("network silent under an open connection: the command fails after the keepalives, long before its timeout; the next command reconnects once the network is back", async () => {
        const c = cfg({ keepaliveIntervalMs: 1000 });
        const t = new SshTransport(c, undefined, "far");
        let procs: number[] = [];
        let down = false;
        try {
            await t.run(["true"]);
            const timeoutMs = 20_000;
            const long = t.run(["sleep", "30"], { timeoutMs });
            procs = (await remoteCommand(sshdPid, ["sleep", "30"])).procs;
            // No FIN, no RST, no ICMP: the host's end of the link just stops carrying packets.
            must(["ip", "-n", ns, "link", "set", `${veth}p`, "down"]);
            down = true;
            // A file read started into the silence fails with the command, naming what it was reading.
            const read = timed(t.getFile(`${d.dir}/sshd_config`).catch((e) => e));
            const r = await timed(long.catch((e) => e));
            assert.ok(r.value instanceof CommandError, String(r.value));
            assert.equal(
                r.value.message,
                `on host 'far' (ssh root@${nsIp}:${port}): \`sleep 30\` lost its connection before it exited ` +
                    `(the connection failed: no answer to ${KEEPALIVE_MISSES + 1} keepalives 1000 ms apart)`,
            );
            const bound = (KEEPALIVE_MISSES + 1) * c.keepaliveIntervalMs!;
            // At least KEEPALIVE_MISSES intervals: it was the keepalives that gave up, not something else.
            assert.ok(r.ms >= KEEPALIVE_MISSES * c.keepaliveIntervalMs! - 100, `took ${r.ms} ms`);
            assert.ok(r.ms <= bound + SLACK_MS, `took ${r.ms} ms, bound ${bound} ms`);
            console.log(`      silent network detected in ${r.ms} ms (keepalive bound ${bound} ms, command timeout ${timeoutMs} ms)`);
            const f = await read;
            assert.equal(
                f.value.message,
                `on host 'far' (ssh root@${nsIp}:${port}): could not read ${d.dir}/sshd_config: no SFTP session ` +
                    `(the connection failed: no answer to ${KEEPALIVE_MISSES + 1} keepalives 1000 ms apart)`,
            );
            assert.ok(f.ms <= bound + SLACK_MS, `the read took ${f.ms} ms, bound ${bound} ms`);

            must(["ip", "-n", ns, "link", "set", `${veth}p`, "up"]);
            down = false;
            const again = await timed(t.run(["echo", "back"]));
            assert.equal(again.value.stdout, "back\n");
            assert.ok(again.ms < dialBoundMs(c) + SLACK_MS, `reconnect took ${again.ms} ms`);
            console.log(`      reconnected in ${again.ms} ms`);
        } finally {
            if (down) must(["ip", "-n", ns, "link", "set", `${veth}p`, "up"]);
            await t.close();
            reap(procs);
        }
    });

    it("a host that accepts and never answers: bounded attempts, one dial shared by every caller, an error naming host:port", async () => {
        const c = cfg({ port: silentPort, connectTimeoutMs: 1500, dialRetries: 2 });
        const msgs: string[] = [];
        const t = new SshTransport(c, (m) => msgs.push(m), "mute");
        const before = accepted.length;
        const t0 = Date.now();
        const first = t.run(["true"]).catch((e) => e);
        // A second caller arriving during the back-off joins the dial in progress.
        while (msgs.length === 0 && Date.now() - t0 < dialBoundMs(c) + SLACK_MS) await new Promise((r) => setTimeout(r, 20));
        assert.equal(msgs.length, 1, "the first attempt should have failed by now");
        const second = t.run(["true"]).catch((e) => e);
        const [e1, e2] = await Promise.all([first, second]);
        const ms = Date.now() - t0;
        const expected = `on host 'mute' (ssh root@${nsIp}:${silentPort}): could not connect after 3 attempts: Timed out while waiting for handshake`;
        assert.equal(e1.message, expected);
        assert.equal(e2.message, expected);
        assert.equal(msgs.length, c.dialRetries);
        assert.match(msgs[0], new RegExp(`^ssh ${nsIp}:${silentPort}: attempt 1/3 failed \\(Timed out while waiting for handshake\\); retrying in 1 s$`));
        // Each attempt reached the listener and waited its full timeout.
        assert.equal(accepted.length - before, c.dialRetries + 1, "one TCP connection per attempt");
        const bound = dialBoundMs(c);
        assert.ok(ms >= bound - 200, `took ${ms} ms, less than the configured ${bound} ms`);
        assert.ok(ms <= bound + SLACK_MS, `took ${ms} ms, bound ${bound} ms`);
        console.log(`      silent listener: gave up after ${ms} ms (bound ${bound} ms)`);
        await t.close();
    });

    it("SYNs dropped by a blackhole route: bounded attempts, an error naming host:port", async () => {
        const c = cfg({ host: dropped, connectTimeoutMs: 1500, dialRetries: 1 });
        const msgs: string[] = [];
        const t = new SshTransport(c, (m) => msgs.push(m), "void");
        const { value: err, ms } = await timed(t.run(["true"]).catch((e) => e));
        assert.equal(err.message, `on host 'void' (ssh root@${dropped}:${port}): could not connect after 2 attempts: Timed out while waiting for handshake`);
        assert.equal(msgs.length, 1);
        const bound = dialBoundMs(c);
        assert.ok(ms >= bound - 200, `took ${ms} ms: the SYNs were answered (refused or unreachable), not dropped`);
        assert.ok(ms <= bound + SLACK_MS, `took ${ms} ms, bound ${bound} ms`);
        console.log(`      blackholed SYNs: gave up after ${ms} ms (bound ${bound} ms)`);
        await t.close();
    });

    it("a Host of kind ssh on the silent listener fails create with the same error, within the bound", async () => {
        const ctx = handlerCtx("Host", "mute", { project: "p" });
        const inputs = HostArgsSchema.parse({
            kind: "ssh",
            ssh: { host: nsIp, port: silentPort, privateKey: d.key, hostKeyFingerprint: d.fingerprint, connectTimeoutMs: 1000, dialRetries: 1 },
        });
        assert.equal(inputs.ssh!.keepaliveIntervalMs, 15_000, "the documented default");
        const { value: err, ms } = await timed(hostHandler.create(ctx, inputs).catch((e) => e));
        assert.equal(err.message, `on host 'mute' (ssh root@${nsIp}:${silentPort}): could not connect after 2 attempts: Timed out while waiting for handshake`);
        assert.match(ctx.log.lines.join("\n"), /status: ssh .*:2223: attempt 1\/2 failed \(Timed out while waiting for handshake\); retrying in 1 s/);
        const bound = dialBoundMs(inputs.ssh!);
        assert.ok(ms >= bound - 200 && ms <= bound + SLACK_MS, `took ${ms} ms, bound ${bound} ms`);
        console.log(`      Host create: failed after ${ms} ms (bound ${bound} ms)`);
    });

    it("the keepalive interval is validated", () => {
        const base = { host: nsIp, privateKey: d.key, hostKeyFingerprint: d.fingerprint };
        for (const bad of [0, 50, 1.5, 400_000, "1000"]) {
            const r = HostArgsSchema.safeParse({ kind: "ssh", ssh: { ...base, keepaliveIntervalMs: bad } });
            assert.ok(!r.success, `accepted ${bad}`);
            assert.deepEqual(r.error.issues[0].path, ["ssh", "keepaliveIntervalMs"]);
        }
        assert.equal(HostArgsSchema.parse({ kind: "ssh", ssh: { ...base, keepaliveIntervalMs: 2000 } }).ssh!.keepaliveIntervalMs, 2000);
    });
});
