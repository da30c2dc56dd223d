// A/B comparison of two results documents: per matched cell and metric, the relative change of the
// median with a bootstrap confidence interval and a permutation-test p-value on the per-repetition
// values. A change is called only when it is significant AND larger than a noise threshold
// (Firecracker's A/B rule). Pure: documents in, a comparison (and its markdown) out.
//
// Matching: a cell of A and a cell of B are the same cell when their key is equal. The key is
//   pair label + cell id + the test-defining dimensions (test, size, streams, reverse, protocol)
// (the cell id already encodes the test parameters; the dimensions guard against ids reused by
// another netbed version). Everything else (topology, backend, client, server, vmm, accel,
// kernel, vcpus, memoryMiB, pinning, security, load) is what an A/B typically changes, so it is not
// a key: a difference is listed on the matched cell ("backend virtio -> vhost-net") so the reader
// sees what changed. With `pairA`/`pairB` (one pair of each side, e.g. virtio vs vhost-net in one
// run) the pair label leaves the key.
//
// Pairing: rep i of pair X and rep i of pair Y of ONE run were measured back to back (BenchmarkRun
// interleaves pairs within each repetition round), so they share the machine's drift and a paired
// sign-flip test removes it. Two separate runs were each interleaved internally but not with each
// other: their rep i are minutes or days apart and share nothing, so pairing them would only cost
// power (2^n sign flips instead of C(2n, n) splits). Hence paired = "auto": both sides from the same
// run (same name and start time), the same repetition indices, and enough repetitions for the paired
// test to reach alpha (2/2^n <= alpha: 8 at 0.01; with fewer, the unpaired test, which can reach
// 0.01 from 5, is the better choice); "always" pairs whenever the indices match; "never" does not pair.
//
// Test statistic: the difference of the means of the per-repetition values. The permutation test is
// exact for any statistic; the mean is used because with the few repetitions a benchmark has, the
// median of a permuted group ties with many other arrangements at the extremes (5 vs 5 fully
// separated samples do not give the smallest possible p with the median), which costs power. The
// effect reported is the change of the MEDIAN, with its bootstrap interval.
//
// alpha defaults to 0.01: one comparison runs a test per cell and metric (a Volt matrix over three
// pairs is ~150 tests), so at 0.05 about 7 would be "significant" by chance alone; the 5% threshold
// removes most of those, 0.01 removes most of the rest. 0.01 is reachable with the default 5
// repetitions in two separate runs (smallest exact p for 5 vs 5 is 2/252 = 0.0079); a comparison
// that cannot reach alpha whatever the data (e.g. 3 vs 3: smallest p 0.1) is reported as
// "underpowered" with the repetitions it would need, never as "no change".
import type { CellResult, ResultsDoc } from "../bench/results";
import { median, mulberry32, percentile } from "../bench/stats";

export type Direction = "higher" | "lower" | "unknown";
export type Verdict = "regression" | "improvement" | "change" | "no change" | "underpowered";

export interface CompareOptions {
    /** Significance level of the permutation test (default 0.01). */
    alpha?: number;
    /** Noise threshold on |relative change of the median| (default 0.05 = 5%). */
    threshold?: number;
    /** Per-metric thresholds: a metric name, or a prefix ending in '*' ("p99us*"); the longest match wins. */
    thresholds?: Record<string, number>;
    paired?: "auto" | "always" | "never";
    /** Seed of the bootstrap and Monte Carlo permutations: the same inputs always give the same output. */
    seed?: number;
    /** Bootstrap resamples for the interval (default 4000). */
    resamples?: number;
    /** Enumerate every arrangement when there are at most this many (default 200000: 10 vs 10 splits, 17 sign flips), else Monte Carlo. */
    exactLimit?: number;
    /** Random arrangements of the Monte Carlo test (default 20000). */
    permutations?: number;
    /** Compare only this pair of A with only pairB of B (the pair label leaves the match key). */
    pairA?: string;
    pairB?: string;
    /** The thresholds were raised from an A/A of separate runs (`--noise`): drift between runs is accounted for. */
    noiseCalibrated?: boolean;
}

export interface MetricComparison {
    metric: string;
    direction: Direction;
    nA: number;
    nB: number;
    medianA: number;
    medianB: number;
    /** Coefficient of variation of each side's repetitions. */
    cvA: number;
    cvB: number;
    /**
     * Either side varies by more than 10% (BenchmarkRun's own warning level): a called change is then
     * real in direction but its size is uncertain: a few noisy repetitions that happen to separate
     * overstate the change (the winner's curse), and the bootstrap of a median of ~5 values is narrow.
     */
    noisy: boolean;
    /** medianB / medianA - 1; null when A's median is 0 (no relative change exists). */
    change: number | null;
    /** Bootstrap percentile interval of `change` at level 1 - alpha; null with `change`. */
    ci: { low: number; high: number } | null;
    pValue: number;
    /** The smallest p-value these sample sizes can give (above alpha: the comparison is underpowered). */
    minPValue: number;
    test: "paired sign-flip" | "two-sample permutation";
    method: "exact" | "monte-carlo";
    /** Arrangements enumerated or drawn. */
    arrangements: number;
    threshold: number;
    significant: boolean;
    verdict: Verdict;
    /** Why the verdict, in a few words. */
    reason: string;
}

