// The statistics against hand-computed values.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { knee, medianInterval, mulberry32, orderStatisticCoverage, percentile, summarize } from "../../../../core/bench/stats";
import { cpuSeconds, processCpuSeconds } from "../../../../core/procstat";
import { ResultsDocSchema } from "../../../../core/bench/results";

describe("benchmark statistics (hand-computed)", () => {
    it("percentiles interpolate linearly between ranks", () => {
        // [1,2,3,4,100]: rank for p90 = 0.9*4 = 3.6 -> 4 + 0.6*(100-4) = 61.6
        assert.ok(Math.abs(percentile([100, 1, 3, 2, 4], 90) - 61.6) < 1e-9);
        assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
        assert.equal(percentile([7], 99), 7);
    });
    it("summary: median, sample stddev, CV, min/max", () => {
        const s = summarize([1, 2, 3, 4, 100]);
        assert.equal(s.median, 3);
        assert.equal(s.mean, 22);
        // deviations -21 -20 -19 -18 78: squares 441+400+361+324+6084 = 7610; /4 = 1902.5
        assert.ok(Math.abs(s.stddev - Math.sqrt(1902.5)) < 1e-12);
        assert.ok(Math.abs(s.cv - Math.sqrt(1902.5) / 22) < 1e-12);
        assert.equal(s.min, 1);
        assert.equal(s.max, 100);
        assert.equal(summarize([5]).stddev, 0);
    });
    it("interval of the median: order statistics at the coverage n allows, none for n <= 3", () => {
        // [min, max] covers the median with 1 - 2 * 0.5^n: 75% at 3 (too little: no interval), 87.5% at 4, 93.75% at 5.
        assert.equal(summarize([5]).ci, null);
        assert.equal(summarize([1, 2, 3]).ci, null);
        assert.deepEqual(summarize([4, 1, 3, 2]).ci, { low: 1, high: 4, level: 0.875 });
        assert.deepEqual(summarize([1, 2, 3, 4, 100]).ci, { low: 1, high: 100, level: 0.9375 });
        // n = 9: [x(2), x(8)] covers 1 - 2 * 10/512 = 96.1%; [x(3), x(7)] only 82%.
        const nine = [9, 8, 7, 6, 5, 4, 3, 2, 1];
        assert.deepEqual(medianInterval(nine), { low: 2, high: 8, level: 1 - 20 / 512 });
        // n = 20: x(6)..x(15), coverage 95.86% (scipy.stats.binom.cdf(5, 20, 0.5) = 0.020695).
        const ci = medianInterval(Array.from({ length: 20 }, (_, i) => i + 1))!;
        assert.deepEqual([ci.low, ci.high], [6, 15]);
        assert.ok(Math.abs(ci.level - (1 - 2 * 0.020695)) < 1e-5);
        assert.equal(orderStatisticCoverage(2, 1), 0.5);
    });
    it("a version 1 document is read as the current version: its bootstrap ci95 replaced by the order-statistic interval of its repetitions", () => {
        const raw = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "fixtures", "compare", "loopback-a.json"), "utf8"));
        assert.equal(raw.version, 1);
        const doc = ResultsDocSchema.parse(raw);
        assert.equal(doc.version, 3);
        const c = doc.cells[0];
        const values = c.repetitions.map((r) => r.metrics.gbps);
        assert.equal(values.length, 10);
        assert.deepEqual(c.metrics.gbps.ci, medianInterval(values));
        assert.ok(!("ci95" in c.metrics.gbps));
        // n = 10: [x(2), x(9)], 97.85%.
        assert.equal(c.metrics.gbps.ci!.level, 1 - 22 / 1024);
    });
    it("the order-statistic interval's coverage holds in simulation (n = 5 and 12, skewed data)", () => {
        const rnd = mulberry32(17);
        for (const n of [5, 12]) {
            let hit = 0;
            let level = 0;
            for (let t = 0; t < 4000; t++) {
                // Exponential(1): median ln 2.
                const ci = medianInterval(Array.from({ length: n }, () => -Math.log(1 - rnd())))!;
                level = ci.level;
                if (ci.low <= Math.LN2 && Math.LN2 <= ci.high) hit++;
            }
            assert.ok(Math.abs(hit / 4000 - level) < 0.015, `n ${n}: covered ${hit / 4000}, claimed ${level}`);
        }
    });
    it("knee: the highest load before P99 passes factor x unloaded", () => {
        const steps = [
            { load: 100, p99: 10 },
            { load: 1000, p99: 15 },
            { load: 5000, p99: 19 },
            { load: 10000, p99: 25 },
            { load: 20000, p99: 12 },
        ];
        assert.equal(knee(steps, 2), 5000);
        assert.equal(knee(steps, 3), 20000);
    });
    it("CPU-seconds from /proc/stat (guest split out of user) and a process's utime+stime", () => {
        const before = "cpu  100 10 50 1000 5 1 2 0 20 0\ncpu0 1 1 1 1 1 1 1 1 1 1\n";
        const after = "cpu  300 10 90 1500 5 3 12 0 120 0\n";
        const c = cpuSeconds(before, after);
        // user 200 ticks incl. 100 guest -> user 1.0 s, guest 1.0 s; system 0.4; irq 0.02; softirq 0.1
        assert.equal(c.user, 1);
        assert.equal(c.guest, 1);
        assert.equal(c.system, 0.4);
        assert.equal(c.softirq, 0.1);
        assert.equal(c.busy, 2 + 0.4 + 0.02 + 0.1);
        const p = (u: number, s: number) => `4242 (qemu (x) y) S 1 2 3 4 5 6 7 8 9 10 ${u} ${s} 0 0`;
        assert.equal(processCpuSeconds(p(100, 50), p(350, 80)), 2.8);
    });
});
