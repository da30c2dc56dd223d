// Precision-driven repetitions: after every cell's minimum repetitions, more interleaved rounds only
// for the cells whose interval of the median (order statistics, stats.ts) is wider than the target,
// up to a cap. A cell stops on the width of its own interval alone, never on a comparison between
// pairs (no peeking at an A/B p-value). Pure.
import type { CellResult } from "./results";
import type { Cell, Precision, RunSettings, Step, TEST_KINDS } from "./spec";
import { median, medianInterval, orderStatisticCoverage } from "./stats";

/**
 * The metric whose interval decides a cell's precision: its headline (throughput, rate, P50 round
 * trip), one per cell. Tail percentiles and CPU costs would need far more repetitions and are not
 * what a cell is measured for; a load sweep is decided at its least-loaded rate.
 */
export const PRECISION_METRIC = {
    tcp: "gbps",
    udp: "gbps",
    pps: "pps",
    rr: "tps",
    latency: "p50us",
    icmp: "p50ms",
    flood: "avgms",
    load: "p50us@",
} as const satisfies Record<(typeof TEST_KINDS)[number], string>;

export function precisionMetric(cell: Pick<Cell, "spec">): string {
    const s = cell.spec;
    return s.kind === "load" ? `${PRECISION_METRIC.load}${s.mps[0]}` : PRECISION_METRIC[s.kind];
}

/** A cell's values of its precision metric, one per repetition that has it. */
export function precisionValues(cell: Pick<Cell, "spec">, reps: readonly { metrics: Record<string, number> }[]): number[] {
    const metric = precisionMetric(cell);
    return reps.map((r) => r.metrics[metric]).filter((x) => Number.isFinite(x));
}

/** The fewest values whose widest interval, [min, max], covers the median with at least `level`. */
export function repetitionsForLevel(level: number): number {
    let n = 1;
    while (orderStatisticCoverage(n, 1) < level) n++;
    return n;
}

/** Why a cell has the repetitions it has. */
export const STOP_REASONS = ["fixed", "precise", "cap", "failed"] as const;
export type StopReason = (typeof STOP_REASONS)[number];

export interface Reached {
    /** Half-width of the interval relative to the median, max(high - median, median - low) / |median|; null: no interval (n <= 3) or a median of 0. */
    relative: number | null;
    /** The interval's coverage for its n (at least the confidence asked where n allows). */
    level: number | null;
}

/** The precision a cell's values reach: the interval of their median at `confidence`, as +-relative. */
export function reached(values: readonly number[], confidence: number): Reached {
    const ci = values.length > 0 ? medianInterval(values, confidence) : null;
    if (!ci) return { relative: null, level: null };
    const m = median(values);
    const half = Math.max(ci.high - m, m - ci.low);
    if (half === 0) return { relative: 0, level: ci.level };
    return { relative: m === 0 ? null : half / Math.abs(m), level: ci.level };
}

/**
 * The level the rule judges a cell's interval at: half the miss rate of the confidence asked.
 * Stopping when an interval happens to be narrow keeps the intervals that miss more often: judged
 * at 95% itself, 95% intervals covered the true median in 94.9% of simulated cells where stopping
 * decides most (CV 10% for +-10%), short of the 96.1% or more that any of them states for its n;
 * judged at 97.5%, in 97.4% or more (test/unit/core/bench/precision.test.ts prints the coverage).
 */
export function decisionLevel(confidence: number): number {
    return 1 - (1 - confidence) / 2;
}

/** Whether the interval judged for `target` is as confident as the rule needs and no wider than the target. */
export function isPrecise(r: Reached, target: Pick<Precision, "relative" | "confidence">): boolean {
    return r.relative !== null && r.level !== null && r.level >= decisionLevel(target.confidence) && r.relative <= target.relative;
}

/** A cell's values of its precision metric so far, or undefined when the cell failed. */
export type ValuesOf = (pair: number, cell: Cell) => number[] | undefined;

/**
 * The steps of extra round `repetition` (0-based, at or past the minimum): every cell of every
 * pair that has not failed, is not precise and is below the cap, in the order of the first rounds
 * (cells, then pairs: A B A B). Empty when every cell is done.
 */
export function nextRound(pairs: number, cells: readonly Cell[], repetition: number, settings: RunSettings, valuesOf: ValuesOf): Step[] {
    const p = settings.precision;
    if (!p || repetition < settings.repetitions || repetition >= p.maxRepetitions) return [];
    const steps: Step[] = [];
    for (const cell of cells) {
        for (let pair = 0; pair < pairs; pair++) {
            const v = valuesOf(pair, cell);
            if (v !== undefined && !isPrecise(reached(v, decisionLevel(p.confidence)), p)) steps.push({ pair, cell, repetition, warmup: false });
        }
    }
    return steps;
}

/** The level a cell's precision is judged at: the rule's, or 95% for fixed repetitions (nothing stopped on it). */
export function judgedLevel(settings: Pick<RunSettings, "precision">): number {
    return settings.precision ? decisionLevel(settings.precision.confidence) : 0.95;
}

/** Why a finished cell stopped, and the precision its values reached. */
export function stopOf(
    cell: Pick<Cell, "spec">,
    values: readonly number[],
    failed: boolean,
    settings: Pick<RunSettings, "precision">,
): { reason: StopReason; metric: string; relative: number | null; level: number | null } {
    const r = reached(values, judgedLevel(settings));
    const p = settings.precision;
    const reason: StopReason = failed ? "failed" : !p ? "fixed" : isPrecise(r, p) ? "precise" : "cap";
    return { reason, metric: precisionMetric(cell), ...r };
}

/** Whether a finished cell's headline interval, from its recorded repetitions, meets `target` by the stopping rule (for any run, fixed or not). */
export function atTarget(c: CellResult, target: Pick<Precision, "relative" | "confidence">): boolean {
    if (c.status !== "ok" || !c.stop) return false;
    const metric = c.stop.metric;
    const values = c.repetitions.map((r) => r.metrics[metric]).filter((x) => Number.isFinite(x));
    return isPrecise(reached(values, decisionLevel(target.confidence)), target);
}
