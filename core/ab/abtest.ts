// The A/B rule on one metric: the relative change of the median with a bootstrap confidence
// interval and a permutation-test p-value on the per-repetition values. A change is called only
// when it is significant AND larger than a noise threshold (Firecracker's A/B rule). Pure.
//
// Test statistic: Brunner-Munzel's studentized rank statistic (its variance regularized, see
// NULL_VARIANCE_WEIGHT) with its exact permutation distribution (Monte Carlo beyond `exactLimit`
// arrangements). Chosen over the difference of means and over Wilcoxon-Mann-Whitney by simulation
// (npm run bench -- stats, "test choice"; lognormal noise, 5% bad repetitions, drift up to 5%):
//   - a bad repetition moves one rank, not the mean: power does not fall as repetitions are added
//     (a 10% change at CV 2%, 600 trials: the mean's 76/67/57/74% at n = 5/8/10/20, this 76/75/89/100%);
//   - with equal medians and unequal spread (CV 2% vs 30%) its false-call rate at alpha 1% comes
//     closer to alpha as n grows (2.2% at n = 10, 2.0% at 20; the mean's 3.2% and 2.5%) than
//     Wilcoxon's (2.5%, 3.2%: it tests equal distributions, not equal medians), for a little power
//     (75% against Wilcoxon's 79% at n = 8, equal at 5, 10 and 20). At 5 vs 5 no
//     test reaching 2/252 can hold alpha there: a near-constant A against a wide B is a sign test of
//     5 values (2/32), so that case stays above alpha whatever the statistic (4.5% for all three);
//   - its smallest p is the old one: only the two complete separations are the most extreme, 2/C(2n, n).
// Paired (`paired: true`): Wilcoxon's signed-rank test, exact over the 2^n sign flips. It removes a
// drift shared by the two sides, but its resolution (2/2^n against 2/C(2n, n)) cost more power than
// removing a drift of up to 5% gained, at every n from 8 to 20 simulated (bench "pairing"): callers
// should pair only on request, or where the drift is known to dominate the noise.
// The effect reported is the change of the MEDIAN, with its bootstrap interval.
//
// alpha defaults to 0.01, and it is the error rate of the whole comparison, not of one test: one
// comparison runs a test per cell and metric (dozens for the local stack), and `compareDocs` adjusts
// their p-values with Holm's step-down (core/ab/multiplicity.ts) before `judge` gives verdicts.
// A metric that cannot reach the family's strictest level whatever the data (5 vs 5 repetitions:
// smallest exact p 2/252 = 0.0079, above 0.01 / 2) is reported as "underpowered" with the
// repetitions it would need, never as "no change".
import { median, mulberry32, percentile } from "../bench/stats";

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
     * uncertain in size and in sign: a few noisy repetitions that happen to separate overstate the
     * change (the winner's curse), and the bootstrap of a median of ~5 values is narrow.
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
    /** Both are rank tests now: Brunner-Munzel over splits, Wilcoxon's signed ranks over sign flips. */
    test: "paired signed-rank" | "two-sample rank (Brunner-Munzel, permutation)";
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
    if (/(gbps|pps|tps)(Forward|Reverse)?$/i.test(m)) return "higher";
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

/**
 * What a called change at that noise is worth (npm run bench -- stats, "wrong sign"): at a true +5%,
 * CV 30% and 5 repetitions, 21% of the changes called (37 of 176) have the wrong sign, and the size
 * of those called is inflated (only the repetitions that happened to separate get called).
 */
export function noisyWords(cvA: number, cvB: number): string {
    return `noisy (CV ${(cvA * 100).toFixed(0)}% / ${(cvB * 100).toFixed(0)}%): neither the size nor the sign is reliable at this noise; confirm with more repetitions`;
}

/** Whether a permuted statistic is at least as extreme as the observed one (float-tolerant; infinite only by infinite). */
function extreme(stat: number, observed: number): boolean {
    const o = Math.abs(observed);
    return Math.abs(stat) >= (Number.isFinite(o) ? o - 1e-9 * (1 + o) : o);
}

// ---- the tests ---------------------------------------------------------------------------------

/** Arrangements up to which a test enumerates them all (10 vs 10 repetitions: 184756 splits). */
const EXACT_LIMIT = 200000;

export interface TestResult {
    pValue: number;
    minPValue: number;
    method: "exact" | "monte-carlo";
    arrangements: number;
}

/**
 * The screen before an enumeration: 1000 random arrangements, and a p estimated above 0.1 is final
 * (no level netbed decides at is above 0.05; a true p of 0.05 reads above 0.1 from 1000 draws with
 * probability below 1e-10).
 */
const SCREEN_DRAWS = 1000;
const SCREEN_ABOVE = 0.1;

export interface TestOptions {
    /** false: enumerate even where the screen would settle p (to check the screen against the enumeration). */
    screen?: boolean;
    seed?: number;
    exactLimit?: number;
    permutations?: number;
}

/**
 * The permutation p-value of a statistic over group memberships: every arrangement when there are
 * at most `exactLimit`, else `permutations` random ones (p = (1 + hits) / (1 + draws), which keeps
 * the test valid). `stat` reads a membership vector (1: group B, or a flipped sign).
 */
function permutationP(
    stat: (member: Uint8Array) => number,
    observed: Uint8Array,
    exact: { count: number; each: (visit: (member: Uint8Array) => void) => void },
    draw: (rnd: () => number, member: Uint8Array) => void,
    minPValue: number,
    opts: TestOptions,
): TestResult {
    const obs = stat(observed);
    const monteCarlo = (draws: number): TestResult => {
        const rnd = mulberry32(opts.seed ?? 1);
        const m = observed.slice();
        let hits = 0;
        for (let d = 0; d < draws; d++) {
            draw(rnd, m);
            if (extreme(stat(m), obs)) hits++;
        }
        return { pValue: (1 + hits) / (1 + draws), minPValue: Math.max(minPValue, 1 / (1 + draws)), method: "monte-carlo", arrangements: draws };
    };
    let hits = 0;
    if (exact.count <= (opts.exactLimit ?? EXACT_LIMIT)) {
        // A p far above any level a decision uses cannot be called whatever the adjustment (adjusted
        // p >= raw p): a short Monte Carlo says so, and only the rest pays for the enumeration.
        if (opts.screen !== false && exact.count > SCREEN_DRAWS * 4) {
            const screen = monteCarlo(SCREEN_DRAWS);
            if (screen.pValue > SCREEN_ABOVE) return { ...screen, minPValue };
        }
        exact.each((m) => {
            if (extreme(stat(m), obs)) hits++;
        });
        return { pValue: hits / exact.count, minPValue, method: "exact", arrangements: exact.count };
    }
    return monteCarlo(opts.permutations ?? 20000);
}

/** Positions of the sorted pooled values and where each block of tied values starts. */
function tieBlocks(sorted: readonly number[]): number[] {
    const starts = [0];
    for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) starts.push(i);
    starts.push(sorted.length);
    return starts;
}

