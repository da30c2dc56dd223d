// The KVM criteria's traffic beyond the Volt matrix: bidirectional TCP (iperf3 --bidir), ranges of
// message sizes for request/response and UDP, and flood ping as a paced load generator with its
// loss. Parsers on outputs captured here (test/fixtures/tools/), each kind through measure() with
// a runner that returns those outputs, the cells and dimensions it makes, and the report rows. The
// real tools run in test/real/bench-kinds.test.ts.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { floodArgv, iperf3Argv, parseFlood, parseIperf3 } from "../../core/bench/parse";
import { GUEST_PORTS, measure, nominalSeconds } from "../../core/bench/measure";
import { TestSpecSchema, duplicateCells, expandCells, testProblems } from "../../core/bench/spec";
import { rows } from "../../core/report/model";
import { BenchmarkRunArgsSchema } from "../../schema/benchmark";
import { parseStackConfig } from "../../schema/testbed-config";

const fx = (f: string) => fs.readFileSync(path.join(__dirname, "..", "fixtures", "tools", f), "utf8");
const settings = { duration: 1, repetitions: 1, warmup: 0 };
const specs = (...t: unknown[]) => t.map((x) => TestSpecSchema.parse(x));

/** A runner that answers with a captured output and records the argv it was given. */
function runner(stdout: string, code = 0) {
    const calls: string[][] = [];
    return {
        calls,
        run: async (argv: string[]) => {
            calls.push(argv);
            return { code, stdout, stderr: "" };
        },
    };
}

