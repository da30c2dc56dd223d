// Host CPU per unit of work: CPU sampled around a tool's command, divided by the work that tool
// counted in the same command, on synthetic /proc/stat samples and counts whose answer is known.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { aggregate, type PairEnds, type RepRecord } from "../../../../core/bench/aggregate";
import { repetitionValues } from "../../../../core/ab/comparison";
import { cpuDelta } from "../../../../core/bench/cpu";
import { measure } from "../../../../core/bench/measure";
import { type Cell, RunSettingsSchema, expandCells } from "../../../../core/bench/spec";

const fx = (f: string) => fs.readFileSync(path.join(__dirname, "..", "..", "..", "fixtures", "tools", f), "utf8");
const pair: PairEnds = { label: "bare-metal", client: { kind: "host", host: { name: "a" } }, server: { kind: "host", host: { name: "b" } } };
const settings = RunSettingsSchema.parse({ duration: 2 });

/** /proc/stat with the aggregate line's user, system and idle ticks (100 per second). */
const stat = (user: number, system: number, idle: number) => `cpu  ${user} 0 ${system} ${idle} 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n`;

/** A repetition whose machine was busy `busyTicks` (user 60%, system 40%) between its two samples. */
function rep(index: number, busyTicks: number, m: Awaited<ReturnType<typeof measure>>): RepRecord {
    const before = new Map([["local", { stat: stat(10_000, 5_000, 90_000), pids: {} }]]);
    const after = new Map([["local", { stat: stat(10_000 + busyTicks * 0.6, 5_000 + busyTicks * 0.4, 90_300), pids: {} }]]);
    return {
        index,
        warmup: false,
        metrics: m.metrics,
        cpu: cpuDelta(before, after, new Map(), { vhost: new Map(), unmeasured: {} }),
        raw: `r${index}.txt`,
        seconds: 4,
        nominal: 2,
        volume: m.volume,
    };
}

/** measure() of one cell against a fake tool printing `stdout`. */
function measured(cell: Cell, stdout: string, lastTps?: number) {
    return measure(cell, { address: "10.0.0.1" }, { iperf3: 1, sockperf: 2, netserver: 3 }, settings, async () => ({ code: 0, stdout, stderr: "" }), lastTps);
}

describe("host CPU per unit of work over the window CPU was sampled over", () => {
    it("a counted TCP_CRR that took 4 s in a 2-s cell: 400 µs per transaction, not the 800 rate x duration gives", async () => {
        const [crr] = expandCells([{ kind: "rr", test: "TCP_CRR", size: 1 }]);
        // The warm-up measured 400 transactions/s: this repetition counts 800; the machine was slower
        // and netperf took 4 s (200/s). The command's CPU: 32 ticks = 0.32 CPU-seconds.
        const m = await measured(crr, "200.00,Trans/s,50.00,50.00,125.000,125.000,usec/Tran,120.00,51,900,4.00\n", 400);
        assert.equal(m.volume?.transactions, 800);
        const cell = aggregate(pair, "host-host", crr, [rep(0, 32, m), rep(1, 32, m)], "x", undefined);
        const near = (x: number, want: number) => Math.abs(x - want) < 1e-6;
        assert.equal(cell.serviceDemand?.unit, "us/tr");
        assert.ok(near(cell.serviceDemand.value, 400), String(cell.serviceDemand.value));
        const v = repetitionValues(cell, settings.duration);
        assert.ok([...v.get("hostCpuUsPerTransaction")!.values()].every((x) => near(x, 400)));
        // The formula this replaces, busy * 1e6 / (tps * duration), would say 800.
        assert.equal((0.32 * 1e6) / (m.metrics.tps * settings.duration), 800);
        assert.equal(v.get("cpuUsPerTr"), undefined, "the old name is not derived from a document that counts its work");
    });

    it("a timed TCP_RR counts the rate times netperf's own elapsed time", async () => {
        const [rr] = expandCells([{ kind: "rr", test: "TCP_RR", size: 1 }]);
        const m = await measured(rr, fx("netperf-tcp_rr-elapsed.txt"));
        assert.equal(m.volume?.transactions, 113149.65);
        const v = repetitionValues(aggregate(pair, "host-host", rr, [rep(0, 100, m)], "x", undefined), 2);
        assert.ok(Math.abs(v.get("hostCpuUsPerTransaction")!.get(0)! - 1e6 / 113149.65) < 1e-9);
    });

    it("a packet-rate cell: CPU per datagram delivered, not the time between datagrams", async () => {
        const [pps] = expandCells([{ kind: "pps", sizes: [64] }]);
        const m = await measured(pps, fx("iperf3-udp-64.json"));
        const packets = m.volume!.packets!;
        assert.ok(packets > 0);
        const cell = aggregate(pair, "host-host", pps, [rep(0, 150, m)], "x", undefined);
        assert.equal(cell.serviceDemand?.unit, "us/packet");
        assert.ok(Math.abs(cell.serviceDemand!.value - 1.5e6 / packets) < 1e-9);
        const per = repetitionValues(cell, 2).get("hostCpuUsPerPacket")!.get(0)!;
        assert.ok(Math.abs(per - 1.5e6 / packets) < 1e-9);
        assert.notEqual(Number(per.toFixed(3)), Number((1e6 / m.metrics.pps).toFixed(3)));
    });

    it("TCP: CPU-seconds per Gbit the receiver counted; a document without counted work keeps the old names", async () => {
        const [tcp] = expandCells([{ kind: "tcp", streams: 1, reverse: false }]);
        const m = await measured(tcp, fx("iperf3-tcp.json"));
        const cell = aggregate(pair, "host-host", tcp, [rep(0, 200, m)], "x", undefined);
        const gbit = (m.volume!.kb! * 1024 * 8) / 1e9;
        assert.ok(Math.abs(repetitionValues(cell, 2).get("hostCpuSecondsPerGbit")!.get(0)! - 2 / gbit) < 1e-12);
        const old = { ...cell, repetitions: cell.repetitions.map(({ volume: _v, ...r }) => r) };
        const legacy = repetitionValues(old, 2);
        assert.ok(Math.abs(legacy.get("cpuSecondsPerGbit")!.get(0)! - 2 / (m.metrics.gbps * 2)) < 1e-12);
        assert.equal(legacy.get("hostCpuSecondsPerGbit"), undefined, "an old and a new document never compare their CPU cost");
    });
});
