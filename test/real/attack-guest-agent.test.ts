// The guest agent against a neighbour and a forger, on one real guest (TCG): nothing answers on a
// guest NIC's old agent port; on the agent's socket a request without the VM's key, or for a
// program or option netbed never sends, is refused by the guest itself; a reply whose connection
// was cut is not taken for the next request's; and the benchmark path (iperf3 from the guest to
// its host) works through the socket.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { AgentReplyReader } from "../../core/agent";
import { iperf3Argv, parseIperf3 } from "../../core/bench/parse";
import { agentCall } from "../../providers/hostops/agent";
import { runAt } from "../../providers/benchmark/endpoints";
import { bridgeHandler } from "../../providers/resources/bridge";
import { hostHandler } from "../../providers/resources/host";
import { imageHandler } from "../../providers/resources/image";
import { kernelHandler } from "../../providers/resources/kernel";
import { microvmHandler } from "../../providers/resources/microvm";
import { closeAll } from "../../providers/transport";
import { LocalTransport } from "../../providers/transport/local";
import { vethHandler } from "../../providers/resources/veth";
import type { Endpoint } from "../../schema/benchmark";
import { BridgeArgsSchema } from "../../schema/bridge";
import { HostArgsSchema, type HostConnection } from "../../schema/host";
import { GuestImageArgsSchema } from "../../schema/image";
import { KernelArgsSchema } from "../../schema/kernel";
import { MicroVmArgsSchema } from "../../schema/microvm";
import { VethPairArgsSchema } from "../../schema/veth";
import { must, netnsList, sh, uniq } from "../helpers";
import { handlerCtx } from "../helpers/ctx";

const local = { kind: "local" as const, name: "me" };
/** Writes `request` on the socket and collects what comes back until `done` says so or `ms` pass. */
function exchange(socket: string, request: string, done: (got: Buffer) => boolean, ms = 30_000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const c = net.createConnection(socket);
        let got = Buffer.alloc(0);
        const finish = () => {
            clearTimeout(timer);
            c.destroy();
            resolve(got);
        };
        const timer = setTimeout(finish, ms);
        c.on("error", reject);
        c.on("data", (b: Buffer) => {
            got = Buffer.concat([got, b]);
            if (done(got)) finish();
        });
        c.write(request);
    });
}

/** Writes `request` and hangs up shortly after, before any reply. */
function cutOff(socket: string, request: string): Promise<void> {
    return new Promise((resolve, reject) => {
        const c = net.createConnection(socket);
        c.on("error", reject);
        c.write(request, () =>
            setTimeout(() => {
                c.destroy();
                resolve();
            }, 300),
        );
    });
}

