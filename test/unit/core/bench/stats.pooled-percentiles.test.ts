// ICMP percentiles over every echo of every repetition pooled, with their sample count and the
// order-statistic interval of any quantile: checked against exact binomial sums and in simulation
// against a known ground truth with lognormal noise, outliers and drift between repetitions.
import { strict as assert } from "node:assert";
import { aggregate, type PairEnds, type RepRecord } from "../../../../core/bench/aggregate";
import { ResultsDocSchema, summarizeResults } from "../../../../core/bench/results";
import { expandCells } from "../../../../core/bench/spec";
import { median, mulberry32, percentile, pooledQuantileInterval, quantileInterval, samplesNeeded } from "../../../../core/bench/stats";

const rnd = mulberry32(2026);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const lognormal = (cv: number) => {
    const s = Math.sqrt(Math.log(1 + cv * cv));
    return Math.exp(s * gauss() - (s * s) / 2);
};
/** One echo: 0.4 ms, lognormal CV 30%, 2% of echoes 4x slower (a scheduling hiccup). */
const echo = (scale: number) => 0.4 * scale * lognormal(0.3) * (rnd() < 0.02 ? 4 : 1);

/** A run's echoes: `reps` repetitions of `count`, each repetition's scale drifting by up to `drift` and varying by `repCv`. */
function run(reps: number, count: number, repCv: number, drift: number): number[][] {
    return Array.from({ length: reps }, (_, r) => {
        const f = lognormal(repCv) * (1 + (drift * r) / Math.max(1, reps - 1));
        return Array.from({ length: count }, () => echo(f));
    });
}

/** The true q-quantile of one echo of such a run: from half a million echoes. */
function truth(q: number, repCv: number, drift: number): number {
    return percentile(
        Array.from({ length: 2500 }, () => run(5, 40, repCv, drift)).flatMap((x) => x.flat()),
        q * 100,
    );
}

const pair: PairEnds = { label: "bare-metal", client: { kind: "host", host: { name: "a" } }, server: { kind: "host", host: { name: "b" } } };
const [icmp] = expandCells([{ kind: "icmp", count: 40, interval: 0.01, size: 56 }]);

function records(echoes: number[][]): RepRecord[] {
    return echoes.map((rtt, index) => ({
        index,
        warmup: false,
        metrics: { p50ms: percentile(rtt, 50), p95ms: percentile(rtt, 95), p99ms: percentile(rtt, 99), lossPct: 0 },
        raw: `r${index}.txt`,
        seconds: 0.4,
        nominal: 0.4,
        rttMs: rtt,
    }));
}

