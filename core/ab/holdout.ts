// How well `--noise` calibration holds on a run it has not seen: three A/A runs of one
// configuration; thresholds from the first two (noiseThresholds), then each of those against the
// third, where every called change is a false positive. Per metric family, the fraction of metrics
// called, with the calibrated thresholds and with the default rule, each by compare's verdicts
// (Holm over the comparison's family); and how many of the two held-out comparisons would have
// failed the gate (its markdown is core/report/compare.ts). Pure.
import type { ResultsDoc } from "../bench/results";
import { type CompareOptions, type Comparison, compareDocs, noiseThresholds } from "./comparison";
import { EXIT_REGRESSION, EXIT_UNCALIBRATED, gateOutcome } from "./gate";

/** The family a metric belongs to, for the false-positive table. */
export function metricFamily(metric: string): string {
    const m = metric.replace(/@[\d.]+$/, "");
    if (/gbps$/i.test(m)) return "throughput (gbps)";
    if (/pps$/i.test(m)) return "packet rate (pps)";
    if (/tps$/i.test(m)) return "transactions (tps)";
    if (/^p\d+(us|ms)$/.test(m) || /^(avg|min|max)(us|ms)$/.test(m)) return /^p99|^max/.test(m) ? "tail latency (P99, max)" : "latency (P50-P95, avg, min)";
    if (/^cpu|Cpu|PerGbit$|PerTr$/.test(m)) return "CPU cost";
    if (/^loss|^retransmits|jitter/i.test(m)) return "loss, retransmits, jitter";
    return "other";
}

interface FamilyRate {
    family: string;
    /** Metric tests over both held-out comparisons (underpowered ones excluded). */
    tests: number;
    calledCalibrated: number;
    calledDefault: number;
}

export interface Holdout {
    thresholds: Record<string, number>;
    families: FamilyRate[];
    total: FamilyRate;
    /** Held-out comparisons (2) that would fail the gate with a regression (exit 3, or 4 for the uncalibrated default rule). */
    gated: { comparisons: number; calibrated: number; default: number };
}

const fails = (c: Comparison) => [EXIT_REGRESSION, EXIT_UNCALIBRATED].includes(gateOutcome(c).code);

const called = (c: Comparison) => c.cells.flatMap((x) => x.metrics).filter((m) => m.verdict !== "underpowered");

export function holdout(calib1: ResultsDoc, calib2: ResultsDoc, held: ResultsDoc, opts: CompareOptions = {}): Holdout {
    const base = opts.threshold ?? 0.05;
    const thresholds = noiseThresholds(compareDocs(calib1, calib2, { ...opts, thresholds: {} }), base);
    const rates = new Map<string, FamilyRate>();
    const total: FamilyRate = { family: "all", tests: 0, calledCalibrated: 0, calledDefault: 0 };
    const gated = { comparisons: 0, calibrated: 0, default: 0 };
    for (const side of [calib1, calib2]) {
        const calC = compareDocs(side, held, { ...opts, thresholds, noiseCalibrated: true });
        const defC = compareDocs(side, held, { ...opts, thresholds: {} });
        gated.comparisons++;
        if (fails(calC)) gated.calibrated++;
        if (fails(defC)) gated.default++;
        const cal = called(calC);
        const def = called(defC);
        for (const [k, m] of cal.entries()) {
            const f = metricFamily(m.metric);
            const r = rates.get(f) ?? { family: f, tests: 0, calledCalibrated: 0, calledDefault: 0 };
            const isCalled = (v: string) => v !== "no change";
            for (const x of [r, total]) {
                x.tests++;
                if (isCalled(m.verdict)) x.calledCalibrated++;
                if (isCalled(def[k].verdict)) x.calledDefault++;
            }
            rates.set(f, r);
        }
    }
    return { thresholds, families: [...rates.values()].sort((a, b) => a.family.localeCompare(b.family)), total, gated };
}