describe("bidirectional, size ranges and flood ping", () => {
    it("iperf3 --bidir: each direction's receiver, their sum, both senders' retransmits", () => {
        // Captured: iperf3 3.12 -c ... -t 1 -J --bidir between two namespaces over a veth.
        const r = parseIperf3(fx("iperf3-tcp-bidir.json"));
        assert.deepEqual(r.bidir, { forwardBitsPerSecond: 3221573947.4159646, reverseBitsPerSecond: 3074807573.7210855 });
        assert.equal(r.bitsPerSecond, 3221573947.4159646 + 3074807573.7210855);
        assert.equal(r.bytes, 405667840 + 387186688);
        assert.equal(r.retransmits, 2 + 271);
        assert.equal(parseIperf3(fx("iperf3-tcp.json")).bidir, undefined, "a one-way run has no reverse section");
        assert.ok(iperf3Argv({ server: "10.0.0.2", port: 5201, duration: 1, bidir: true }).includes("--bidir"));
    });
    it("flood ping: paced by rate, quiet, bounded by a deadline; summary, loss and round trips parsed", () => {
        assert.deepEqual(floodArgv({ target: "10.0.0.2", count: 500, rate: 1000, size: 1400 }), [
            "ping",
            "-f",
            "-q",
            "-c",
            "500",
            "-i",
            "0.001",
            "-s",
            "1400",
            "-w",
            "6",
            "10.0.0.2",
        ]);
        assert.deepEqual(floodArgv({ target: "h", count: 10, rate: 3, size: 56 }).slice(5, 7), ["-i", "0.333333"]);
        // Captured: ping -f -q -i 0.001 -s 1400 -c 500 -w 10 between two namespaces.
        assert.deepEqual(parseFlood(fx("ping-flood.txt")), {
            transmitted: 500,
            received: 500,
            errors: 0,
            lossPercent: 0,
            timeMs: 806,
            rtt: { min: 0.002, avg: 0.008, max: 0.15, mdev: 0.011 },
        });
        // Captured: the same towards an address nobody has.
        assert.deepEqual(parseFlood(fx("ping-flood-unreachable.txt")), { transmitted: 12, received: 0, errors: 12, lossPercent: 100, timeMs: 3040 });
        assert.throws(() => parseFlood("ping: connect: Network is unreachable\n"), /flood ping failed: ping: connect: Network is unreachable/);
    });
    it("cells: one per size of a range, -bidir and flood ids, the size in each cell's spec", () => {
        const cells = expandCells(
            specs(
                { kind: "tcp", bidir: true },
                { kind: "tcp", streams: 4, bidir: true },
                { kind: "rr", test: "TCP_RR", sizes: [1, 64, 1024] },
                { kind: "udp", rateMbps: 100, sizes: [64, 1400] },
                { kind: "latency", protocol: "udp", sizes: [14, 1024] },
                { kind: "flood", size: 1400, rate: 2000, count: 100 },
            ),
        );
        assert.deepEqual(
            cells.map((c) => c.id),
            [
                "tcp-1-bidir",
                "tcp-4-bidir",
                "tcp_rr-1",
                "tcp_rr-64",
                "tcp_rr-1024",
                "udp-100-64",
                "udp-100-1400",
                "latency-udp-14",
                "latency-udp-1024",
                "flood-1400-2000",
            ],
        );
        const rr64 = cells.find((c) => c.id === "tcp_rr-64")!;
        assert.equal(rr64.size, 64);
        assert.equal((rr64.spec as any).size, 64);
        assert.equal((rr64.spec as any).sizes, undefined);
        assert.equal(nominalSeconds(cells[cells.length - 1], settings), 0.05);
        assert.deepEqual(duplicateCells(specs({ kind: "rr", test: "UDP_RR", size: 64 }, { kind: "rr", test: "UDP_RR", sizes: [1, 64] })), ["udp_rr-64"]);
        assert.throws(() => TestSpecSchema.parse({ kind: "rr", test: "TCP_RR", sizes: [64, 64] }), /give each size once/);
        assert.throws(() => TestSpecSchema.parse({ kind: "udp", sizes: [8] }), /at least 16 bytes/);
        assert.throws(() => TestSpecSchema.parse({ kind: "flood", rate: 0 }), /rate/);
        assert.deepEqual(testProblems(specs({ kind: "tcp", reverse: true, bidir: true })), [
            { index: 0, field: "bidir", message: "bidir already runs both directions: leave reverse out" },
        ]);
    });
    it("refuses reverse with bidir at preview, in a BenchmarkRun and in a Testbed config", () => {
        const host = { kind: "local", name: "h" };
        const r = BenchmarkRunArgsSchema.safeParse({
            pairs: [{ label: "a", client: { kind: "host", host }, server: { kind: "host", host, address: "127.0.0.1" } }],
            tests: [{ kind: "tcp", reverse: true, bidir: true }],
            resultsDir: "/tmp/x",
        });
        assert.ok(!r.success);
        assert.deepEqual(
            r.error.issues.map((i) => i.path.join(".")),
            ["tests.0.bidir"],
        );
        assert.throws(
            () =>
                parseStackConfig({
                    hosts: { a: { kind: "netns" } },
                    benchmark: {
                        tests: [{ kind: "tcp", reverse: true, bidir: true }],
                        pairs: [{ label: "x", client: { host: "a" }, server: { host: "a", address: "127.0.0.1" } }],
                    },
                }),
            /testbed:benchmark\.tests\.0\.bidir: bidir already runs both directions/,
        );
    });
    it("measure(): bidir metrics per direction, each size its own argv, flood's rate and loss; no reply fails the cell", async () => {
        const server = { address: "10.0.0.2" };
        const [bidir, rr, flood] = expandCells(
            specs({ kind: "tcp", bidir: true }, { kind: "rr", test: "TCP_RR", sizes: [64] }, { kind: "flood", size: 1400, rate: 1000, count: 500 }),
        );
        const b = runner(fx("iperf3-tcp-bidir.json"));
        const mb = await measure(bidir, server, GUEST_PORTS, settings, b.run);
        assert.ok(b.calls[0].includes("--bidir"));
        assert.equal(mb.metrics.gbpsForward, 3221573947.4159646 / 1e9);
        assert.equal(mb.metrics.gbpsReverse, 3074807573.7210855 / 1e9);
        assert.equal(mb.metrics.gbps, (3221573947.4159646 + 3074807573.7210855) / 1e9);
        assert.equal(mb.metrics.retransmits, 273);

        const n = runner(fx("netperf-tcp_rr.txt"));
        await measure(rr, server, GUEST_PORTS, settings, n.run);
        assert.equal(n.calls[0][n.calls[0].indexOf("-r") + 1], "64,64");

        const f = runner(fx("ping-flood.txt"));
        const mf = await measure(flood, server, GUEST_PORTS, settings, f.run);
        assert.deepEqual(f.calls[0], ["ping", "-f", "-q", "-c", "500", "-i", "0.001", "-s", "1400", "-w", "6", "10.0.0.2"]);
        assert.deepEqual(mf.metrics, { sentPps: (500 * 1000) / 806, lossPct: 0, avgms: 0.008, minms: 0.002, maxms: 0.15, mdevms: 0.011 });
        assert.equal(mf.volume?.transactions, 500);
        await assert.rejects(
            measure(flood, server, GUEST_PORTS, settings, runner(fx("ping-flood-unreachable.txt"), 1).run),
            /got no echo reply from 10\.0\.0\.2 \(12 sent, 12 errors\)/,
        );
    });
    it("the report has a row for each: TCP Bidirectional, every message size, flood round trip and loss", () => {
        const st = (median: number) => ({ n: 1, median, mean: median, stddev: 0, cv: 0, min: median, max: median, ci95: { low: median, high: median } });
        const cell = (id: string, dims: object, metrics: Record<string, number>) =>
            ({
                pair: "p",
                cell: id,
                status: "ok",
                dimensions: { topology: "host-guest", backend: "virtio", client: "a", server: "b", pinning: "none", security: "none", ...dims },
                metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, st(v)])),
            }) as any;
        const r = rows({
            cells: [
                cell("tcp-1-bidir", { test: "tcp", streams: 1, bidir: true }, { gbps: 3 }),
                cell("tcp_rr-1", { test: "rr", protocol: "TCP_RR", size: 1 }, { tps: 100 }),
                cell("tcp_rr-1024", { test: "rr", protocol: "TCP_RR", size: 1024 }, { tps: 90 }),
                cell("udp-max-64", { test: "udp", size: 64 }, { gbps: 0.1 }),
                cell("udp-max-1400", { test: "udp", size: 1400 }, { gbps: 1 }),
                cell("flood-1400-1000", { test: "flood", size: 1400, rate: 1000 }, { avgms: 0.008, lossPct: 0.5 }),
            ],
        });
        assert.deepEqual(
            r.throughput.map((x) => x.label),
            ["TCP Bidirectional", "UDP Maximum (64 B)", "UDP Maximum (1400 B)"],
        );
        assert.deepEqual(
            r.transactions.map((x) => x.label),
            ["TCP_RR (1 B)", "TCP_RR (1024 B)"],
        );
        assert.deepEqual(
            r.latency.map((x) => [x.label, x.metric, x.scale]),
            [
                ["Flood ping avg (1400 B at 1000/s)", "avgms", 1000],
                ["Flood ping loss, % (1400 B at 1000/s)", "lossPct", 1],
            ],
        );
    });
});