export interface CellComparison {
    pairA: string;
    pairB: string;
    cell: string;
    status: "compared" | "only in A" | "only in B" | "failed";
    /** Which side(s) failed, with the recorded error. */
    failed?: { side: "A" | "B"; error: string }[];
    paired?: boolean;
    pairedWhy?: string;
    /** Non-key dimensions that differ between A and B (what the A/B changed). */
    differences: { dimension: string; a: unknown; b: unknown }[];
    metrics: MetricComparison[];
    metricsOnlyA: string[];
    metricsOnlyB: string[];
}

export interface RunInfo {
    name: string;
    started: string;
    repetitions: number;
    duration: number;
    source?: string;
}

/** Version of the comparison's JSON (`netbed compare --json`), for tools that gate on it. */
export const COMPARISON_VERSION = 1;

export interface Comparison {
    version: typeof COMPARISON_VERSION;
    a: RunInfo;
    b: RunInfo;
    settings: { alpha: number; threshold: number; thresholds: Record<string, number>; paired: "auto" | "always" | "never"; seed: number; ciLevel: number };
    cells: CellComparison[];
    counts: { compared: number; tests: number; regressions: number; improvements: number; changes: number; underpowered: number; onlyA: number; onlyB: number; failed: number; newlyFailed: number };
    /** "regression" when any metric regressed significantly or a cell that worked in A failed in B. */
    verdict: "regression" | "ok";
    /**
     * Whether drift between the two sides is accounted for: "same run" (pairs interleaved in one run
     * share the machine's state), "calibrated" (thresholds from an A/A of separate runs), or
     * "uncalibrated" (separate runs at the default threshold: a statistical regression may be drift).
     */
    drift: "same run" | "calibrated" | "uncalibrated";
    notes: string[];
}

/** Which way is better, from the unit in the metric's name (netbed names metrics with their unit). */
export function metricDirection(metric: string): Direction {
    const m = metric.replace(/@[\d.]+$/, "");
    if (/(gbps|pps|tps)$/i.test(m)) return "higher";
    if (/(us|ms|Us|Ms)$/.test(m)) return "lower"; // latencies and jitter: p50us, p99us@1000, jitterMs, minms
    if (/^loss|Pct$|^retransmits$|PerTr$|PerGbit$|^cpu|Cpu|Sd/.test(m)) return "lower";
    return "unknown";
}

// ---- random numbers and small helpers -------------------------------------------------------

/** FNV-1a: a per-metric seed so a metric's numbers do not depend on which other cells are compared. */
function hash(s: string, seed: number): number {
    let h = (0x811c9dc5 ^ seed) >>> 0;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return h;
}

function binomial(n: number, k: number): number {
    let r = 1;
    for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
    return Math.round(r);
}

const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;

function cv(v: readonly number[]): number {
    if (v.length < 2) return 0;
    const m = mean(v);
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - m) ** 2, 0) / (v.length - 1));
    return m !== 0 ? sd / Math.abs(m) : 0;
}

/** The CV above which a metric is flagged as noisy. */
export const NOISY_CV = 0.1;

/** Whether a permuted statistic is at least as extreme as the observed one (float-tolerant). */
function extreme(stat: number, observed: number, scale: number): boolean {
    return Math.abs(stat) >= Math.abs(observed) - 1e-12 * (scale + Math.abs(observed));
}

// ---- the tests ---------------------------------------------------------------------------------

/** Arrangements up to which a test enumerates them all (10 vs 10 repetitions: 184756 splits, ~10 ms). */
export const EXACT_LIMIT = 200000;

export interface TestResult {
    pValue: number;
    minPValue: number;
    method: "exact" | "monte-carlo";
    arrangements: number;
}

/**
 * Two-sided two-sample permutation test on the difference of means: every split of the pooled values
 * into groups of |a| and |b| when there are at most `exactLimit`, else `permutations` random ones
 * (p = (1 + hits) / (1 + draws), which keeps the test valid).
 */