/**
 * How much of p-hat's variance under exchangeable groups, (N + 1) / (12 nA nB), is added to the
 * Brunner-Munzel variance estimate. With 5-10 repetitions one bad repetition dominates the
 * placements' variance and costs power (a 10% change at CV 2%, 5% bad repetitions, 600 trials:
 * 75.5% at n = 5, 69.8% at n = 8 without it, 75.0% with it: bench "test choice" at weight 0 and
 * 1); weight 1 keeps most of the studentization's hold under unequal spread (an infinite weight is
 * Wilcoxon's rank sum). Separated samples stay the only most extreme arrangements.
 */
const NULL_VARIANCE_WEIGHT = 1;

/**
 * The Brunner-Munzel statistic (p-hat - 1/2) / its standard error, p-hat = P(A < B) + P(A = B)/2,
 * from the placements of each value among the other group (midranks for ties), the variance
 * regularized by NULL_VARIANCE_WEIGHT. Complete separation is the most extreme arrangement.
 */
function brunnerMunzel(inB: Uint8Array, blocks: readonly number[], nA: number, nB: number): number {
    let seenA = 0;
    let seenB = 0;
    let sA = 0;
    let ssA = 0;
    let sB = 0;
    let ssB = 0;
    for (let k = 0; k + 1 < blocks.length; k++) {
        let a = 0;
        for (let i = blocks[k]; i < blocks[k + 1]; i++) a += inB[i] ? 0 : 1;
        const b = blocks[k + 1] - blocks[k] - a;
        // Placement: how many of the other group lie below (ties count half).
        const pA = seenB + b / 2;
        const pB = seenA + a / 2;
        sA += a * pA;
        ssA += a * pA * pA;
        sB += b * pB;
        ssB += b * pB * pB;
        seenA += a;
        seenB += b;
    }
    const mA = sA / nA;
    const mB = sB / nB;
    const varA = nA > 1 ? (ssA - nA * mA * mA) / (nA - 1) : 0;
    const varB = nB > 1 ? (ssB - nB * mB * mB) / (nB - 1) : 0;
    const shift = mB / nA - 0.5;
    const se = Math.sqrt(Math.max(0, varA / (nA * nB * nB) + varB / (nB * nA * nA)) + NULL_VARIANCE_WEIGHT * ((nA + nB + 1) / (12 * nA * nB)));
    return shift / se;
}

