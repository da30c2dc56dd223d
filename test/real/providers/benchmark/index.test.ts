// BenchmarkRun for real: netns hosts (the bare-metal baseline) and a TCG guest, every test kind,
// raw data on disk as each measurement ends, a guest running clients through its agent, a VMM
// killed mid-run (clear error, finished cells kept), and resume.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ResultsDocSchema } from "../../../../core/bench/results";
import { benchmarkHandler } from "../../../../providers/benchmark";
import { bridgeHandler } from "../../../../providers/resources/bridge";
import { hostHandler } from "../../../../providers/resources/host";
import { imageHandler } from "../../../../providers/resources/image";
import { kernelHandler } from "../../../../providers/resources/kernel";
import { microvmHandler } from "../../../../providers/resources/microvm";
import type { Ctx } from "../../../../providers/runtime/resource";
import { tapHandler } from "../../../../providers/resources/tap";
import { vethHandler } from "../../../../providers/resources/veth";
import { BenchmarkRunArgsSchema, type Endpoint } from "../../../../schema/benchmark";
import { BridgeArgsSchema } from "../../../../schema/bridge";
import { HostArgsSchema, type HostConnection } from "../../../../schema/host";
import { GuestImageArgsSchema } from "../../../../schema/image";
import { KernelArgsSchema } from "../../../../schema/kernel";
import { MicroVmArgsSchema } from "../../../../schema/microvm";
import { TapArgsSchema } from "../../../../schema/tap";
import { VethPairArgsSchema } from "../../../../schema/veth";
import { netnsList, sh, uniq } from "../../../helpers";
import { handlerCtx } from "../../../helpers/ctx";

const local = { kind: "local" as const, name: "me" };
/** Benchmark servers left running in a namespace. */
function serversIn(ns: string): string[] {
    const pids = sh(["ip", "netns", "pids", ns]).stdout.split("\n").filter(Boolean);
    return pids
        .map((p) => (fs.existsSync(`/proc/${p}/comm`) ? fs.readFileSync(`/proc/${p}/comm`, "utf8").trim() : ""))
        .filter((c) => ["iperf3", "sockperf", "netserver"].includes(c));
}

