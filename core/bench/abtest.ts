// The A/B rule on one metric: the relative change of the median with a bootstrap confidence
// interval and a permutation-test p-value on the per-repetition values. A change is called only
// when it is significant AND larger than a noise threshold (Firecracker's A/B rule). Pure.
//
// Test statistic: the difference of the means of the per-repetition values. The permutation test is
// exact for any statistic; the mean is used because with the few repetitions a benchmark has, the
// median of a permuted group ties with many other arrangements at the extremes (5 vs 5 fully
// separated samples do not give the smallest possible p with the median), which costs power. The
// effect reported is the change of the MEDIAN, with its bootstrap interval.
//
// alpha defaults to 0.01, and it is the error rate of the whole comparison, not of one test: one
// comparison runs a test per cell and metric (dozens for the local stack), and `compareDocs` adjusts
// their p-values with Holm's step-down (core/bench/multiplicity.ts) before `judge` gives verdicts.
// A metric that cannot reach the family's strictest level whatever the data (5 vs 5 repetitions:
// smallest exact p 2/252 = 0.0079, above 0.01 / 2) is reported as "underpowered" with the
// repetitions it would need, never as "no change".
import { median, mulberry32, percentile } from "./stats";

export type Direction = "higher" | "lower" | "unknown";
export type Verdict = "regression" | "improvement" | "change" | "no change" | "underpowered";

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
    /** The test's raw two-sided p-value. */
    pValue: number;
    /** pValue adjusted over the family of tests the verdict is made on (Holm in `compareDocs`): the verdict comes from it. */
    pAdjusted: number;
    /** The smallest p-value these sample sizes can give (above the family's strictest level: underpowered). */
    minPValue: number;
    test: "paired sign-flip" | "two-sample permutation";
    method: "exact" | "monte-carlo";
    /** Arrangements enumerated or drawn. */
    arrangements: number;
    threshold: number;
    /** |change| beyond the threshold (from a zero median: any move). */
    beyondThreshold: boolean;
    /** pAdjusted <= alpha. */
    significant: boolean;
    verdict: Verdict;
    /** Why the verdict, in a few words. */
    reason: string;
}

/** Which way is better, from the unit in the metric's name (netbed names metrics with their unit). */
export function metricDirection(metric: string): Direction {
    const m = metric.replace(/@[\d.]+$/, "");
    if (/(gbps|pps|tps)$/i.test(m)) return "higher";
    if (/(us|ms|Us|Ms)$/.test(m)) return "lower"; // latencies and jitter: p50us, p99us@1000, jitterMs, minms
    if (/^loss|Pct$|^retransmits$|PerTr$|PerGbit$|^cpu|Cpu|Sd/.test(m)) return "lower";
    return "unknown";
}

// ---- small helpers -----------------------------------------------------------------------------

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
const NOISY_CV = 0.1;

/** Whether a permuted statistic is at least as extreme as the observed one (float-tolerant). */
function extreme(stat: number, observed: number, scale: number): boolean {
    return Math.abs(stat) >= Math.abs(observed) - 1e-12 * (scale + Math.abs(observed));
}

// ---- the tests ---------------------------------------------------------------------------------

/** Arrangements up to which a test enumerates them all (10 vs 10 repetitions: 184756 splits, each one sum). */
const EXACT_LIMIT = 200000;

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
export function permutationTest(
    a: readonly number[],
    b: readonly number[],
    opts: { seed?: number; exactLimit?: number; permutations?: number } = {},
): TestResult {
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
function bootstrapChange(
    a: readonly number[],
    b: readonly number[],
    opts: { paired: boolean; level: number; resamples?: number; seed?: number },
): { low: number; high: number } | null {
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

export function thresholdFor(metric: string, base: number, per: Record<string, number>): number {
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
export function decide(
    va: readonly number[],
    vb: readonly number[],
    o: { paired: boolean; alpha: number; threshold: number; seed?: number; exactLimit?: number; permutations?: number },
): Decision {
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
    const { change, test: t, large } = decide(va, vb, o);
    const level = 1 - o.alpha;
    const ci = change === null ? null : bootstrapChange(va, vb, { paired: o.paired, level, resamples: o.resamples, seed: o.seed });
    const cvA = cv(va);
    const cvB = cv(vb);
    const measured = {
        metric,
        direction: metricDirection(metric),
        nA: va.length,
        nB: vb.length,
        medianA: median(va),
        medianB: median(vb),
        cvA,
        cvB,
        noisy: Math.max(cvA, cvB) > NOISY_CV,
        change,
        ci,
        pValue: t.pValue,
        pAdjusted: t.pValue,
        minPValue: t.minPValue,
        test: o.paired ? ("paired sign-flip" as const) : ("two-sample permutation" as const),
        method: t.method,
        arrangements: t.arrangements,
        threshold: o.threshold,
        beyondThreshold: large,
        significant: false,
        verdict: "no change" as Verdict,
        reason: "",
    };
    return judge(measured, { pAdjusted: t.pValue, alpha: o.alpha, familySize: 1 });
}

/**
 * The verdict of a measured metric from its p-value adjusted over the family of tests the decision
 * is made on (size 1: the raw p). Underpowered where even the smallest p these repetitions allow
 * cannot pass the family's strictest step (Holm: alpha / familySize).
 */
export function judge(m: MetricComparison, f: { pAdjusted: number; alpha: number; familySize: number }): MetricComparison {
    const level = f.alpha / f.familySize;
    const family = f.familySize > 1 ? ` (Holm over ${f.familySize} tests: alpha ${f.alpha} / ${f.familySize})` : "";
    const significant = f.pAdjusted <= f.alpha;
    const p = `p ${fmtP(m.pValue)}, adjusted ${fmtP(f.pAdjusted)}`;
    let verdict: Verdict;
    let reason: string;
    if (m.minPValue > level) {
        verdict = "underpowered";
        reason = `${m.nA} vs ${m.nB} repetitions cannot reach p <= ${fmtLevel(level)}${family} (smallest p ${fmtP(m.minPValue)}); needs ${repetitionsNeeded(level, m.test === "paired sign-flip")} per side`;
    } else if (!significant) {
        verdict = "no change";
        reason = `not significant (${p} > ${f.alpha})`;
    } else if (!m.beyondThreshold) {
        verdict = "no change";
        reason = `significant but within the ${(m.threshold * 100).toFixed(1)}% noise threshold`;
    } else {
        const up = m.change === null ? m.medianB > m.medianA : m.change > 0;
        verdict = m.direction === "unknown" ? "change" : (m.direction === "higher") === up ? "improvement" : "regression";
        reason = `${p} <= ${f.alpha}, ${m.change === null ? "from zero" : `|change| > ${(m.threshold * 100).toFixed(1)}%`}${m.direction === "unknown" ? " (direction unknown from the metric name)" : ""}`;
    }
    // A change that separates at high CV is mostly the few repetitions that happened to separate: its size, and even its sign, is uncertain.
    if (m.noisy && verdict !== "no change" && verdict !== "underpowered")
        reason += `; noisy (CV ${(m.cvA * 100).toFixed(0)}% / ${(m.cvB * 100).toFixed(0)}%): the size is uncertain`;
    return { ...m, pAdjusted: f.pAdjusted, significant, verdict, reason };
}

/** A p-value as the reasons and reports print it. */
export function fmtP(p: number): string {
    return p < 0.001 ? p.toExponential(1) : p.toPrecision(2);
}

/** A significance level as the reasons print it: 0.01, 0.0025, 0.00016. */
export function fmtLevel(x: number): string {
    return String(Number(x.toPrecision(2)));
}