/**
 * Two-sided two-sample rank test: the Brunner-Munzel statistic with its permutation distribution
 * (Neubert and Brunner, 2007). It tests P(A < B) = 1/2, which holds when the medians are equal
 * and the noise is lognormal whatever each side's spread; an outlier moves one rank, not the mean.
 */
export function rankTest(a: readonly number[], b: readonly number[], opts: TestOptions = {}): TestResult {
    const order = [...a.map((v) => ({ v, b: 0 })), ...b.map((v) => ({ v, b: 1 }))].sort((x, y) => x.v - y.v);
    const n = order.length;
    const nB = b.length;
    const blocks = tieBlocks(order.map((x) => x.v));
    const stat = (m: Uint8Array) => brunnerMunzel(m, blocks, a.length, nB);
    const each = (visit: (m: Uint8Array) => void) => {
        const m = new Uint8Array(n);
        const walk = (start: number, left: number) => {
            if (left === 0) return visit(m);
            for (let i = start; i <= n - left; i++) {
                m[i] = 1;
                walk(i + 1, left - 1);
                m[i] = 0;
            }
        };
        walk(0, nB);
    };
    // A uniform random group B: shuffle the memberships (Fisher-Yates).
    const draw = (rnd: () => number, m: Uint8Array) => {
        for (let i = n - 1; i > 0; i--) {
            const j = Math.floor(rnd() * (i + 1));
            const t = m[i];
            m[i] = m[j];
            m[j] = t;
        }
    };
    const splits = binomial(n, nB);
    // Both complete separations (B above A, B below A) are the most extreme, and only they.
    return permutationP(
        stat,
        Uint8Array.from(order, (x) => x.b),
        { count: splits, each },
        draw,
        2 / splits,
        opts,
    );
}

/**
 * Two-sided paired signed-rank test on the differences b[i] - a[i] (midranks of |d|; a zero
 * difference ranks but carries no sign): under no change each difference is as likely positive as
 * negative. Exact over all 2^n sign patterns when there are at most `exactLimit`, else
 * `permutations` random patterns.
 */
export function signedRankTest(a: readonly number[], b: readonly number[], opts: TestOptions = {}): TestResult {
    if (a.length !== b.length) throw new Error(`paired test needs equal lengths, got ${a.length} and ${b.length}`);
    const d = b.map((x, i) => x - a[i]).sort((x, y) => Math.abs(x) - Math.abs(y));
    const n = d.length;
    const blocks = tieBlocks(d.map(Math.abs));
    const signedRank = new Float64Array(n);
    for (let k = 0; k + 1 < blocks.length; k++)
        for (let i = blocks[k]; i < blocks[k + 1]; i++) signedRank[i] = (Math.sign(d[i]) * (blocks[k] + blocks[k + 1] + 1)) / 2;
    const stat = (flip: Uint8Array) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += flip[i] ? -signedRank[i] : signedRank[i];
        return s;
    };
    const patterns = 2 ** n;
    const each = (visit: (m: Uint8Array) => void) => {
        const m = new Uint8Array(n);
        for (let mask = 0; mask < patterns; mask++) {
            for (let i = 0; i < n; i++) m[i] = (mask >> i) & 1;
            visit(m);
        }
    };
    const draw = (rnd: () => number, m: Uint8Array) => {
        for (let i = 0; i < n; i++) m[i] = rnd() < 0.5 ? 1 : 0;
    };
    return permutationP(stat, new Uint8Array(n), { count: patterns, each }, draw, 2 / patterns, opts);
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

