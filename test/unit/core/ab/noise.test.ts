// The noise model (core/ab/noise.ts): its draws have the stated median, spread, outliers and
// drift, and its results documents are shaped like the local stack's run.
import { strict as assert } from "node:assert";
import { repetitionValues } from "../../../../core/ab/comparison";
import { REALISTIC, driftPath, lognormal, repetitions, synthesizeRun } from "../../../../core/ab/noise";
import { ResultsDocSchema } from "../../../../core/bench/results";
import { median, mulberry32 } from "../../../../core/bench/stats";

const cvOf = (v: number[]) => {
    const m = v.reduce((s, x) => s + x, 0) / v.length;
    return Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1)) / m;
};

describe("noise model (core/ab/noise)", () => {
    it("lognormal noise has median 1 and the coefficient of variation asked for", () => {
        const rnd = mulberry32(1);
        for (const cv of [0.02, 0.1, 0.3]) {
            const v = Array.from({ length: 20000 }, () => lognormal(rnd, cv));
            assert.ok(Math.abs(median(v) - 1) < 0.01 * (1 + 10 * cv), `median ${median(v)} at CV ${cv}`);
            assert.ok(Math.abs(cvOf(v) / cv - 1) < 0.05, `CV ${cvOf(v)} for ${cv}`);
        }
    });

    it("bad repetitions are the stated share, in the metric's bad direction; drift stays within its bound", () => {
        const rnd = mulberry32(2);
        const flat = Array.from({ length: 20000 }, () => 1);
        const noise = { ...REALISTIC, cv: 0.001, drift: 0 };
        const slow = repetitions(rnd, 10, true, noise, flat).filter((x) => x < 6).length / 20000;
        const late = repetitions(rnd, 10, false, noise, flat).filter((x) => x > 16).length / 20000;
        assert.ok(Math.abs(slow - 0.05) < 0.006 && Math.abs(late - 0.05) < 0.006, `bad shares ${slow}, ${late}`);
        for (let i = 0; i < 200; i++) {
            const d = driftPath(rnd, 5, 0.05);
            assert.equal(d[0], 1);
            assert.ok(Math.abs(d[4] - 1) <= 0.05 && (d[1] - 1) * (d[4] - 1) >= 0, d.join(","));
        }
    });

    it("synthesizes a valid results document of the local stack's cells, interleaved, with the true effect", () => {
        const o = { seed: 3, repetitions: 6, cv: 0.001, noise: { bad: 0, badFactor: 2, drift: 0.05 } };
        const doc = synthesizeRun({
            ...o,
            pairs: [
                { label: "bare-metal", guest: false },
                { label: "g1", guest: true },
                { label: "g2", guest: true, effects: { gbps: 0.2 } },
            ],
        });
        assert.deepEqual(ResultsDocSchema.parse(doc), doc);
        assert.deepEqual(
            synthesizeRun({
                ...o,
                pairs: [
                    { label: "bare-metal", guest: false },
                    { label: "g1", guest: true },
                    { label: "g2", guest: true, effects: { gbps: 0.2 } },
                ],
            }),
            doc,
            "seeded",
        );
        const cells = (pair: string) => doc.cells.filter((c) => c.pair === pair);
        assert.equal(cells("g1").length, 12);
        assert.deepEqual(
            cells("g1").map((c) => c.cell),
            [
                "tcp-1",
                "tcp-8",
                "tcp-1-reverse",
                "udp-max-1400",
                "icmp-56",
                "latency-tcp-64",
                "pps-64",
                "pps-512",
                "pps-1300",
                "tcp_rr-1",
                "tcp_crr-1",
                "udp_rr-1",
            ],
        );
        const metrics = cells("g1").flatMap((c) => [...repetitionValues(c, 2).keys()]);
        // 60: CPU cost per unit of work is derived only where the work was counted, and TCP_CRR's without a count is not.
        assert.equal(metrics.length, 60, "the metrics compare tests per guest pair, CPU cost included");
        const gbps = (pair: string) => cells(pair)[0].repetitions.map((r) => r.metrics.gbps);
        assert.ok(Math.abs(median(gbps("g2")) / median(gbps("g1")) - 1.2) < 0.01, "the effect is the change of the median");
        // Both guests share the drift of each round: their ratio is flat while each drifts.
        const ratio = gbps("g2").map((x, i) => x / gbps("g1")[i]);
        assert.ok(Math.max(...ratio) - Math.min(...ratio) < 0.01, ratio.join(","));
    });
});