export function permutationTest(a: readonly number[], b: readonly number[], opts: { seed?: number; exactLimit?: number; permutations?: number } = {}): TestResult {
    const pooled = [...a, ...b];
    const n = pooled.length;
    const nb = b.length;
    const total = pooled.reduce((s, x) => s + x, 0);
    const stat = (sumB: number) => sumB / nb - (total - sumB) / a.length;
    const observed = stat(b.reduce((s, x) => s + x, 0));
    const scale = Math.max(...pooled.map(Math.abs));
    const splits = binomial(n, nb);
    // Exact: the observed split and (with equal sizes) its mirror always reach the observed value.
    const exactMin = (a.length === nb ? 2 : 1) / splits;
    if (splits <= (opts.exactLimit ?? EXACT_LIMIT)) {
        let hits = 0;
        const walk = (start: number, left: number, sum: number) => {
            if (left === 0) {
                if (extreme(stat(sum), observed, scale)) hits++;
                return;
            }
            for (let i = start; i <= n - left; i++) walk(i + 1, left - 1, sum + pooled[i]);
        };
        walk(0, nb, 0);
        return { pValue: hits / splits, minPValue: exactMin, method: "exact", arrangements: splits };
    }
    const draws = opts.permutations ?? 20000;
    const rnd = mulberry32(opts.seed ?? 1);
    const idx = pooled.slice();
    let hits = 0;
    for (let d = 0; d < draws; d++) {
        // Partial Fisher-Yates: the last nb positions become a uniform random group B.
        let sum = 0;
        for (let i = n - 1; i >= n - nb; i--) {
            const j = Math.floor(rnd() * (i + 1));
            const t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            sum += idx[i];
        }
        if (extreme(stat(sum), observed, scale)) hits++;
    }
    return { pValue: (1 + hits) / (1 + draws), minPValue: Math.max(exactMin, 1 / (1 + draws)), method: "monte-carlo", arrangements: draws };
}

/**
 * Two-sided paired sign-flip test on the mean of the differences b[i] - a[i]: under no change each
 * difference is as likely positive as negative. Exact over all 2^n sign patterns when there are at
 * most `exactLimit`, else `permutations` random patterns.
 */
export function signFlipTest(a: readonly number[], b: readonly number[], opts: { seed?: number; exactLimit?: number; permutations?: number } = {}): TestResult {
    if (a.length !== b.length) throw new Error(`paired test needs equal lengths, got ${a.length} and ${b.length}`);
    const d = b.map((x, i) => x - a[i]);
    const n = d.length;
    const observed = d.reduce((s, x) => s + x, 0);
    const scale = Math.max(...d.map(Math.abs), 0);
    const patterns = 2 ** n;
    const exactMin = 2 / patterns;
    if (patterns <= (opts.exactLimit ?? EXACT_LIMIT)) {
        let hits = 0;
        for (let mask = 0; mask < patterns; mask++) {
            let s = 0;
            for (let i = 0; i < n; i++) s += mask & (1 << i) ? -d[i] : d[i];
            if (extreme(s, observed, scale)) hits++;
        }
        return { pValue: hits / patterns, minPValue: exactMin, method: "exact", arrangements: patterns };
    }
    const draws = opts.permutations ?? 20000;
    const rnd = mulberry32(opts.seed ?? 1);
    let hits = 0;
    for (let k = 0; k < draws; k++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += rnd() < 0.5 ? -d[i] : d[i];
        if (extreme(s, observed, scale)) hits++;
    }
    return { pValue: (1 + hits) / (1 + draws), minPValue: Math.max(exactMin, 1 / (1 + draws)), method: "monte-carlo", arrangements: draws };
}

/**
 * Percentile-bootstrap interval of medianB / medianA - 1 at `level`. Unpaired: A and B resampled
 * independently; paired: repetition pairs resampled together (keeping what they share).
 */
export function bootstrapChange(a: readonly number[], b: readonly number[], opts: { paired: boolean; level: number; resamples?: number; seed?: number }): { low: number; high: number } | null {
    const rnd = mulberry32(opts.seed ?? 1);
    const out: number[] = [];
    const sa = new Array<number>(a.length);
    const sb = new Array<number>(b.length);
    for (let r = 0; r < (opts.resamples ?? 4000); r++) {
        if (opts.paired) {
            for (let i = 0; i < a.length; i++) {
                const j = Math.floor(rnd() * a.length);
                sa[i] = a[j];
                sb[i] = b[j];
            }
        } else {
            for (let i = 0; i < a.length; i++) sa[i] = a[Math.floor(rnd() * a.length)];
            for (let i = 0; i < b.length; i++) sb[i] = b[Math.floor(rnd() * b.length)];
        }
        const ma = median(sa);
        if (ma !== 0) out.push(median(sb) / ma - 1);
    }
    if (out.length === 0) return null;
    const tail = ((1 - opts.level) / 2) * 100;
    return { low: percentile(out, tail), high: percentile(out, 100 - tail) };
}

