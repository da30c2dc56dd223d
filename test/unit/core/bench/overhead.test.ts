// The matrix-overhead breakdown (pure).
import { strict as assert } from "node:assert";
import { overheadReport, warmupFloor } from "../../../../core/bench/overhead";

describe("matrix overhead breakdown", () => {
    it("splits wall time into measuring, warm-ups, tool start/stop, sampling, writes, servers, probe and the rest", () => {
        const step = (test: string, warmup: boolean, seconds: number) => ({ test, warmup, seconds, nominal: 2, cpuSampling: 0.01, fileWrites: 0.005 });
        const steps = [step("tcp", true, 2.4), step("tcp", false, 2.3), step("tcp", false, 2.2), step("rr", true, 2.1), step("rr", false, 2.1)];
        const r = overheadReport(13, steps, 0.5, 0.2);
        assert.equal(r.measuredSeconds, 6);
        assert.equal(r.seconds.warmups, 4);
        assert.ok(Math.abs(r.seconds.toolStartStop - 1.1) < 1e-9);
        assert.ok(Math.abs(r.seconds.cpuSampling - 0.05) < 1e-9);
        assert.ok(Math.abs(r.seconds.fileWrites - 0.025) < 1e-9);
        const total = Object.values(r.seconds).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(total - 13) < 1e-9, "the parts add up to the wall time");
        assert.ok(Math.abs(r.seconds.other - (13 - 6 - 4 - 1.1 - 0.05 - 0.025 - 0.5 - 0.2)) < 1e-9);
        assert.ok(Math.abs(r.ratio - 13 / 6) < 1e-9);
        assert.equal(r.toolStartStopByTest.tcp.steps, 3);
        assert.ok(Math.abs(r.toolStartStopByTest.tcp.meanSeconds - 0.3) < 1e-9);
        assert.ok(Math.abs(r.toolStartStopByTest.rr.meanSeconds - 0.1) < 1e-9);
    });

    it("gives the floor warm-ups set: 1 warm-up + 3 repetitions can never go below 4/3", () => {
        assert.ok(Math.abs(warmupFloor({ repetitions: 3, warmup: 1 }) - 4 / 3) < 1e-12);
        assert.equal(warmupFloor({ repetitions: 5, warmup: 0 }), 1);
    });
});