describe("pooled percentiles (order statistics of any quantile)", () => {
    it("the interval's level is the binomial mass on its ranks, and the samples a percentile needs", () => {
        const v = Array.from({ length: 200 }, (_, i) => i + 1);
        const ci = quantileInterval(v, 0.99);
        // P99 of 200: even [min, max] covers only 1 - 0.99^200 - 0.01^200 = 86.6%, so the top end is open.
        assert.equal(ci.high, null);
        assert.ok(ci.low !== null && ci.low < 198);
        // The level is P(l <= Binomial(200, 0.99) <= 200) for l = ci.low, summed by hand.
        let mass = 0;
        let lnC = 0;
        for (let i = 200; i >= ci.low!; i--) {
            if (i < 200) lnC += Math.log(i + 1) - Math.log(200 - i);
            mass += Math.exp(lnC + i * Math.log(0.99) + (200 - i) * Math.log(0.01));
        }
        assert.ok(Math.abs(ci.level - mass) < 1e-12, `${ci.level} vs ${mass}`);
        assert.ok(ci.level >= 0.95);
        // The median of 20: the same coverage as the symmetric median interval's (95.86%) or more.
        const m = quantileInterval(
            Array.from({ length: 20 }, (_, i) => i + 1),
            0.5,
        );
        assert.ok(m.level >= 0.95 && m.low! >= 5 && m.high! <= 16, JSON.stringify(m));
        assert.deepEqual([0.5, 0.95, 0.99].map(samplesNeeded), [2, 20, 100]);
    });

    it("covers the true quantile at the level it states (independent echoes, lognormal with outliers)", () => {
        for (const [q, n] of [
            [0.5, 200],
            [0.95, 200],
            [0.99, 200],
            [0.99, 1000],
        ] as const) {
            const t = truth(q, 0, 0);
            let hit = 0;
            let level = 0;
            const trials = 1500;
            for (let k = 0; k < trials; k++) {
                const ci = quantileInterval(
                    Array.from({ length: n }, () => echo(1)),
                    q,
                );
                if ((ci.low === null || ci.low <= t) && (ci.high === null || t <= ci.high)) hit++;
                level += ci.level / trials;
            }
            // Within 3 standard errors of the stated level.
            const se = Math.sqrt((level * (1 - level)) / trials);
            assert.ok(Math.abs(hit / trials - level) < 3 * se + 0.005, `q ${q} n ${n}: covered ${hit / trials}, stated ${level}`);
        }
    });

    it("pooled over repetitions that differ (CV 10-20%) and drift (5%), the interval still covers at the level it states", () => {
        for (const [repCv, q] of [
            [0.1, 0.5],
            [0.2, 0.5],
            [0.1, 0.95],
            [0.1, 0.99],
        ] as const) {
            const t = truth(q, repCv, 0.05);
            let hit = 0;
            let level = 0;
            let plain = 0;
            const trials = 600;
            for (let k = 0; k < trials; k++) {
                const e = run(5, 40, repCv, 0.05);
                const ci = pooledQuantileInterval(e, q);
                if ((ci.low === null || ci.low <= t) && (ci.high === null || t <= ci.high)) hit++;
                level += ci.level / trials;
                const p = quantileInterval(e.flat(), q);
                if ((p.low === null || p.low <= t) && (p.high === null || t <= p.high)) plain++;
            }
            const se = Math.sqrt((level * (1 - level)) / trials);
            assert.ok(hit / trials >= level - 3 * se, `CV ${repCv} q ${q}: covered ${hit / trials}, stated ${level}`);
            if (q === 0.5) assert.ok(plain / trials < 0.9, `the independent-sample interval covers only ${plain / trials} here`);
        }
        // Repetitions that agree: the independent-sample interval, or not much wider.
        const same = run(5, 40, 0, 0);
        assert.ok(pooledQuantileInterval(same, 0.5).designEffect < 3);
    });

    it("pooled echoes find a true P99 the median of per-repetition P99s misses (5 x 40 echoes, drift 5%, repetitions CV 5%)", () => {
        const t = truth(0.99, 0.05, 0.05);
        const pooled: number[] = [];
        const perRep: number[] = [];
        for (let k = 0; k < 400; k++) {
            const e = run(5, 40, 0.05, 0.05);
            pooled.push(percentile(e.flat(), 99));
            perRep.push(median(e.map((x) => percentile(x, 99))));
        }
        const err = (v: number[]) => median(v) / t - 1;
        assert.ok(err(perRep) < -0.25, `the median of per-repetition P99s is ${(err(perRep) * 100).toFixed(0)}% off`);
        assert.ok(Math.abs(err(pooled)) < 0.2, `pooled P99 is ${(err(pooled) * 100).toFixed(0)}% off`);
        assert.ok(Math.abs(err(pooled)) < Math.abs(err(perRep)) / 2);
    });

    it("a cell pools its repetitions' echoes, with the count beside each percentile; too few for a P99 is labelled", () => {
        const echoes = run(5, 40, 0, 0);
        const cell = aggregate(pair, "host-host", icmp, records(echoes), "x", undefined);
        const p99 = cell.pooled!.p99ms;
        assert.equal(p99.n, 200);
        assert.equal(p99.value, percentile(echoes.flat(), 99));
        assert.equal(p99.sufficient, true);
        assert.equal(p99.needed, 100);
        // The per-repetition metric stays for the A/B tests (a repetition is their unit).
        assert.equal(cell.metrics.p99ms.median, median(echoes.map((x) => percentile(x, 99))));
        const one = aggregate(pair, "host-host", icmp, records(echoes.slice(0, 1)), "x", undefined);
        assert.deepEqual(
            ["p50ms", "p95ms", "p99ms"].map((m) => [one.pooled![m].n, one.pooled![m].sufficient]),
            [
                [40, true],
                [40, true],
                [40, false],
            ],
        );
        const doc = {
            version: 3,
            run: {
                name: "t",
                started: "2026-12-07T00:00:00.000Z",
                finished: "2026-12-07T00:00:01.000Z",
                wallSeconds: 1,
                measuredSeconds: 1,
                resultsDir: "/tmp",
                settings: { duration: 1, repetitions: 1, warmup: 0 },
                order: "interleaved",
            },
            environment: { machines: {}, guests: {} },
            cells: [one],
            warnings: [],
        };
        const parsed = ResultsDocSchema.parse(JSON.parse(JSON.stringify(doc)));
        assert.equal(parsed.cells[0].pooled!.p99ms.sufficient, false);
        // The headline summary never shows a P99 of 40 echoes.
        assert.deepEqual(Object.keys(summarizeResults(parsed)["bare-metal"]).sort(), ["icmpP50ms"]);
    });

    it("without every repetition's echoes (a record from an older netbed) the cell pools nothing", () => {
        const recs = records(run(3, 40, 0, 0));
        delete recs[1].rttMs;
        assert.equal(aggregate(pair, "host-host", icmp, recs, "x", undefined).pooled, undefined);
    });
});