/** Repetitions per side the test needs before alpha is reachable at all. */
export function repetitionsNeeded(alpha: number, paired: boolean): number {
    for (let n = 2; n < 64; n++) if ((paired ? 2 / 2 ** n : 2 / binomial(2 * n, n)) <= alpha) return n;
    return 64;
}

// ---- comparing documents -------------------------------------------------------------------------

/** The per-repetition values of a cell, by repetition index, with CPU cost metrics derived from the repetition's CPU accounting. */
export function repetitionValues(cell: CellResult, duration: number): Map<string, Map<number, number>> {
    const out = new Map<string, Map<number, number>>();
    const put = (metric: string, index: number, v: number) => {
        if (!Number.isFinite(v)) return;
        const m = out.get(metric) ?? new Map<number, number>();
        m.set(index, v);
        out.set(metric, m);
    };
    for (const r of cell.repetitions) {
        for (const [k, v] of Object.entries(r.metrics)) put(k, r.index, v);
        if (!r.cpu) continue;
        // Host CPU per unit of work, not raw CPU-seconds: a faster transfer in a fixed-duration test
        // burns more CPU, and that must not read as a regression.
        const busy = Object.values(r.cpu.machines).reduce((s, x) => s + x.busy, 0);
        const gbps = r.metrics.gbps;
        const tps = r.metrics.tps;
        if (gbps !== undefined && gbps > 0) put("cpuSecondsPerGbit", r.index, busy / (gbps * duration));
        else if (tps !== undefined && tps > 0) put("cpuUsPerTr", r.index, (busy * 1e6) / (tps * duration));
        else if (cell.dimensions.test !== "tcp" && cell.dimensions.test !== "udp" && cell.dimensions.test !== "pps" && cell.dimensions.test !== "rr") put("cpuBusySeconds", r.index, busy);
    }
    return out;
}

const KEY_DIMENSIONS = ["test", "size", "streams", "reverse", "protocol"] as const;

function cellKey(c: CellResult, withPair: boolean): string {
    const d = c.dimensions as Record<string, unknown>;
    return JSON.stringify([withPair ? c.pair : "", c.cell, ...KEY_DIMENSIONS.map((k) => d[k] ?? null)]);
}

/**
 * Per-metric thresholds from an A/A comparison (two runs of one configuration): for each metric
 * name, the largest |change of the median| any cell showed, where it exceeds `base`. Separate runs
 * drift more than one run's repetitions vary (the machine's state moves between them), which a
 * permutation test on repetitions cannot see; a change no larger than an A/A produced is not
 * called. Rounded up to 0.1%.
 */
export function noiseThresholds(aa: Comparison, base: number): Record<string, number> {
    const worst = new Map<string, number>();
    for (const c of aa.cells) {
        for (const m of c.metrics) {
            if (m.change === null || !Number.isFinite(m.change)) continue;
            worst.set(m.metric, Math.max(worst.get(m.metric) ?? 0, Math.abs(m.change)));
        }
    }
    const out: Record<string, number> = {};
    for (const [metric, w] of [...worst].sort(([x], [y]) => x.localeCompare(y))) {
        const t = Math.ceil(w * 1000 - 1e-9) / 1000;
        if (t > base) out[metric] = t;
    }
    return out;
}

function thresholdFor(metric: string, base: number, per: Record<string, number>): number {
    let best: [number, number] | undefined;
    for (const [pat, v] of Object.entries(per)) {
        const len = pat.endsWith("*") ? (metric.startsWith(pat.slice(0, -1)) ? pat.length - 1 : -1) : pat === metric ? Infinity : -1;
        if (len >= 0 && (!best || len > best[0])) best = [len, v];
    }
    return best ? best[1] : base;
}

/** The test and the noise threshold of one metric: the part of compareMetric that decides. */
export interface Decision {
    change: number | null;
    test: TestResult;
    significant: boolean;
    /** |change| beyond the threshold (from a zero median: any move). */
    large: boolean;
    /** The test cannot reach alpha with these repetition counts. */
    underpowered: boolean;
    /** Significant, beyond the threshold, and B above A. */
    up: boolean;
}

/** The A/B rule on two series of repetition values (paired: index i of each measured together). */
export function decide(va: readonly number[], vb: readonly number[], o: { paired: boolean; alpha: number; threshold: number; seed?: number; exactLimit?: number; permutations?: number }): Decision {
    const medianA = median(va);
    const medianB = median(vb);
    const change = medianA !== 0 ? medianB / medianA - 1 : null;
    const topts = { seed: (o.seed ?? 1) ^ 0x9e3779b9, exactLimit: o.exactLimit, permutations: o.permutations };
    const test = o.paired ? signFlipTest(va, vb, topts) : permutationTest(va, vb, topts);
    const significant = test.pValue <= o.alpha;
    // From a zero median (loss, retransmits) no relative change exists: a significant move is called.
    const large = change === null ? medianB !== medianA : Math.abs(change) > o.threshold;
    return { change, test, significant, large, underpowered: test.minPValue > o.alpha, up: change === null ? medianB > medianA : change > 0 };
}

