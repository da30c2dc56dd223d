// netbed compare --holdout: calibrate --noise on two A/A runs, count what the calibrated and the
// default rule call on a third. Here on simulated runs with drift between runs equal to the
// within-run CV (the measurement itself needs three A/A runs of the local stack on a quiet machine).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { ResultsDoc } from "../../../../core/bench/results";
import { mulberry32 } from "../../../../core/bench/stats";
import { holdout, metricFamily } from "../../../../core/ab/holdout";
import { simulatedDoc } from "../../../helpers/simulated";

/** One A/A run: every (pair, cell) shifted by its own drift factor 1 + cv * N(0, 1), repetitions with CV cv around it. */
function driftedRun(seed: number, cv: number, started: string): ResultsDoc {
    const rnd = mulberry32(seed);
    const drift = new Map<string, number>();
    const factor = (pair: string, cell: string) => {
        const k = `${pair}/${cell}`;
        if (!drift.has(k)) drift.set(k, 1 + cv * Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd()));
        return drift.get(k)!;
    };
    const d = simulatedDoc(rnd, ["bare-metal", "virtio", "macvtap"], 8, cv, factor);
    d.run.started = started;
    return d;
}

describe("compare --holdout: held-out A/A false positives", function () {
    this.timeout(120_000);

    it("metric families", () => {
        assert.deepEqual(["gbps", "pps", "tps", "p50us", "p95ms", "p99us", "maxms", "cpuSecondsPerGbit", "lossPct", "retransmits"].map(metricFamily), [
            "throughput (gbps)",
            "packet rate (pps)",
            "transactions (tps)",
            "latency (P50-P95, avg, min)",
            "latency (P50-P95, avg, min)",
            "tail latency (P99, max)",
            "tail latency (P99, max)",
            "CPU cost",
            "loss, retransmits, jitter",
            "loss, retransmits, jitter",
        ]);
    });

    it("with drift equal to the within-run CV (10%), the default rule calls many unchanged metrics (Holm does not see drift between runs) and the calibrated thresholds fewer", () => {
        const triples = Number(process.env.NETBED_HOLDOUT_TRIPLES ?? 10);
        const cv = Number(process.env.NETBED_HOLDOUT_CV ?? 0.1);
        let def = 0;
        let cal = 0;
        let tests = 0;
        const gated = { default: 0, calibrated: 0, comparisons: 0 };
        for (let k = 0; k < triples; k++) {
            const runs = [1, 2, 3].map((i) => driftedRun(1000 * k + i, cv, `2026-12-0${i}T00:00:00.000Z`));
            // A few bootstrap resamples: the intervals play no part in what is called.
            const h = holdout(runs[0], runs[1], runs[2], { resamples: 100 });
            assert.equal(h.gated.comparisons, 2);
            def += h.total.calledDefault;
            cal += h.total.calledCalibrated;
            tests += h.total.tests;
            gated.default += h.gated.default;
            gated.calibrated += h.gated.calibrated;
            gated.comparisons += h.gated.comparisons;
        }
        console.log(
            `      CV ${cv}, ${triples} triples: called ${def}/${tests} (default), ${cal}/${tests} (calibrated); failing the gate ${gated.default}/${gated.comparisons} (default), ${gated.calibrated}/${gated.comparisons} (calibrated)`,
        );
        assert.ok(def / tests > 0.05, `default rule: ${def}/${tests}`);
        assert.ok(cal < def, `calibrated: ${cal}/${tests}, default ${def}/${tests}`);
    });

    it("the CLI prints the table for three documents", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "st17-holdout-"));
        try {
            const files = [1, 2, 3].map((i) => {
                const f = path.join(dir, `aa${i}.json`);
                fs.writeFileSync(f, JSON.stringify(driftedRun(i, 0.1, `2026-12-0${i}T00:00:00.000Z`)));
                return f;
            });
            const root = path.resolve(__dirname, "../../../..");
            const r = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(root, "scripts/compare.ts"), "--holdout", ...files], {
                cwd: root,
                encoding: "utf8",
                timeout: 60_000,
            });
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stdout, /\| throughput \(gbps\) \| 24 \| [\d.]+% \(\d+\/24\) \| [\d.]+% \(\d+\/24\) \|/);
            assert.match(r.stdout, /\| all \| 90 \|/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
