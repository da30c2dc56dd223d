// The provider trace's arithmetic (core/provtrace.ts), on hand-made events.
import { strict as assert } from "node:assert";
import { procStatCpu } from "../../../core/procstat";
import { maxOverlap, parseTrace, summarizeTrace, unionMs } from "../../../core/provtrace";

describe("provider trace summary (pure)", () => {
    it("counts overlapping time once and finds the most intervals open at once", () => {
        assert.equal(unionMs([]), 0);
        assert.equal(
            unionMs([
                [0, 10],
                [5, 15],
                [20, 30],
                [30, 31],
                [40, 40],
            ]),
            26,
        );
        assert.equal(
            maxOverlap([
                [0, 10],
                [5, 15],
                [9, 20],
                [10, 12],
            ]),
            3,
        );
        // One ends where the next begins: never both open.
        assert.equal(
            maxOverlap([
                [0, 10],
                [10, 20],
            ]),
            1,
        );
    });

    it("splits an operation's wall time into plugin start, provider calls, spawns and the engine's own time", () => {
        const lines = [
            { ev: "start", pid: 7, t0: 1200, t1: 1900 },
            { ev: "call", pid: 7, op: "check", urn: "u1", t0: 2000, t1: 2010, ok: true },
            { ev: "call", pid: 7, op: "create", urn: "u1", t0: 2100, t1: 2600, ok: true },
            { ev: "call", pid: 7, op: "create", urn: "u2", t0: 2400, t1: 3000, ok: false },
            { ev: "spawn", pid: 7, argv: ["ip", "-n", "ns", "-json", "-force", "-batch", "-"], stdinLines: 6, t0: 2150, t1: 2250 },
            { ev: "spawn", pid: 7, argv: ["ip", "netns", "exec", "ns", "sh", "-c", "x"], stdinLines: 0, t0: 2200, t1: 2300 },
            { ev: "spawn", pid: 7, argv: ["setpriv", "--pdeathsig", "TERM", "--", "iperf3", "-s"], stdinLines: 0, t0: 2500, t1: 2550 },
            // Before the operation: not part of it.
            { ev: "call", pid: 6, op: "create", urn: "u0", t0: 10, t1: 20, ok: true },
        ];
        const s = summarizeTrace(parseTrace(`${lines.map((l) => JSON.stringify(l)).join("\n")}\n`), 1000, 4000);
        assert.equal(s.wallMs, 3000);
        assert.equal(s.pluginSpawnMs, 200);
        assert.equal(s.pluginReadyMs, 900);
        assert.equal(s.beforeFirstCallMs, 1000);
        assert.equal(s.afterLastCallMs, 1000);
        assert.deepEqual(s.ops.create, { count: 2, sumMs: 1100, busyMs: 900, maxMs: 600, maxInFlight: 2 });
        assert.equal(s.ops.check.count, 1);
        assert.equal(s.providerBusyMs, 910);
        assert.equal(s.engineOnlyMs, 2090);
        assert.equal(s.spawns, 3);
        assert.equal(s.spawnBusyMs, 200);
        assert.equal(s.ipBatches, 1);
        assert.equal(s.ipBatchLines, 3);
        assert.deepEqual(s.spawnsByCommand, { "ip -batch": 1, sh: 1, iperf3: 1 });
    });

    it("reads a process's CPU time and its children's from /proc/<pid>/stat, whatever its name holds", () => {
        // utime 250, stime 50, cutime 1000, cstime 300 ticks at 100 per second
        const stat = "4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 1000 300 20 0 11 0 123 456 789";
        assert.deepEqual(procStatCpu(stat), { selfMs: 3000, childrenMs: 13000 });
        assert.deepEqual(procStatCpu(stat, 1000), { selfMs: 300, childrenMs: 1300 });
        assert.throws(() => procStatCpu("4242 (cat) R 1"), /not a \/proc\/<pid>\/stat line/);
    });

    it("says which trace line is not JSON", () => {
        assert.throws(() => parseTrace('{"ev":"start","pid":1,"t0":0,"t1":1}\n{"ev":"ca'), /line 2 is not JSON/);
    });
});