export function compareMetric(
    metric: string,
    a: Map<number, number>,
    b: Map<number, number>,
    o: { paired: boolean; alpha: number; threshold: number; seed: number; resamples?: number; exactLimit?: number; permutations?: number },
): MetricComparison {
    const idx = [...a.keys()].sort((x, y) => x - y);
    const va = idx.map((i) => a.get(i)!);
    const vb = o.paired ? idx.map((i) => b.get(i)!) : [...b.keys()].sort((x, y) => x - y).map((i) => b.get(i)!);
    const direction = metricDirection(metric);
    const medianA = median(va);
    const medianB = median(vb);
    const { change, test: t, significant, large, underpowered, up } = decide(va, vb, o);
    const level = 1 - o.alpha;
    const ci = change === null ? null : bootstrapChange(va, vb, { paired: o.paired, level, resamples: o.resamples, seed: o.seed });
    let verdict: Verdict;
    let reason: string;
    if (underpowered) {
        verdict = "underpowered";
        reason = `${va.length} vs ${vb.length} repetitions cannot reach p <= ${o.alpha} (smallest p ${fmtP(t.minPValue)}); needs ${repetitionsNeeded(o.alpha, o.paired)} per side`;
    } else if (!significant) {
        verdict = "no change";
        reason = `not significant (p ${fmtP(t.pValue)} > ${o.alpha})`;
    } else if (!large) {
        verdict = "no change";
        reason = `significant but within the ${(o.threshold * 100).toFixed(1)}% noise threshold`;
    } else {
        verdict = direction === "unknown" ? "change" : (direction === "higher") === up ? "improvement" : "regression";
        reason = `p ${fmtP(t.pValue)} <= ${o.alpha}, ${change === null ? "from zero" : `|change| > ${(o.threshold * 100).toFixed(1)}%`}${direction === "unknown" ? " (direction unknown from the metric name)" : ""}`;
    }
    const cvA = cv(va);
    const cvB = cv(vb);
    const noisy = Math.max(cvA, cvB) > NOISY_CV;
    if (noisy && verdict !== "no change" && verdict !== "underpowered") reason += `; noisy (CV ${(cvA * 100).toFixed(0)}% / ${(cvB * 100).toFixed(0)}%): the direction holds, the size is uncertain`;
    return {
        metric,
        direction,
        nA: va.length,
        nB: vb.length,
        medianA,
        medianB,
        cvA,
        cvB,
        noisy,
        change,
        ci,
        pValue: t.pValue,
        minPValue: t.minPValue,
        test: o.paired ? "paired sign-flip" : "two-sample permutation",
        method: t.method,
        arrangements: t.arrangements,
        threshold: o.threshold,
        significant,
        verdict,
        reason,
    };
}

function sameIndices(a: Map<number, number>, b: Map<number, number>): boolean {
    return a.size === b.size && [...a.keys()].every((k) => b.has(k));
}

type Doc = Pick<ResultsDoc, "run" | "cells" | "environment" | "warnings">;

