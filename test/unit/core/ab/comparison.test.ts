// A/B comparison on synthetic results whose answer is known: no difference (false positives stay
// within alpha), a 10% shift (detected and labelled by direction), high variance (not called, and an
// interval wide enough to say so), pairing within one interleaved run, cells on one side only or
// failed.
import { strict as assert } from "node:assert";
import { metricDirection, rankTest, repetitionsNeeded } from "../../../../core/ab/abtest";
import { compareDocs, noiseThresholds } from "../../../../core/ab/comparison";
import { renderMarkdown } from "../../../../core/report/compare";
import { type CellSpec, doc, normals, sample } from "../../../helpers/results";

describe("A/B comparison (core/ab/comparison)", () => {
    it("labels metrics by the unit in their name", () => {
        for (const m of ["gbps", "pps", "tps"]) assert.equal(metricDirection(m), "higher", m);
        for (const m of [
            "p50us",
            "p99us@20000",
            "p99ms",
            "minms",
            "jitterMs",
            "avgus",
            "lossPct",
            "retransmits",
            "localSdUsPerTr",
            "cpuSecondsPerGbit",
            "cpuUsPerTr",
            "cpuBusySeconds",
        ]) {
            assert.equal(metricDirection(m), "lower", m);
        }
        assert.equal(metricDirection("frobs"), "unknown");
    });

    it("exact rank-test p-values match hand counts", () => {
        // 3 vs 3 fully separated: 2 of the C(6,3) = 20 splits are as extreme (it and its mirror).
        assert.equal(rankTest([1, 2, 3], [4, 5, 6]).pValue, 2 / 20);
        assert.equal(rankTest([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]).pValue, 2 / 252);
        // Identical groups: every split is at least as extreme as no shift at all.
        assert.equal(rankTest([1, 2, 3], [1, 2, 3]).pValue, 1);
        assert.equal(repetitionsNeeded(0.01, false), 5);
        assert.equal(repetitionsNeeded(0.01, true), 8);
    });

    it("the seeded Monte Carlo test agrees with exact enumeration and is reproducible", () => {
        const rnd = normals(7);
        const a = sample(rnd, 7, 100, 0.05);
        const b = sample(rnd, 7, 104, 0.05);
        const exact = rankTest(a, b);
        const mc = rankTest(a, b, { exactLimit: 0, permutations: 20000, seed: 3 });
        assert.equal(exact.method, "exact");
        assert.equal(mc.method, "monte-carlo");
        assert.ok(Math.abs(exact.pValue - mc.pValue) < 0.01, `exact ${exact.pValue} vs Monte Carlo ${mc.pValue}`);
        assert.deepEqual(rankTest(a, b, { exactLimit: 0, seed: 3 }), mc);
    });

    it("no difference: over 200 seeded comparisons, significance stays within alpha and nothing is called", () => {
        const rnd = normals(11);
        const cellsA: CellSpec[] = [];
        const cellsB: CellSpec[] = [];
        for (let i = 0; i < 200; i++) {
            cellsA.push({ cell: `c${i}`, metrics: { gbps: sample(rnd, 8, 10, 0.03) } });
            cellsB.push({ cell: `c${i}`, metrics: { gbps: sample(rnd, 8, 10, 0.03) } });
        }
        const c = compareDocs(doc("a", "2026-01-01T00:00:00Z", cellsA, 8), doc("b", "2026-01-02T00:00:00Z", cellsB, 8));
        const ms = c.cells.flatMap((x) => x.metrics);
        assert.equal(ms.length, 200);
        const significant = ms.filter((m) => m.pValue <= 0.01).length;
        // The exact test has type I error <= alpha: 2 expected of 200; P(>= 8 | Binomial(200, 0.01)) < 0.001.
        assert.ok(significant <= 7, `${significant} of 200 raw p <= 0.01 with no difference`);
        assert.ok(
            ms.every((m) => !m.significant && m.pAdjusted >= m.pValue),
            "Holm's adjusted p is never below the raw one",
        );
        assert.equal(c.counts.regressions + c.counts.improvements, 0);
        // 200 tests at family-wise 0.01: Holm's first step needs p <= 0.00005, and 8 vs 8 repetitions give at least 2/12870.
        assert.equal(c.settings.family.size, 200);
        assert.equal(c.verdict, "underpowered");
        assert.deepEqual(c.power, { callable: 0, underpowered: true, repetitionsNeeded: 9 });
        // Enumerated (12870 splits) unless a 1000-draw screen put p above 0.1, where no decision can use it.
        assert.ok(ms.every((m) => (m.method === "exact" ? m.arrangements === 12870 : m.arrangements === 1000 && m.pValue > 0.1)));
        assert.ok(ms.some((m) => m.method === "exact") && ms.some((m) => m.method === "monte-carlo"));
    });

    it("no difference: the Monte Carlo test keeps its false-positive rate too", () => {
        const rnd = normals(12);
        let monteCarlo = 0;
        for (let i = 0; i < 200; i++) {
            // 12 vs 12: C(24, 12) = 2.7 million splits, so 20000 seeded random ones.
            const t = rankTest(sample(rnd, 12, 10, 0.03), sample(rnd, 12, 10, 0.03), { seed: i });
            assert.equal(t.method, "monte-carlo");
            if (t.pValue <= 0.01) monteCarlo++;
        }
        assert.ok(monteCarlo <= 7, `${monteCarlo}/200 Monte Carlo comparisons significant with no difference`);
    });

    it("a 10% shift is detected, labelled by direction, with an interval around it", () => {
        const rnd = normals(5);
        const A: CellSpec[] = [];
        const B: CellSpec[] = [];
        for (let i = 0; i < 50; i++) {
            A.push({ cell: `c${i}`, metrics: { gbps: sample(rnd, 10, 10, 0.02), p99us: sample(rnd, 10, 100, 0.02), tps: sample(rnd, 10, 5000, 0.02) } });
            // Throughput and latency both 10% worse; transactions 10% better.
            B.push({ cell: `c${i}`, metrics: { gbps: sample(rnd, 10, 9, 0.02), p99us: sample(rnd, 10, 110, 0.02), tps: sample(rnd, 10, 5500, 0.02) } });
        }
        // 150 tests: at family-wise 0.01 Holm's first step needs p <= 0.000067, which 10 vs 10 repetitions reach (2/184756).
        const c = compareDocs(doc("a", "2026-01-01T00:00:00Z", A, 10), doc("b", "2026-01-02T00:00:00Z", B, 10));
        const by = (m: string) => c.cells.map((x) => x.metrics.find((y) => y.metric === m)!);
        const detected = (m: string, v: string) => by(m).filter((x) => x.verdict === v).length;
        assert.ok(detected("gbps", "regression") >= 48, `gbps regressions: ${detected("gbps", "regression")}/50`);
        assert.ok(detected("p99us", "regression") >= 48, `p99us regressions: ${detected("p99us", "regression")}/50`);
        assert.ok(detected("tps", "improvement") >= 48, `tps improvements: ${detected("tps", "improvement")}/50`);
        assert.equal(by("gbps").filter((x) => x.verdict === "improvement").length, 0);
        const g = by("gbps");
        const covers = g.filter((x) => x.ci!.low <= -0.1 && -0.1 <= x.ci!.high).length;
        assert.ok(covers >= 45, `99% intervals cover the true -10% in ${covers}/50`);
        assert.ok(
            g.every((x) => x.ci!.high < 0),
            "every interval excludes no change",
        );
        assert.ok(g.every((x) => !x.noisy && !/noisy/.test(x.reason)));
        assert.equal(c.verdict, "regression");
        const md = renderMarkdown(c);
        assert.match(md, /\*\*Verdict: REGRESSION \(separate runs, drift not calibrated: may be drift\)\*\*/);
        assert.match(
            md,
            /\| virtio c0 \| gbps \| higher \| [\d.]+ \| [\d.]+ \| -\d+\.\d% \| -\d+\.\d% \.\. -\d+\.\d% \| [\d.e-]+ \| [\d.e-]+ \| unpaired exact, n 10\/10 \| \*\*REGRESSION\*\* \|/,
        );
    });

    it("drift between runs: an A/A pair sets per-metric thresholds that keep it from being called, and a real change still is", () => {
        const rnd = normals(11);
        // Every run of one configuration lands at its own level (the machine moved between runs),
        // while its repetitions vary by 1%: the drift is "significant" to a test on repetitions.
        const run = (level: number, slowCell: number) =>
            Array.from({ length: 10 }, (_, i) => ({
                cell: `c${i}`,
                metrics: { gbps: sample(rnd, 10, 10 * level * (i === 3 ? slowCell : 1), 0.01), p50us: sample(rnd, 10, 50, 0.01) },
            }));
        const aa1 = doc("a", "2026-01-01T00:00:00Z", run(1.0, 1), 10);
        const aa2 = doc("a", "2026-01-02T00:00:00Z", run(1.08, 1), 10);
        const noise = noiseThresholds(compareDocs(aa1, aa2), 0.05);
        assert.ok(noise.gbps > 0.06 && noise.gbps < 0.11, `gbps threshold from the A/A: ${noise.gbps}`);
        assert.equal(noise.p50us, undefined, "a metric the A/A kept within 5% keeps the default");
        // A against B: the same 7% drift down everywhere, and a real 25% loss in c3.
        const A = doc("a", "2026-01-03T00:00:00Z", run(1.0, 1), 10);
        const B = doc("b", "2026-01-04T00:00:00Z", run(0.93, 0.75), 10);
        const plain = compareDocs(A, B);
        assert.ok(plain.counts.regressions >= 8, `without calibration the drift is called: ${plain.counts.regressions}`);
        const calibrated = compareDocs(A, B, { thresholds: noise });
        const called = calibrated.cells.filter((c) => c.metrics.some((m) => m.verdict === "regression")).map((c) => c.cell);
        assert.deepEqual(called, ["c3"]);
        assert.match(renderMarkdown(calibrated), /gbps \d+\.\d%/);
    });

    it("high variance with a 10% shift: rarely called, and the interval says how little is known", () => {
        const rnd = normals(9);
        const A: CellSpec[] = [];
        const B: CellSpec[] = [];
        for (let i = 0; i < 100; i++) {
            A.push({ cell: `c${i}`, metrics: { gbps: sample(rnd, 5, 10, 0.3) } });
            B.push({ cell: `c${i}`, metrics: { gbps: sample(rnd, 5, 9, 0.3) } });
        }
        const c = compareDocs(doc("a", "2026-01-01T00:00:00Z", A), doc("b", "2026-01-02T00:00:00Z", B));
        const ms = c.cells.map((x) => x.metrics[0]);
        const called = ms.filter((m) => m.verdict === "regression" || m.verdict === "improvement");
        assert.ok(called.length <= 5, `${called.length}/100 called at CV 30%`);
        assert.equal(ms.filter((m) => m.verdict === "improvement").length, 0, "never called the wrong way");
        // The few that separate by chance overstate the change (winner's curse: -35% for a true -10%
        // here), so every call carries the noise flag instead of a confident size or sign.
        assert.ok(called.every((m) => m.noisy && /noisy \(CV \d+% \/ \d+%\): neither the size nor the sign is reliable/.test(m.reason)));
        const noisy = ms.filter((m) => m.noisy).length;
        assert.ok(noisy >= 90, `${noisy}/100 flagged noisy (a sample of 5 at CV 30% rarely shows a CV under 10%)`);
        const widths = ms.map((m) => m.ci!.high - m.ci!.low).sort((x, y) => x - y);
        assert.ok(widths[50] > 0.4, `median interval width ${widths[50]} should be wide at CV 30%`);
        // Where an interval is computed, it covers the true change most of the time.
        const covers = ms.filter((m) => m.ci!.low <= -0.1 && -0.1 <= m.ci!.high).length;
        assert.ok(covers >= 90, `intervals cover the true -10% in ${covers}/100`);
    });

    it("pairs repetitions on request (paired: always), which removes a shared drift; auto stays unpaired", () => {
        // Two pairs of one run; the machine's speed drifts by repetition (shared by both pairs),
        // pair B is 8% slower. Unpaired, the drift hides it; paired, it is plain.
        const rnd = normals(21);
        const drift = Array.from({ length: 10 }, (_, i) => 1 + 0.25 * Math.sin(i));
        const virtio = drift.map((d) => 10 * d * (1 + 0.005 * rnd()));
        const vhost = drift.map((d) => 9.2 * d * (1 + 0.005 * rnd()));
        const one = doc(
            "run",
            "2026-01-01T00:00:00Z",
            [
                { pair: "virtio", cell: "tcp-1", metrics: { gbps: virtio } },
                { pair: "vhost", cell: "tcp-1", metrics: { gbps: vhost } },
            ],
            10,
        );
        const auto = compareDocs(one, one, { pairA: "virtio", pairB: "vhost" }).cells[0];
        assert.equal(auto.paired, false);
        assert.match(auto.pairedWhy!, /cost more power/);
        const paired = compareDocs(one, one, { pairA: "virtio", pairB: "vhost", paired: "always" });
        assert.equal(paired.cells.length, 1);
        assert.equal(paired.cells[0].paired, true);
        assert.match(paired.cells[0].pairedWhy!, /same run/);
        const m = paired.cells[0].metrics[0];
        assert.equal(m.test, "paired signed-rank");
        assert.equal(m.pValue, 2 / 1024);
        assert.equal(m.verdict, "regression");
        const unpaired = compareDocs(one, one, { pairA: "virtio", pairB: "vhost", paired: "never" }).cells[0];
        assert.equal(unpaired.paired, false);
        assert.equal(unpaired.metrics[0].test, "two-sample rank (Brunner-Munzel, permutation)");
        assert.equal(unpaired.metrics[0].verdict, "no change", `p ${unpaired.metrics[0].pValue}`);
        // Two separate runs are not paired by default (their rep i share nothing) but can be forced.
        const other = { ...one, run: { ...one.run, started: "2026-01-02T00:00:00Z" } };
        assert.equal(compareDocs(one, other, { pairA: "virtio", pairB: "vhost" }).cells[0].paired, false);
        assert.equal(compareDocs(one, other, { pairA: "virtio", pairB: "vhost", paired: "always" }).cells[0].paired, true);
        // Different repetition indices (a repetition missing on one side) cannot be paired.
        const gap = doc(
            "run",
            "2026-01-01T00:00:00Z",
            [
                { pair: "virtio", cell: "tcp-1", metrics: { gbps: virtio } },
                { pair: "vhost", cell: "tcp-1", metrics: { gbps: vhost.slice(0, 9) }, indices: [0, 1, 2, 3, 4, 5, 6, 7, 9] },
            ],
            10,
        );
        const g = compareDocs(gap, gap, { pairA: "virtio", pairB: "vhost", paired: "always" }).cells[0];
        assert.equal(g.paired, false);
        assert.match(g.pairedWhy!, /same repetition indices/);
        assert.equal(g.metrics[0].nB, 9);
        // Six repetitions, paired on request: the signed-rank test cannot reach 0.01 (smallest p 2/64).
        const six = doc(
            "run",
            "2026-01-01T00:00:00Z",
            [
                { pair: "virtio", cell: "tcp-1", metrics: { gbps: virtio.slice(0, 6) } },
                { pair: "vhost", cell: "tcp-1", metrics: { gbps: vhost.slice(0, 6) } },
            ],
            6,
        );
        assert.equal(compareDocs(six, six, { pairA: "virtio", pairB: "vhost", paired: "always" }).cells[0].metrics[0].verdict, "underpowered");
    });

    it("reports cells on one side only, failed cells, and what differs; a cell failing only in B gates", () => {
        const rnd = normals(3);
        const v = () => sample(rnd, 5, 10, 0.01);
        const A = doc("a", "2026-01-01T00:00:00Z", [
            { cell: "tcp-1", metrics: { gbps: v() } },
            { cell: "udp-max-1400", test: "udp", metrics: { gbps: v() } },
            { cell: "pps-64", test: "pps", metrics: { pps: v() } },
            { cell: "icmp-56", test: "icmp", metrics: {}, status: "failed" },
        ]);
        const B = doc("b", "2026-01-02T00:00:00Z", [
            { cell: "tcp-1", metrics: { gbps: v() }, kernel: "bzImage-6.6" },
            { cell: "udp-max-1400", test: "udp", metrics: {}, status: "failed" },
            { cell: "icmp-56", test: "icmp", metrics: { p50ms: v() } },
            { cell: "tcp_rr-1", test: "rr", metrics: { tps: v() } },
            { cell: "udp_rr-1", test: "rr", metrics: {}, status: "failed" },
        ]);
        const c = compareDocs(A, B);
        const st = Object.fromEntries(c.cells.map((x) => [x.cell, x]));
        assert.equal(st["tcp-1"].status, "compared");
        assert.deepEqual(st["tcp-1"].differences, [{ dimension: "kernel", a: "bzImage", b: "bzImage-6.6" }]);
        assert.equal(st["pps-64"].status, "only in A");
        assert.equal(st["tcp_rr-1"].status, "only in B");
        assert.equal(st["udp-max-1400"].status, "failed");
        assert.deepEqual(st["udp-max-1400"].failed, [{ side: "B", error: "iperf3: connection refused" }]);
        assert.deepEqual(
            st["icmp-56"].failed!.map((f) => f.side),
            ["A"],
        );
        assert.deepEqual(
            { onlyA: c.counts.onlyA, onlyB: c.counts.onlyB, failed: c.counts.failed, newlyFailed: c.counts.newlyFailed, regressions: c.counts.regressions },
            { onlyA: 1, onlyB: 2, failed: 2, newlyFailed: 1, regressions: 0 },
        );
        assert.equal(c.verdict, "regression", "a cell that worked in A and fails in B fails the gate");
        const md = renderMarkdown(c);
        assert.match(md, /virtio udp-max-1400: failed in B: iperf3: connection refused/);
        assert.match(md, /\*\*REGRESSION\*\* virtio udp-max-1400: worked in A, failed in B: iperf3: connection refused/);
        assert.match(md, /virtio pps-64: only in A/);
        assert.match(md, /virtio tcp_rr-1: only in B\n/);
        assert.match(md, /virtio udp_rr-1: only in B \(failed there: B: iperf3: connection refused\)/);
        assert.match(md, /kernel "bzImage" → "bzImage-6.6": virtio tcp-1/);
        // Without the newly failed cell the gate passes.
        const fixed = { ...B, cells: B.cells.filter((x) => x.cell !== "udp-max-1400") };
        assert.equal(compareDocs(A, fixed).verdict, "ok");
    });

    it("too few repetitions are reported as underpowered, never as no change", () => {
        const A = doc("a", "2026-01-01T00:00:00Z", [{ cell: "tcp-1", metrics: { gbps: [10, 10.1, 9.9] } }], 3);
        const B = doc("b", "2026-01-02T00:00:00Z", [{ cell: "tcp-1", metrics: { gbps: [5, 5.1, 4.9] } }], 3);
        const c = compareDocs(A, B);
        const m = c.cells[0].metrics[0];
        assert.equal(m.verdict, "underpowered");
        assert.equal(m.minPValue, 0.1);
        assert.match(m.reason, /needs 5 per side/);
        assert.equal(c.verdict, "underpowered", "a comparison that could not have seen a regression is not ok");
        assert.match(renderMarkdown(c), /underpowered \(1 metric\(s\)\): 3 vs 3 repetitions cannot reach p <= 0.01/);
        // At alpha 0.1 the same data are a called regression.
        assert.equal(compareDocs(A, B, { alpha: 0.1 }).cells[0].metrics[0].verdict, "regression");
    });

    it("a move away from a zero median is called without a relative change; thresholds are per metric", () => {
        const rnd = normals(13);
        const A = doc(
            "a",
            "2026-01-01T00:00:00Z",
            [{ cell: "udp-max-1400", test: "udp", metrics: { lossPct: Array(8).fill(0), gbps: sample(rnd, 8, 10, 0.01), jitterMs: sample(rnd, 8, 1, 0.01) } }],
            8,
        );
        const B = doc(
            "b",
            "2026-01-02T00:00:00Z",
            [
                {
                    cell: "udp-max-1400",
                    test: "udp",
                    metrics: { lossPct: [4, 5, 6, 5, 4, 5, 6, 4], gbps: sample(rnd, 8, 9.2, 0.01), jitterMs: sample(rnd, 8, 1.08, 0.01) },
                },
            ],
            8,
        );
        const c = compareDocs(A, B, { thresholds: { "jitter*": 0.1 } });
        const m = Object.fromEntries(c.cells[0].metrics.map((x) => [x.metric, x]));
        assert.equal(m.lossPct.change, null);
        assert.equal(m.lossPct.ci, null);
        assert.equal(m.lossPct.verdict, "regression");
        assert.equal(m.gbps.verdict, "regression", "8% drop with the default 5% threshold");
        assert.equal(m.jitterMs.threshold, 0.1);
        assert.equal(m.jitterMs.significant, true);
        assert.equal(m.jitterMs.verdict, "no change", "8% rise under its own 10% threshold");
    });

    it("derives CPU cost per Gbit from each repetition's CPU accounting (not raw CPU-seconds)", () => {
        const mk = (name: string, gbps: number[], busy: number[]) => {
            const d = doc(name, `2026-01-0${name === "a" ? 1 : 2}T00:00:00Z`, [{ cell: "tcp-1", metrics: { gbps } }]);
            d.cells[0].repetitions.forEach((r, i) => {
                r.cpu = {
                    machines: { local: { user: 0, system: busy[i], softirq: 0, irq: 0, guest: 0, busy: busy[i], idle: 0 } },
                    vmm: {},
                    vhost: {},
                    vmExitsPerSecond: null,
                };
            });
            return d;
        };
        // B moves 20% more data for 20% more CPU: the same cost per Gbit, so no CPU regression.
        // Two metrics at family-wise 0.01 need p <= 0.005: 6 vs 6 repetitions reach 2/924.
        const a = mk("a", [10, 10.1, 9.9, 10, 10.05, 9.95], [2, 2.02, 1.98, 2, 2.01, 1.99]);
        const b = mk("b", [12, 12.1, 11.9, 12, 12.05, 11.95], [2.4, 2.42, 2.38, 2.4, 2.41, 2.39]);
        const m = Object.fromEntries(compareDocs(a, b).cells[0].metrics.map((x) => [x.metric, x]));
        assert.equal(m.gbps.verdict, "improvement");
        assert.ok(Math.abs(m.cpuSecondsPerGbit.medianA - 2 / (10 * 2)) < 1e-9, "busy / (gbps x duration)");
        assert.equal(m.cpuSecondsPerGbit.verdict, "no change");
        assert.equal(m.cpuSecondsPerGbit.direction, "lower");
    });

    it("the same inputs and seed give the same comparison", () => {
        const rnd = normals(17);
        const A = doc("a", "2026-01-01T00:00:00Z", [{ cell: "tcp-1", metrics: { gbps: sample(rnd, 6, 10, 0.05) } }]);
        const B = doc("b", "2026-01-02T00:00:00Z", [{ cell: "tcp-1", metrics: { gbps: sample(rnd, 6, 9.5, 0.05) } }]);
        assert.deepEqual(compareDocs(A, B), compareDocs(A, B));
        const other = compareDocs(A, B, { seed: 99 }).cells[0].metrics[0];
        const base = compareDocs(A, B).cells[0].metrics[0];
        assert.equal(other.pValue, base.pValue, "the exact test does not depend on the seed");
        assert.notDeepEqual(other.ci, base.ci, "the bootstrap does");
        assert.throws(() => compareDocs(A, B, { pairA: "nope", pairB: "virtio" }), /A \(a\) has no pair 'nope'; its pairs: virtio/);
    });
});