/** Repetitions per side the test needs before alpha is reachable at all (a paired sign test: 2/2^n). */
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

/**
 * From a baseline median of 0 no relative change exists: the move of the median must exceed an
 * absolute amount in the metric's own unit. Loss in percentage points: one lost echo of the local
 * stack's 40 pings is 2.5 points, so a median above 1 point means most repetitions lost one;
 * retransmits in count: a bare-metal 2-s TCP stream shows about 10 (test/fixtures/report: 9-12),
 * so fewer than that from none is within what a healthy stream does.
 */
export const ZERO_BASELINE: Record<string, number> = { lossPct: 1, retransmits: 10 };

/** The absolute threshold of a metric whose baseline median is 0 (any move, for a metric not listed). */
export function zeroThresholdFor(metric: string): number {
    return ZERO_BASELINE[metric.replace(/@[\d.]+$/, "")] ?? 0;
}

/** The test and the noise threshold of one metric: the part of compareMetric that decides. */
export interface Decision {
    change: number | null;
    test: TestResult;
    significant: boolean;
    /** |change| beyond the threshold (from a zero median: the move beyond `zeroThreshold`). */
    large: boolean;
    /** The test cannot reach alpha with these repetition counts. */
    underpowered: boolean;
    /** Significant, beyond the threshold, and B above A. */
    up: boolean;
}

export interface DecideOptions {
    /** Test index i of each side as a pair (signed-rank test); see the header for when that helps. */
    paired: boolean;
    alpha: number;
    threshold: number;
    /** Absolute threshold when A's median is 0 (zeroThresholdFor); default 0: any move. */
    zeroThreshold?: number;
    seed?: number;
    exactLimit?: number;
    permutations?: number;
}

/** The A/B rule on two series of repetition values; `test.pValue` is the raw two-sided p. */
export function decide(va: readonly number[], vb: readonly number[], o: DecideOptions): Decision {
    const medianA = median(va);
    const medianB = median(vb);
    const change = medianA !== 0 ? medianB / medianA - 1 : null;
    const topts = { seed: (o.seed ?? 1) ^ 0x9e3779b9, exactLimit: o.exactLimit, permutations: o.permutations };
    const test = o.paired ? signedRankTest(va, vb, topts) : rankTest(va, vb, topts);
    const significant = test.pValue <= o.alpha;
    const large = change === null ? Math.abs(medianB - medianA) > (o.zeroThreshold ?? 0) : Math.abs(change) > o.threshold;
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
    const { change, test: t, large } = decide(va, vb, { ...o, zeroThreshold: zeroThresholdFor(metric) });
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
        test: o.paired ? ("paired signed-rank" as const) : ("two-sample rank (Brunner-Munzel, permutation)" as const),
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
        reason = `${m.nA} vs ${m.nB} repetitions cannot reach p <= ${fmtLevel(level)}${family} (smallest p ${fmtP(m.minPValue)}); needs ${repetitionsNeeded(level, m.test === "paired signed-rank")} per side`;
    } else if (!significant) {
        verdict = "no change";
        reason = `not significant (${p} > ${f.alpha})`;
    } else if (!m.beyondThreshold) {
        verdict = "no change";
        reason = `significant but within ${m.change === null ? `a move of ${zeroThresholdFor(m.metric)} from zero` : `the ${(m.threshold * 100).toFixed(1)}% noise threshold`}`;
    } else {
        const up = m.change === null ? m.medianB > m.medianA : m.change > 0;
        verdict = m.direction === "unknown" ? "change" : (m.direction === "higher") === up ? "improvement" : "regression";
        reason = `${p} <= ${f.alpha}, ${m.change === null ? `beyond a move of ${zeroThresholdFor(m.metric)} from zero` : `|change| > ${(m.threshold * 100).toFixed(1)}%`}${m.direction === "unknown" ? " (direction unknown from the metric name)" : ""}`;
    }
    // A change that separates at high CV is mostly the few repetitions that happened to separate: its size, and even its sign, is uncertain.
    if (m.noisy && verdict !== "no change" && verdict !== "underpowered") reason += `; ${noisyWords(m.cvA, m.cvB)}`;
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