export function compareDocs(A: Doc, B: Doc, opts: CompareOptions = {}, sources: { a?: string; b?: string } = {}): Comparison {
    const alpha = opts.alpha ?? 0.01;
    const threshold = opts.threshold ?? 0.05;
    const thresholds = opts.thresholds ?? {};
    const pairedMode = opts.paired ?? "auto";
    const seed = opts.seed ?? 0x5eed;
    if (!(alpha > 0 && alpha < 1)) throw new Error(`alpha must be in (0, 1), got ${alpha}`);
    if (!(threshold >= 0)) throw new Error(`threshold must be >= 0, got ${threshold}`);
    if ((opts.pairA === undefined) !== (opts.pairB === undefined)) throw new Error("pairA and pairB go together (one pair of each side)");
    const byPair = opts.pairA !== undefined;
    const sameRun = A.run.name === B.run.name && A.run.started === B.run.started;

    const select = (doc: Doc, pair: string | undefined, side: string) => {
        const cells = pair === undefined ? doc.cells : doc.cells.filter((c) => c.pair === pair);
        if (pair !== undefined && cells.length === 0) {
            throw new Error(`${side} (${doc.run.name}) has no pair '${pair}'; its pairs: ${[...new Set(doc.cells.map((c) => c.pair))].join(", ")}`);
        }
        const m = new Map<string, CellResult>();
        for (const c of cells) {
            const k = cellKey(c, !byPair);
            if (m.has(k)) throw new Error(`${side} (${doc.run.name}) holds cell ${c.cell} of pair ${c.pair} twice`);
            m.set(k, c);
        }
        return m;
    };
    const ca = select(A, opts.pairA, "A");
    const cb = select(B, opts.pairB, "B");
    const cells: CellComparison[] = [];
    const notes: string[] = [];

    for (const [key, a] of ca) {
        const b = cb.get(key);
        const base = { pairA: a.pair, pairB: b?.pair ?? opts.pairB ?? a.pair, cell: a.cell, differences: [], metrics: [], metricsOnlyA: [], metricsOnlyB: [] };
        if (!b) {
            cells.push({ ...base, status: "only in A", ...(a.status === "failed" ? { failed: [{ side: "A" as const, error: a.error ?? "failed" }] } : {}) });
            continue;
        }
        const differences: CellComparison["differences"] = [];
        const da = a.dimensions as Record<string, unknown>;
        const db = b.dimensions as Record<string, unknown>;
        for (const d of [...new Set([...Object.keys(da), ...Object.keys(db)])]) {
            if ((KEY_DIMENSIONS as readonly string[]).includes(d)) continue;
            if (JSON.stringify(da[d]) !== JSON.stringify(db[d])) differences.push({ dimension: d, a: da[d] ?? null, b: db[d] ?? null });
        }
        const failed = [a.status === "failed" ? { side: "A" as const, error: a.error ?? "failed" } : undefined, b.status === "failed" ? { side: "B" as const, error: b.error ?? "failed" } : undefined].filter(
            (x): x is { side: "A" | "B"; error: string } => x !== undefined,
        );
        if (failed.length > 0) {
            cells.push({ ...base, status: "failed", failed, differences });
            continue;
        }
        const va = repetitionValues(a, A.run.settings.duration);
        const vb = repetitionValues(b, B.run.settings.duration);
        const metrics: MetricComparison[] = [];
        let paired = false;
        let pairedWhy = "";
        const common = [...va.keys()].filter((m) => vb.has(m));
        const indicesMatch = common.every((m) => sameIndices(va.get(m)!, vb.get(m)!));
        if (pairedMode === "never") pairedWhy = "unpaired (paired: never)";
        else if (pairedMode === "auto" && !sameRun) pairedWhy = "unpaired: separate runs, repetition i of A and of B were not measured together";
        else if (!indicesMatch) pairedWhy = "unpaired: the two sides do not have the same repetition indices";
        else if (pairedMode === "auto" && common.some((m) => 2 / 2 ** va.get(m)!.size > alpha)) {
            // Chosen from the counts alone (not the values), so the choice does not bias the test.
            pairedWhy = `unpaired although from one run: the paired test cannot reach p <= ${alpha} with fewer than ${repetitionsNeeded(alpha, true)} repetitions, the unpaired one can from ${repetitionsNeeded(alpha, false)}`;
        } else {
            paired = true;
            pairedWhy = sameRun ? "paired by repetition index: both pairs were interleaved in the same run" : "paired by repetition index (paired: always)";
        }
        for (const m of common) {
            metrics.push(
                compareMetric(m, va.get(m)!, vb.get(m)!, {
                    paired,
                    alpha,
                    threshold: thresholdFor(m, threshold, thresholds),
                    seed: hash(`${a.pair}/${b.pair}/${a.cell}/${m}`, seed),
                    resamples: opts.resamples,
                    exactLimit: opts.exactLimit,
                    permutations: opts.permutations,
                }),
            );
        }
        cells.push({
            ...base,
            status: "compared",
            paired,
            pairedWhy,
            differences,
            metrics,
            metricsOnlyA: [...va.keys()].filter((m) => !vb.has(m)),
            metricsOnlyB: [...vb.keys()].filter((m) => !va.has(m)),
        });
    }
    for (const [key, b] of cb) {
        if (ca.has(key)) continue;
        const failed = b.status === "failed" ? { failed: [{ side: "B" as const, error: b.error ?? "failed" }] } : {};
        cells.push({ pairA: opts.pairA ?? b.pair, pairB: b.pair, cell: b.cell, status: "only in B", ...failed, differences: [], metrics: [], metricsOnlyA: [], metricsOnlyB: [] });
    }

    const all = cells.flatMap((c) => c.metrics);
    const count = (v: Verdict) => all.filter((m) => m.verdict === v).length;
    const counts = {
        compared: cells.filter((c) => c.status === "compared").length,
        tests: all.length,
        regressions: count("regression"),
        improvements: count("improvement"),
        changes: count("change"),
        underpowered: count("underpowered"),
        onlyA: cells.filter((c) => c.status === "only in A").length,
        onlyB: cells.filter((c) => c.status === "only in B").length,
        failed: cells.filter((c) => c.status === "failed").length,
        // A cell that worked in A and fails in B is a regression a CI gate must see.
        newlyFailed: cells.filter((c) => c.status === "failed" && c.failed!.every((f) => f.side === "B")).length,
    };
    if (all.length > 0) {
        const tested = all.filter((m) => m.verdict !== "underpowered").length;
        notes.push(`${tested} tests at alpha ${alpha}: about ${(tested * alpha).toFixed(tested * alpha < 1 ? 2 : 1)} would be significant by chance alone; the noise threshold filters most of those.`);
    }
    if (counts.underpowered > 0) notes.push(`${counts.underpowered} metric(s) cannot reach significance with these repetition counts: rerun with more repetitions (settings.repetitions).`);
    const drift = sameRun ? "same run" : opts.noiseCalibrated ? "calibrated" : "uncalibrated";
    if (drift === "uncalibrated" && all.length > 0) {
        notes.push(
            "separate runs, thresholds not calibrated: runs drift apart more than one run's repetitions vary (simulated with drift equal to the within-run CV, the default rule calls 8-11% of unchanged metrics), so a called change may be drift; calibrate with --noise A1 A2 (an A/A of separate runs) or interleave both configurations in one run (--pair-a/--pair-b).",
        );
    }
    if (A.run.settings.duration !== B.run.settings.duration) notes.push(`the runs measured for different durations (A ${A.run.settings.duration} s, B ${B.run.settings.duration} s).`);
    const envDiff = (side: Doc["environment"]) => Object.values(side.machines).map((m) => `${m.cpu} / ${m.kernel}`).sort().join("; ");
    if (envDiff(A.environment) !== envDiff(B.environment)) notes.push(`the machines differ: A ${envDiff(A.environment) || "none"}; B ${envDiff(B.environment) || "none"}.`);
    const tcg = [...Object.values(A.environment.guests), ...Object.values(B.environment.guests)].some((g) => g.accel === "tcg");
    if (tcg) notes.push("guests ran under TCG (software emulation): their numbers vary more and say little about KVM performance.");
    return {
        version: COMPARISON_VERSION,
        a: { name: A.run.name, started: A.run.started, repetitions: A.run.settings.repetitions, duration: A.run.settings.duration, source: sources.a },
        b: { name: B.run.name, started: B.run.started, repetitions: B.run.settings.repetitions, duration: B.run.settings.duration, source: sources.b },
        settings: { alpha, threshold, thresholds, paired: pairedMode, seed, ciLevel: 1 - alpha },
        cells,
        counts,
        verdict: counts.regressions > 0 || counts.newlyFailed > 0 ? "regression" : "ok",
        drift,
        notes,
    };
}