describe("attack: the guest agent (one real guest)", function () {
    this.timeout(10 * 60_000);
    const id = uniq();
    const ns = { srv: `nbt-s11a-srv-${id}`, nb: `nbt-s11a-nb-${id}` };
    const hosts: Record<string, { outs: any; conn: HostConnection }> = {};
    const cleanup: (() => Promise<void>)[] = [];
    let vm: any;
    let key: string;
    let socket: string;

    before(async () => {
        for (const [h, namespace] of Object.entries(ns)) {
            const { outs } = await hostHandler.create(handlerCtx("Host", h, { project: "s11a" }), HostArgsSchema.parse({ kind: "netns", namespace }));
            hosts[h] = { outs, conn: outs.connection as HostConnection };
        }
        const kernel = (
            await kernelHandler.create(handlerCtx("Kernel", "k", { project: "s11a" }), KernelArgsSchema.parse({ host: local, source: { kind: "build" } }))
        ).outs;
        const image = (await imageHandler.create(handlerCtx("GuestImage", "i", { project: "s11a" }), GuestImageArgsSchema.parse({ host: local }))).outs;
        const srv = hosts.srv.conn;
        const br = await bridgeHandler.create(
            handlerCtx("Bridge", "br", { project: "s11a" }),
            BridgeArgsSchema.parse({ host: srv, name: "br0", addresses: ["10.250.7.1/24"] }),
        );
        cleanup.unshift(() => bridgeHandler.delete(handlerCtx("Bridge", "br", { project: "s11a" }), br.id, br.outs));
        // The neighbour: another namespace with a link into the guest's bridge.
        const w = await vethHandler.create(
            handlerCtx("VethPair", "w", { project: "s11a" }),
            VethPairArgsSchema.parse({ a: { host: srv, name: "nb0" }, b: { host: hosts.nb.conn, name: "eth0", addresses: ["10.250.7.20/24"] } }),
        );
        cleanup.unshift(() => vethHandler.delete(handlerCtx("VethPair", "w", { project: "s11a" }), w.id, w.outs));
        must(["ip", "-n", ns.srv, "link", "set", "nb0", "master", "br0"]);
        const ctx = handlerCtx("MicroVm", "g", { project: "s11a" });
        const r = await microvmHandler.create(
            ctx,
            MicroVmArgsSchema.parse({
                host: srv,
                kernel: kernel.path,
                image: image.path,
                imageSize: image.size,
                nics: [{ backend: "virtio", bridge: "br0", address: "10.250.7.10/24" }],
                hostCaps: { cores: 2, vhostNet: false, kvmUsable: false, kvmReason: "no /dev/kvm", tools: ["qemu-system-x86_64"] },
                servers: ["iperf3", "agent"],
            }),
        );
        cleanup.unshift(() => microvmHandler.delete(ctx, r.id, r.outs));
        vm = r.outs;
        key = vm.agentKey;
        socket = vm.agentSocket;
    });

    after(async () => {
        for (const c of cleanup) await c().catch((e) => console.error(e));
        for (const h of Object.keys(hosts)) await hostHandler.delete(handlerCtx("Host", h, { project: "s11a" }), "", hosts[h].outs);
        await closeAll();
        assert.ok(!netnsList().some((x) => x.endsWith(id)));
    });

    it("a neighbour on the guest's bridge reaches the guest, but nothing answers on the old agent port", () => {
        assert.equal(sh(["ip", "netns", "exec", ns.nb, "ping", "-c", "2", "-W", "3", "10.250.7.10"]).code, 0, "the neighbour reaches the guest");
        const r = sh(["ip", "netns", "exec", ns.nb, "busybox", "nc", "-w", "5", "10.250.7.10", "7070"], "NETBED-AGENT/1 10\ncat\n/etc/passwd\n\n");
        assert.equal(r.stdout, "", "no agent reply on a NIC");
        assert.notEqual(r.code, 0, "the connection is refused");
    });

    it("the key is the VM's own, not on the VMM's command line, and its initrd is root's only", () => {
        assert.match(key, /^[0-9a-f]{64}$/);
        assert.match(socket, /\/agent\.sock$/);
        assert.ok(!fs.readFileSync(`/proc/${vm.pid}/cmdline`, "utf8").includes(key));
        const initrd = `${socket.slice(0, socket.lastIndexOf("/"))}/initrd`;
        // Root's and its group's (the VMM's group under a profile; root's here, unconfined): nobody else reads it.
        const st = fs.statSync(initrd);
        assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [0, 0, 0o640]);
        assert.ok(!vm.argv.join(" ").includes(key));
    });

    it("on the socket, a request without the key or with a wrong one is refused by the guest", async () => {
        for (const k of ["", "cd".repeat(32), key.slice(0, 63)]) {
            const rid = "1111111111111111";
            const got = await exchange(socket, `NETBED-AGENT/2 ${rid} ${k} 5\nuptime\n\n`, (b) => /refused \d+\n.*wrong key/.test(b.toString()));
            assert.match(got.toString(), new RegExp(`NETBED-AGENT/2 ${rid} refused \\d+\\nwrong key`), `key '${k}'`);
        }
    });

    it("with the key, the guest refuses cat of a file, iperf3 -F, -s and a sockperf server", async () => {
        const forged: string[][] = [
            ["cat", "/etc/passwd"],
            ["iperf3", "-c", "10.250.7.1", "-F", "netbed-agent"],
            ["iperf3", "-s", "-1"],
            ["sockperf", "server", "-p", "5555"],
            ["ping", "-c", "1", "-I", "eth0", "10.250.7.1"],
        ];
        for (const argv of forged) {
            const rid = "2222222222222222";
            const got = await exchange(socket, `NETBED-AGENT/2 ${rid} ${key} 5\n${argv.join("\n")}\n\n`, (b) =>
                /refused \d+\n.*not allowed/.test(b.toString()),
            );
            assert.match(got.toString(), new RegExp(`NETBED-AGENT/2 ${rid} refused \\d+\\nnot allowed`), argv.join(" "));
        }
    });

    it("a reply whose connection was cut arrives on the next connection and is not taken for its request's", async () => {
        // A request that takes about 2 s, cut off at once.
        await cutOff(socket, `NETBED-AGENT/2 3333333333333333 ${key} 10\nping\n-c\n5\n-i\n0.5\n10.250.7.1\n\n`);
        const rid = "4444444444444444";
        const raw = await exchange(socket, `NETBED-AGENT/2 ${rid} ${key} 5\nuptime\n\n`, (b) => new AgentReplyReader(rid).push(b) !== undefined);
        assert.match(raw.toString(), /NETBED-AGENT\/2 3333333333333333 rc=0 [^\n]*\n[\s\S]*5 packets transmitted/, "the stale reply came on this connection");
        const mine = new AgentReplyReader(rid).push(raw);
        assert.ok(mine);
        assert.match(mine.stdout, /^\d+\.\d+ \d+\.\d+\n$/, "the reply is uptime's");
        // And through the host side, twice at once: one request at a time on the port.
        const [a, b] = await Promise.all([0, 1].map(() => agentCall(new LocalTransport(), socket, key, ["uptime"], 5)));
        assert.match(a.stdout + b.stdout, /^\d+\.\d+ \d+\.\d+\n\d+\.\d+ \d+\.\d+\n$/);
    });

    it("between requests the agent waits for the host without spinning: the guest's CPU stays idle", async () => {
        const uptime = async () => (await agentCall(new LocalTransport(), socket, key, ["uptime"], 5)).stdout.trim().split(" ").map(Number);
        const [up0, idle0] = await uptime();
        await new Promise((r) => setTimeout(r, 3000));
        const [up1, idle1] = await uptime();
        assert.ok((idle1 - idle0) / (up1 - up0) > 0.8, `idle ${idle1 - idle0} s of ${up1 - up0} s`);
    });

    it("the benchmark path: iperf3 from the guest to its host through the agent", async () => {
        const server = spawn("ip", ["netns", "exec", ns.srv, "iperf3", "-s", "-1", "-B", "10.250.7.1", "-p", "25201"], { stdio: "ignore" });
        try {
            await new Promise((r) => setTimeout(r, 500));
            const e: Endpoint = {
                kind: "vm",
                name: "g",
                host: hosts.srv.conn,
                via: hosts.srv.conn,
                address: "10.250.7.10",
                pid: vm.pid,
                backend: "virtio",
                accel: "tcg",
                driver: "qemu",
                kernel: vm.kernel,
                vcpus: 1,
                memoryMiB: vm.memoryMiB,
                pinned: false,
                security: "none",
                agent: { socket, key },
            };
            const r = await runAt(handlerCtx("BenchmarkRun", "b", { project: "s11a" }), e, iperf3Argv({ server: "10.250.7.1", port: 25201, duration: 2 }), 10);
            assert.equal(r.code, 0, r.stderr);
            assert.ok(parseIperf3(r.stdout).bitsPerSecond > 1e6);
        } finally {
            server.kill();
        }
    });
});
