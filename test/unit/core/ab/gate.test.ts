// The gate of `netbed compare` (core/ab/gate.ts) and the family-wise control under it: Holm's
// arithmetic by hand, each exit code from a comparison, and a seeded null simulation of two
// identical pairs interleaved in one run under realistic noise (the case a CI gate trusts).
import { strict as assert } from "node:assert";
import { type Comparison, compareDocs } from "../../../../core/ab/comparison";
import { EXIT_OK, EXIT_REGRESSION, EXIT_UNCALIBRATED, EXIT_UNDERPOWERED, gateOutcome } from "../../../../core/ab/gate";
import { holm } from "../../../../core/ab/multiplicity";
import { mulberry32 } from "../../../../core/bench/stats";
import { synthesizeRun } from "../../../../core/ab/noise";
import { simulatedDoc } from "../../../helpers/simulated";

/** A comparison with only what the gate reads set. */
function outcome(over: { regressions?: number; newlyFailed?: number; drift?: Comparison["drift"]; underpowered?: boolean }) {
    const c = {
        settings: { alpha: 0.01, family: { procedure: "holm", controls: "family-wise error rate", size: 61 } },
        counts: { regressions: over.regressions ?? 0, newlyFailed: over.newlyFailed ?? 0, underpowered: over.underpowered ? 61 : 0, tests: 61 },
        power: { callable: over.underpowered ? 0 : 61, underpowered: over.underpowered ?? false, repetitionsNeeded: 8 },
        drift: over.drift ?? "same run",
    } as unknown as Comparison;
    return (allowUnderpowered?: boolean) => gateOutcome(c, { allowUnderpowered });
}

describe("the gate: family-wise error control and exit codes", function () {
    this.timeout(120_000);

    it("Holm's adjusted p-values on a hand example", () => {
        // Sorted 0.001, 0.01, 0.02, 0.04 (m 4): 4 x 0.001 = 0.004, 3 x 0.01 = 0.03, 2 x 0.02 = 0.04, 1 x 0.04 = 0.04 (running maximum).
        assert.deepEqual(
            holm([0.02, 0.001, 0.04, 0.01]).map((x) => +x.toFixed(6)),
            [0.04, 0.004, 0.04, 0.03],
        );
        // The running maximum: a later step never has a smaller adjusted p; capped at 1.
        assert.deepEqual(holm([0.03, 0.031, 0.5]), [0.09, 0.09, 0.5]);
        assert.deepEqual(holm([0.6, 0.7]), [1, 1]);
    });

    it("exit codes: 3 trusted regression or newly failed cell, 4 uncalibrated, 5 underpowered unless allowed, and a regression beats underpowered", () => {
        assert.equal(outcome({})().code, EXIT_OK);
        assert.equal(outcome({ regressions: 1 })().code, EXIT_REGRESSION);
        assert.equal(outcome({ regressions: 1, drift: "calibrated" })().code, EXIT_REGRESSION);
        assert.equal(outcome({ regressions: 1, drift: "uncalibrated" })().code, EXIT_UNCALIBRATED);
        assert.equal(outcome({ regressions: 1, newlyFailed: 1, drift: "uncalibrated" })().code, EXIT_REGRESSION);
        const weak = outcome({ underpowered: true });
        assert.equal(weak().code, EXIT_UNDERPOWERED);
        assert.match(
            weak().reason,
            /none of the 61 metric tests can reach p <= 0.00016 \(alpha 0.01 \/ 61, Holm's first step\).*at least 8 repetitions per side/,
        );
        assert.equal(weak(true).code, EXIT_OK);
        assert.match(weak(true).reason, /underpowered, allowed/);
        assert.equal(outcome({ underpowered: true, newlyFailed: 1 })().code, EXIT_REGRESSION);
    });

    it("a planted 20% throughput loss at CV 2% across 10 repetitions is still called over the whole matrix", () => {
        const doc = simulatedDoc(mulberry32(4), ["virtio", "macvtap"], 10, 0.02, (pair, cell) => (pair === "macvtap" && /^tcp-/.test(cell) ? 0.8 : 1));
        const c = compareDocs(doc, doc, { pairA: "virtio", pairB: "macvtap" });
        assert.equal(c.settings.family.size, 15);
        const called = c.cells.filter((x) => x.metrics.some((m) => m.verdict === "regression")).map((x) => x.cell);
        assert.deepEqual(called, ["tcp-1", "tcp-8", "tcp-1-rev"]);
        assert.ok(c.cells.flatMap((x) => x.metrics).every((m) => m.pAdjusted >= m.pValue));
        assert.equal(gateOutcome(c).code, EXIT_REGRESSION);
    });

    it("two identical pairs interleaved in one run (8 repetitions, CV 2-30%, outliers, drift): exit 3 no more often than alpha allows", () => {
        const trials = Number(process.env.NETBED_GATE_TRIALS ?? 200);
        let failed = 0;
        let tests = 0;
        for (let t = 0; t < trials; t++) {
            const doc = synthesizeRun({
                seed: 31_000 + t,
                repetitions: 8,
                pairs: [
                    { label: "virtio", guest: true },
                    { label: "macvtap", guest: true },
                ],
                cv: [0.02, 0.3],
            });
            const c = compareDocs(doc, doc, { pairA: "virtio", pairB: "macvtap", resamples: 50 });
            tests = c.settings.family.size;
            if (gateOutcome(c).code === EXIT_REGRESSION) failed++;
        }
        console.log(`      interleaved A/A, 8 repetitions, ${tests} metric tests: exit 3 in ${failed} of ${trials}`);
        // The 99th percentile of the count at a true rate of 1% (200 trials: 6; more has probability under 0.5%).
        assert.ok(failed <= Math.ceil(0.01 * trials + 2.33 * Math.sqrt(0.01 * 0.99 * trials)), `exit 3 in ${failed} of ${trials} null comparisons`);
    });
});