// ---- rendering -----------------------------------------------------------------------------------

function fmtP(p: number): string {
    return p < 0.001 ? p.toExponential(1) : p.toPrecision(2);
}

function fmtNum(v: number): string {
    const a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 1000) return v.toFixed(0);
    if (a >= 1) return v.toPrecision(4);
    return v.toPrecision(3);
}

const pct = (v: number) => `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)}%`;
const cellName = (c: CellComparison) => (c.pairA === c.pairB ? `${c.pairA} ${c.cell}` : `${c.pairA} → ${c.pairB} ${c.cell}`);
const MARK: Record<Verdict, string> = { regression: "**REGRESSION**", improvement: "improvement", change: "change", "no change": "no change", underpowered: "underpowered" };

export function renderMarkdown(c: Comparison): string {
    const L: string[] = [];
    const src = (r: RunInfo) => `${r.name} (started ${r.started}, ${r.repetitions} repetitions of ${r.duration} s${r.source ? `, ${r.source}` : ""})`;
    L.push("# A/B comparison", "");
    L.push(`- A: ${src(c.a)}`, `- B: ${src(c.b)}`);
    const per = Object.entries(c.settings.thresholds).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`);
    L.push(
        `- Rule: a change is called when the permutation test gives p <= ${c.settings.alpha} and |change of the median| > ${(c.settings.threshold * 100).toFixed(1)}%${per.length ? ` (${per.join(", ")})` : ""}; intervals are ${(c.settings.ciLevel * 100).toFixed(0)}% bootstrap (seed ${c.settings.seed}); pairing: ${c.settings.paired}.`,
    );
    const k = c.counts;
    const untrusted = c.verdict === "regression" && c.counts.newlyFailed === 0 && c.drift === "uncalibrated";
    L.push("", `**Verdict: ${c.verdict === "regression" ? (untrusted ? "REGRESSION (separate runs, drift not calibrated: may be drift)" : "REGRESSION") : "no regression"}**: ${k.regressions} regression(s), ${k.improvements} improvement(s), ${k.changes} other change(s) over ${k.tests} metrics in ${k.compared} cells; ${k.newlyFailed} newly failed cell(s), ${k.underpowered} underpowered metric(s).`);
    const called = c.cells.flatMap((cell) => cell.metrics.filter((m) => m.verdict === "regression" || m.verdict === "improvement" || m.verdict === "change").map((m) => ({ cell, m })));
    const newlyFailed = c.cells.filter((x) => x.status === "failed" && x.failed!.every((f) => f.side === "B"));
    if (called.length + newlyFailed.length > 0) {
        L.push("", "## Called changes", "");
        for (const cell of newlyFailed) L.push(`- **REGRESSION** ${cellName(cell)}: worked in A, failed in B: ${cell.failed![0].error}`);
        for (const { cell, m } of called) L.push(`- ${MARK[m.verdict]} ${cellName(cell)} ${m.metric}: ${fmtNum(m.medianA)} → ${fmtNum(m.medianB)} (${m.change === null ? "from zero" : pct(m.change)}, p ${fmtP(m.pValue)})${m.noisy ? `; noisy (CV ${(m.cvA * 100).toFixed(0)}% / ${(m.cvB * 100).toFixed(0)}%): the direction holds, the size is uncertain` : ""}`);
    }
    L.push("", "## Per cell and metric", "");
    L.push(`| Cell | Metric | Better | A median | B median | Change | ${(c.settings.ciLevel * 100).toFixed(0)}% CI | p | Test | Verdict |`);
    L.push("|---|---|---|---:|---:|---:|---|---:|---|---|");
    for (const cell of c.cells.filter((x) => x.status === "compared")) {
        for (const m of cell.metrics) {
            const ci = m.ci ? `${pct(m.ci.low)} .. ${pct(m.ci.high)}` : "-";
            const test = `${m.test === "paired sign-flip" ? "paired" : "unpaired"} ${m.method}, n ${m.nA}/${m.nB}`;
            const better = m.direction === "higher" ? "higher" : m.direction === "lower" ? "lower" : "?";
            L.push(`| ${cellName(cell)} | ${m.metric} | ${better} | ${fmtNum(m.medianA)} | ${fmtNum(m.medianB)} | ${m.change === null ? "from 0" : pct(m.change)} | ${ci} | ${fmtP(m.pValue)} | ${test} | ${MARK[m.verdict]}${m.noisy ? " (noisy)" : ""} |`);
        }
    }
    const diffs = c.cells.filter((x) => x.differences.length > 0);
    if (diffs.length > 0) {
        L.push("", "## What differs between A and B (matched cells)", "");
        const byText = new Map<string, string[]>();
        for (const cell of diffs) {
            const t = cell.differences.map((d) => `${d.dimension} ${JSON.stringify(d.a)} → ${JSON.stringify(d.b)}`).join(", ");
            byText.set(t, [...(byText.get(t) ?? []), cellName(cell)]);
        }
        for (const [t, names] of byText) L.push(`- ${t}: ${names.join(", ")}`);
    }
    const odd = c.cells.filter((x) => x.status !== "compared");
    if (odd.length > 0) {
        L.push("", "## Cells not compared", "");
        for (const cell of odd) {
            const failures = cell.failed?.map((f) => `${f.side}: ${f.error}`).join("; ");
            const why = cell.status === "failed" ? `failed in ${failures}` : `${cell.status}${failures ? ` (failed there: ${failures})` : ""}`;
            L.push(`- ${cellName(cell)}: ${why}`);
        }
    }
    const oneSided = c.cells.filter((x) => x.metricsOnlyA.length + x.metricsOnlyB.length > 0);
    const pairing = [...new Set(c.cells.filter((x) => x.pairedWhy).map((x) => x.pairedWhy!))];
    if (oneSided.length + pairing.length + c.notes.length > 0) {
        L.push("", "## Notes", "");
        for (const p of pairing) L.push(`- ${p}.`);
        for (const cell of oneSided) {
            if (cell.metricsOnlyA.length) L.push(`- ${cellName(cell)}: only A has ${cell.metricsOnlyA.join(", ")}`);
            if (cell.metricsOnlyB.length) L.push(`- ${cellName(cell)}: only B has ${cell.metricsOnlyB.join(", ")}`);
        }
        for (const n of c.notes) L.push(`- ${n}`);
        const weak = new Map<string, number>();
        for (const m of c.cells.flatMap((x) => x.metrics)) if (m.verdict === "underpowered") weak.set(m.reason, (weak.get(m.reason) ?? 0) + 1);
        for (const [why, n] of weak) L.push(`- underpowered (${n} metric(s)): ${why}`);
    }
    return L.join("\n") + "\n";
}
