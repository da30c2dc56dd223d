// The report's ranking rule (core/ab/rank.ts) under the null: every pair drawn from one
// distribution, the local stack's matrix, 5 repetitions. It must name a best backend (a default or
// a category winner) in at most 1% of trials; and it must still name one where a real difference
// is there.
import { strict as assert } from "node:assert";
import type { CellResult } from "../../../../core/bench/results";
import { mulberry32 } from "../../../../core/bench/stats";
import { benjaminiHochberg } from "../../../../core/ab/multiplicity";
import { reportView } from "../../../../core/report/view";
import { voltMarkdown } from "../../../../core/report/volt";
import { synthesizeRun } from "../../../../core/ab/noise";
import { simulatedDoc } from "../../../helpers/simulated";

/** Trials (of `trials`) in which the ranking names a default or a category winner. */
function namedBest(trials: number, cvLow: number, cvHigh: number, pairs: string[], seed: number, reps = 5): number {
    const rnd = mulberry32(seed);
    let named = 0;
    for (let t = 0; t < trials; t++) {
        const cv = cvLow + (cvHigh - cvLow) * rnd();
        const r = reportView(simulatedDoc(rnd, pairs, reps, cv)).ranking;
        if (r.best || Object.keys(r.categoryBest).length > 0) named++;
    }
    return named;
}

/** Any between-guest label of the report: a significant row, a leader, a better/worse, a default or category winner. */
const LABEL = /(?<!not )significant, adjusted p| leads |significantly (better|worse) on |Default: `|-bound workloads: `/;

describe("report labels: multiplicity-controlled over every row test of the report", function () {
    this.timeout(120_000);

    it("Benjamini-Hochberg's adjusted p-values on a hand example", () => {
        // Sorted p 0.01, 0.02, 0.03, 0.5 (m 4): m p / rank = 0.04, 0.04, 0.04, 0.5; the running minimum from the top.
        assert.deepEqual(
            benjaminiHochberg([0.03, 0.5, 0.01, 0.02]).map((x) => +x.toFixed(6)),
            [0.04, 0.5, 0.04, 0.04],
        );
        assert.deepEqual(benjaminiHochberg([0.04, 0.2]), [0.08, 0.2]);
    });

    it("identical guests (2 and 3, 5 and 8 repetitions, CV 2-30%, outliers, drift): a between-guest label in at most 5% of reports", () => {
        // Every label of the report (a significant row, a leader, better/worse, a default) comes from
        // an outcome's `better`; the markdown is checked on a few reports that the two agree.
        const trials = Number(process.env.NETBED_LABEL_TRIALS ?? 100);
        for (const pairs of [
            ["bare-metal", "virtio", "macvtap"],
            ["bare-metal", "virtio", "vhost-net", "macvtap"],
        ]) {
            for (const reps of [5, 8]) {
                let labelled = 0;
                for (let t = 0; t < trials; t++) {
                    const doc = synthesizeRun({
                        seed: 26_000 + 100 * t + reps,
                        repetitions: reps,
                        pairs: pairs.map((label) => ({ label, guest: label !== "bare-metal" })),
                        cv: [0.02, 0.3],
                    });
                    const called = reportView(doc).ranking.outcomes.some((o) => o.better);
                    if (called) labelled++;
                    if (t < 5 || called) assert.equal(LABEL.test(voltMarkdown(doc)), called, "the markdown's labels are the outcomes'");
                }
                console.log(`      ${pairs.length - 1} guests, ${reps} repetitions: a label in ${labelled} of ${trials} null reports`);
                // Not above 5%: the count stays within the 99th percentile of Binomial(trials, 0.05).
                const bound = Math.ceil(0.05 * trials + 2.33 * Math.sqrt(0.05 * 0.95 * trials));
                assert.ok(labelled <= bound, `${pairs.length - 1} guests, ${reps} repetitions: a label in ${labelled} of ${trials} null reports`);
            }
        }
    });

    it("the labels still see a real difference: a 20% packet-rate advantage at CV 5% with 8 repetitions is labelled", () => {
        const doc = simulatedDoc(mulberry32(8), ["bare-metal", "virtio", "macvtap"], 8, 0.05, (pair, cell) =>
            pair === "macvtap" && /^pps/.test(cell) ? 1.2 : 1,
        );
        const md = voltMarkdown(doc);
        assert.match(md, /macvtap: [\d.]+k pps \(\d+\.\d% higher than virtio; significant, adjusted p [\d.e-]+\)/);
        assert.match(md, /adjusted by Benjamini-Hochberg over all \d+ row × guest-pair tests of this report \(false discovery rate q = 0\.04\)/);
    });
});