describe("BenchmarkRun (real tools between namespaces and a TCG guest)", function () {
    this.timeout(30 * 60_000);
    const id = uniq();
    const n = Math.floor(Math.random() * 200) + 20;
    const hosts: Record<string, { outs: any; conn: HostConnection }> = {};
    const cleanup: (() => Promise<void>)[] = [];
    let results: string;
    let kernel: any;
    let image: any;
    const vms: Record<string, { ctx: Ctx; id: string; outs: any }> = {};

    async function vm(name: string, tap: string, octet: number) {
        const ctx = handlerCtx("MicroVm", name, { project: "bench" });
        const r = await microvmHandler.create(
            ctx,
            MicroVmArgsSchema.parse({
                host: hosts.srv.conn,
                kernel: kernel.path,
                image: image.path,
                imageSize: image.size,
                nics: [{ backend: "virtio", tap, address: `10.243.${n}.${octet}/24` }],
            }),
        );
        cleanup.unshift(() => microvmHandler.delete(ctx, r.id, r.outs));
        vms[name] = { ctx, id: r.id, outs: r.outs };
        return r.outs as any;
    }
    const vmEnd = (outs: any, name: string, via?: HostConnection): Endpoint => ({
        kind: "vm",
        name,
        host: hosts.srv.conn,
        via: via ?? hosts.srv.conn,
        address: outs.interfaces[0].address.split("/")[0],
        pid: outs.pid,
        backend: "virtio",
        accel: outs.accelUsed,
        driver: "qemu",
        kernel: outs.kernel,
        vcpus: outs.vcpus,
        memoryMiB: outs.memoryMiB,
        pinned: false,
        security: "none",
        ...(outs.agentSocket ? { agent: { socket: outs.agentSocket, key: outs.agentKey } } : {}),
    });
    const hostEnd = (h: string, address?: string): Endpoint => ({ kind: "host", host: hosts[h].conn, address });

    before(async () => {
        results = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-results-"));
        for (const h of ["srv", "cli"]) {
            const { outs } = await hostHandler.create(
                handlerCtx("Host", h, { project: "bench" }),
                HostArgsSchema.parse({ kind: "netns", namespace: `nbt-b${h}-${id}` }),
            );
            hosts[h] = { outs, conn: outs.connection as HostConnection };
        }
        kernel = (
            await kernelHandler.create(handlerCtx("Kernel", "k", { project: "bench" }), KernelArgsSchema.parse({ host: local, source: { kind: "build" } }))
        ).outs;
        image = (await imageHandler.create(handlerCtx("GuestImage", "i", { project: "bench" }), GuestImageArgsSchema.parse({ host: local }))).outs;
        const w = await vethHandler.create(
            handlerCtx("VethPair", "w", { project: "bench" }),
            VethPairArgsSchema.parse({ a: { host: hosts.srv.conn, name: "cli0" }, b: { host: hosts.cli.conn, name: "eth0", addresses: [`10.243.${n}.2/24`] } }),
        );
        cleanup.unshift(() => vethHandler.delete(handlerCtx("VethPair", "w", { project: "bench" }), w.id, w.outs));
        const br = await bridgeHandler.create(
            handlerCtx("Bridge", "br", { project: "bench" }),
            BridgeArgsSchema.parse({ host: hosts.srv.conn, name: "br0", addresses: [`10.243.${n}.1/24`], members: ["cli0"] }),
        );
        cleanup.unshift(() => bridgeHandler.delete(handlerCtx("Bridge", "br", { project: "bench" }), br.id, br.outs));
        for (const t of ["tap0", "tap1"]) {
            const r = await tapHandler.create(
                handlerCtx("Tap", t, { project: "bench" }),
                TapArgsSchema.parse({ host: hosts.srv.conn, name: t, bridge: "br0" }),
            );
            cleanup.unshift(() => tapHandler.delete(handlerCtx("Tap", t, { project: "bench" }), r.id, r.outs));
        }
        await vm("g1", "tap0", 10);
    });

    after(async () => {
        for (const c of cleanup) await c().catch((e) => console.error(e));
        for (const h of Object.keys(hosts)) await hostHandler.delete(handlerCtx("Host", h, { project: "bench" }), "", hosts[h].outs);
        assert.ok(!netnsList().some((x) => x.endsWith(id)));
        fs.rmSync(results, { recursive: true, force: true });
    });

    it("runs every test kind for a bare-metal pair and a guest pair, interleaved, with raw data, CPU cost and a valid results document", async () => {
        const ctx = handlerCtx("BenchmarkRun", "all", { project: "bench" });
        const inputs = BenchmarkRunArgsSchema.parse({
            pairs: [
                { label: "bare-metal", client: hostEnd("cli"), server: hostEnd("srv", `10.243.${n}.1`) },
                { label: "virtio", client: hostEnd("cli"), server: vmEnd(vms.g1.outs, "g1") },
            ],
            tests: [
                { kind: "tcp", streams: 1 },
                { kind: "tcp", streams: 2, reverse: true },
                { kind: "udp", rateMbps: 50, size: 1200 },
                { kind: "pps", sizes: [64] },
                { kind: "icmp", count: 10, interval: 0.02 },
                { kind: "latency", protocol: "udp" },
                { kind: "rr", test: "TCP_RR" },
                { kind: "load", protocol: "udp", mps: [100, 1000], factor: 2 },
            ],
            settings: { duration: 1, repetitions: 2, warmup: 1 },
            resultsDir: results,
        });
        const r = await benchmarkHandler.create(ctx, inputs);
        const doc = ResultsDocSchema.parse(r.outs.results);
        assert.equal(doc.cells.length, 2 * 8);
        for (const c of doc.cells) {
            assert.equal(c.status, "ok", `${c.pair} ${c.cell}: ${c.error}`);
            assert.equal(c.repetitions.length, 2, `${c.pair} ${c.cell}`);
            for (const rep of c.repetitions) assert.ok(fs.statSync(path.join(results, rep.raw)).size > 0, rep.raw);
            assert.ok(c.cpuSeconds && c.cpuSeconds.busy >= 0, `${c.pair} ${c.cell} CPU`);
        }
        const cell = (pair: string, id: string) => doc.cells.find((c) => c.pair === pair && c.cell === id)!;
        // Sanity of magnitudes: veth moves more than a TCG guest; a guest's ping is slower than veth's.
        assert.ok(cell("bare-metal", "tcp-1").metrics.gbps.median > cell("virtio", "tcp-1").metrics.gbps.median);
        assert.ok(cell("virtio", "tcp-1").metrics.gbps.median > 0.01);
        assert.ok(Math.abs(cell("bare-metal", "udp-50-1200").metrics.gbps.median - 0.05) < 0.01, "UDP at a target rate meets it on veth");
        assert.ok(cell("virtio", "pps-64").metrics.pps.median > 100);
        assert.ok(cell("virtio", "icmp-56").metrics.p50ms.median > cell("bare-metal", "icmp-56").metrics.p50ms.median);
        assert.ok(cell("bare-metal", "latency-udp-64").metrics.p99us.median >= cell("bare-metal", "latency-udp-64").metrics.p50us.median);
        assert.ok(cell("virtio", "tcp_rr-1").metrics.tps.median > 10);
        assert.equal(cell("virtio", "load-udp-64").sweep!.length, 2);
        assert.equal(cell("virtio", "tcp-1").dimensions.backend, "virtio");
        assert.equal(cell("virtio", "tcp-1").dimensions.accel, "tcg");
        assert.equal(cell("bare-metal", "tcp-1").dimensions.backend, "bare-metal");
        assert.ok(cell("virtio", "tcp-1").cpuSeconds!.vmm! > 0, "the VMM's CPU is accounted");
        assert.equal(cell("virtio", "tcp_rr-1").serviceDemand?.unit, "us/tr");
        assert.ok(doc.warnings.some((w) => /g1 runs under TCG/.test(w)));
        assert.ok((r.outs.summary as any).virtio.tcpGbps > 0);
        // Interleaved: each cell visits both pairs before the next repetition of any cell.
        const order = ctx.log.lines.filter((l) => /^status: \[\d+\/\d+\]/.test(l)).map((l) => l.replace(/^status: \[\d+\/\d+\] /, ""));
        assert.ok(order.length >= 2 * 8 * 3, `${order.length} progress lines`);
        assert.match(order[0], /^bare-metal tcp-1 warm-up/);
        assert.match(order[1], /^virtio tcp-1 warm-up/);
        assert.deepEqual(serversIn(`nbt-bsrv-${id}`), [], "host servers are stopped after the run");
        // The document is on disk, and the raw layout is <topology>/<label>/<timestamp>/<cell>/.
        assert.ok(fs.existsSync(r.outs.resultsPath as string));
        assert.match(cell("virtio", "tcp-1").rawDir, /^host-guest\/virtio\/[0-9TZ-]+\/tcp-1$/);
        // The report from the measured data, beside the document.
        const report = r.outs.reportPath as string;
        assert.equal(report, (r.outs.resultsPath as string).replace(/\.json$/, "-report/report.md"));
        const md = fs.readFileSync(report, "utf8");
        assert.match(md, /\| *virtio *\|/);
        assert.match(md, new RegExp(cell("virtio", "tcp-1").metrics.gbps.median.toFixed(2)));
        assert.ok(fs.existsSync(report.replace(/report\.md$/, "report.html")));
    });

    it("a guest runs the clients through its agent (guest to host)", async () => {
        const ctx = handlerCtx("BenchmarkRun", "g2h", { project: "bench" });
        const inputs = BenchmarkRunArgsSchema.parse({
            pairs: [{ label: "virtio", client: vmEnd(vms.g1.outs, "g1"), server: hostEnd("srv", `10.243.${n}.1`) }],
            tests: [{ kind: "tcp" }, { kind: "icmp", count: 5, interval: 0.05 }, { kind: "rr", test: "UDP_RR" }],
            settings: { duration: 1, repetitions: 1, warmup: 0 },
            resultsDir: results,
        });
        const r = await benchmarkHandler.create(ctx, inputs);
        const doc = ResultsDocSchema.parse(r.outs.results);
        for (const c of doc.cells) assert.equal(c.status, "ok", `${c.cell}: ${c.error}`);
        assert.equal(doc.cells[0].dimensions.topology, "guest-host");
        assert.ok(doc.cells[0].metrics.gbps.median > 0.01);
    });

    it("a VMM killed mid-run fails the run naming the guest and the cell; finished cells stay on disk and a rerun resumes after them", async () => {
        const outs = await vm("g2", "tap1", 11);
        const ctx = handlerCtx("BenchmarkRun", "kill", { project: "bench" });
        const inputs = BenchmarkRunArgsSchema.parse({
            pairs: [{ label: "doomed", client: hostEnd("cli"), server: vmEnd(outs, "g2") }],
            tests: [{ kind: "tcp" }, { kind: "icmp", count: 5, interval: 0.05 }],
            settings: { duration: 1, repetitions: 4, warmup: 0 },
            resultsDir: results,
        });
        const run = benchmarkHandler.create(ctx, inputs);
        // Kill the VMM once three measurements are on disk.
        const metas = () => sh(["find", results, "-path", "*doomed*", "-name", "*.meta.json"]).stdout.split("\n").filter(Boolean);
        const deadline = Date.now() + 120_000;
        while (metas().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        process.kill(outs.pid, "SIGKILL");
        await assert.rejects(
            run,
            (e: Error) => /guest g2's VMM \(pid \d+\) died during cell (tcp-1|icmp-56) of pair doomed/.test(e.message) && e.message.includes(results),
        );
        const kept = metas();
        assert.ok(kept.length >= 3, `${kept.length} finished measurements kept`);
        // The rerun (same inputs) resumes: it does not measure the finished steps again.
        const again = handlerCtx("BenchmarkRun", "kill", { project: "bench" });
        await assert.rejects(benchmarkHandler.create(again, inputs), /died|agent|connect|refused|unreachable/i);
        const measured = again.log.lines.filter((l) => /\[\d+\/8\] doomed/.test(l)).length;
        assert.ok(measured <= 8 - kept.length, `rerun measured ${measured} steps again, ${kept.length} were done`);
        assert.deepEqual(serversIn(`nbt-bsrv-${id}`), []);
    });

    it("bad input is refused with the field named", () => {
        const bad = (v: unknown) => {
            const r = BenchmarkRunArgsSchema.safeParse(v);
            return r.success ? "" : r.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join("\n");
        };
        const ok = { pairs: [{ label: "a", client: hostEnd("cli"), server: hostEnd("srv", "10.0.0.1") }], resultsDir: "/tmp/r" };
        assert.equal(bad(ok), "");
        assert.match(
            bad({ ...ok, pairs: [{ ...ok.pairs[0], server: hostEnd("srv") }] }),
            /pairs.0.server.address: a host that runs the servers needs `address`/,
        );
        assert.match(bad({ ...ok, tests: [{ kind: "tcp" }, { kind: "tcp" }] }), /tests: give each test once: tcp-1/);
        assert.match(bad({ ...ok, tests: [{ kind: "bogus" }] }), /tests.0.kind: kind must be one of tcp, udp, pps, icmp, latency, rr, load/);
        assert.match(bad({ ...ok, tests: [{ kind: "pps", sizes: [8] }] }), /tests.0.sizes.0: must be at least 16 bytes/);
        assert.match(bad({ ...ok, tests: [{ kind: "load", mps: [1000, 100] }] }), /tests.0.mps: must increase/);
        assert.match(bad({ ...ok, settings: { duration: 0 } }), /settings.duration: must be at least 1 s/);
        assert.match(bad({ ...ok, settings: { duration: 0.5 } }), /settings.duration: must be whole seconds \(iperf3 reads -t 0.5 as no limit\)/);
        assert.match(bad({ ...ok, resultsDir: "results" }), /resultsDir: must be an absolute path/);
        assert.match(bad({ ...ok, pairs: [ok.pairs[0], ok.pairs[0]] }), /pairs.1.label: 'a' is also pairs\[0\]'s label/);
        assert.match(bad({ ...ok, pairs: [{ ...ok.pairs[0], label: "Virtio IO" }] }), /pairs.0.label: must be lower-case/);
    });
});