describe("report ranking: only significant differences rank", function () {
    this.timeout(120_000);

    it("under the null (same distribution for every pair, 1000 trials, 5 repetitions, CV 2-30%) names a best backend in at most 1% of trials", () => {
        // The local stack's two guests, and three, with more pairs to be fooled by.
        for (const pairs of [
            ["bare-metal", "virtio", "macvtap"],
            ["bare-metal", "virtio", "vhost-net", "macvtap"],
        ]) {
            const n = namedBest(1000, 0.02, 0.3, pairs, 17);
            console.log(`      ${pairs.length - 1} guests: a best backend named in ${n} of 1000 null trials`);
            assert.ok(n <= 10, `${pairs.length - 1} guests: named a best backend in ${n} of 1000 null trials`);
        }
    });

    it("identical repetitions: no leader, no recommendation, the report says so plainly", () => {
        const doc = simulatedDoc(mulberry32(3), ["bare-metal", "virtio"], 5, 0.05);
        const twin = JSON.parse(JSON.stringify(doc.cells.filter((c) => c.pair === "virtio"))) as CellResult[];
        for (const c of twin)
            Object.assign(c, {
                pair: "macvtap",
                dimensions: { ...c.dimensions, backend: "macvtap", server: "macvtap" },
                rawDir: c.rawDir.replace("virtio", "macvtap"),
            });
        doc.cells.push(...twin);
        const r = reportView(doc).ranking;
        assert.equal(r.best, undefined);
        assert.deepEqual(r.categoryBest, {});
        assert.equal(r.tiers.length, 1, "one tier: virtio and macvtap tied");
        const md = voltMarkdown(doc);
        assert.match(md, /No recommendation: no backend is significantly better than another on any metric/);
        assert.doesNotMatch(md, /Default: |-bound workloads: `|leads \d+ of/);
        assert.match(md, /\*\*virtio\*\*, \*\*macvtap\*\* \(tied: neither beats the other\)/);
        assert.match(md, /virtio: no significant difference from another guest/);
    });

    it("a real 30% throughput and packet-rate advantage at CV 2% is named, as the default and per category", () => {
        const doc = simulatedDoc(mulberry32(5), ["bare-metal", "virtio", "macvtap"], 5, 0.02, (pair, cell) =>
            pair === "macvtap" && /^(tcp|udp|pps)/.test(cell) ? 1.3 : 1,
        );
        const r = reportView(doc).ranking;
        assert.equal(r.best?.pair, "macvtap");
        assert.equal(r.categoryBest.throughput?.pair, "macvtap");
        assert.equal(r.categoryBest.pps?.pair, "macvtap");
        assert.equal(r.categoryBest.latency, undefined);
        assert.match(voltMarkdown(doc), /Default: `macvtap`/);
    });

    it("a guest better in one category and worse in another is no default", () => {
        const doc = simulatedDoc(mulberry32(7), ["virtio", "macvtap"], 5, 0.02, (pair, cell) =>
            pair === "macvtap" ? (/^(tcp|udp)/.test(cell) ? 1.3 : /^pps/.test(cell) ? 0.7 : 1) : 1,
        );
        const r = reportView(doc).ranking;
        assert.equal(r.best, undefined);
        assert.equal(r.categoryBest.throughput?.pair, "macvtap");
        assert.equal(r.categoryBest.pps?.pair, "virtio");
        assert.match(voltMarkdown(doc), /No default: no backend beats every other/);
    });
});
