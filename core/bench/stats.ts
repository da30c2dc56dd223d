// Statistics for benchmark repetitions. Pure.

/** A summary of repetitions; the results document's StatsSchema has this shape. */
export interface SampleStats {
    n: number;
    median: number;
    mean: number;
    stddev: number;
    cv: number;
    min: number;
    max: number;
    ci: { low: number; high: number; level: number } | null;
}

/** Percentile with linear interpolation between closest ranks (numpy's default, "linear"). */
export function percentile(values: readonly number[], p: number): number {
    if (values.length === 0) throw new Error("percentile of no values");
    const s = [...values].sort((a, b) => a - b);
    const rank = (p / 100) * (s.length - 1);
    const lo = Math.floor(rank);
    const hi = Math.ceil(rank);
    return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

export function median(values: readonly number[]): number {
    return percentile(values, 50);
}

/** A small deterministic PRNG (mulberry32): the same data always gives the same interval. */
export function mulberry32(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

export function summarize(values: readonly number[]): SampleStats {
    const n = values.length;
    if (n === 0) throw new Error("summary of no values");
    const mean = values.reduce((a, b) => a + b, 0) / n;
    const stddev = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
    return {
        n,
        median: median(values),
        mean,
        stddev,
        cv: mean !== 0 ? stddev / Math.abs(mean) : 0,
        min: Math.min(...values),
        max: Math.max(...values),
        ci: medianInterval(values),
    };
}

/** P(X <= k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
    let term = 0.5 ** n;
    let sum = 0;
    for (let i = 0; i <= k; i++) {
        sum += term;
        term = (term * (n - i)) / (i + 1);
    }
    return sum;
}

/** Coverage of [x(k), x(n+1-k)] (order statistics, 1-based) for the median of any continuous distribution. */
export function orderStatisticCoverage(n: number, k: number): number {
    return 1 - 2 * binomialHalfCdf(n, k - 1);
}

/** Below this coverage even [min, max] is no interval worth printing (n <= 3: 75% and less). */
const MIN_INTERVAL_LEVEL = 0.8;

/**
 * Distribution-free interval of the median from order statistics: the narrowest [x(k), x(n+1-k)]
 * whose coverage is at least `level`, with the coverage it achieves (never less than asked, often
 * more: coverage moves in steps). With few values no k reaches `level`: then [min, max] with its
 * true coverage, 1 - 2 * 0.5^n (87.5% at n = 4, 93.75% at n = 5), or null when that is below
 * MIN_INTERVAL_LEVEL. A bootstrap percentile interval is [min, max] at these n too, but claims 95%.
 */
export function medianInterval(values: readonly number[], level = 0.95): SampleStats["ci"] {
    const n = values.length;
    if (orderStatisticCoverage(n, 1) < MIN_INTERVAL_LEVEL) return null;
    const s = [...values].sort((a, b) => a - b);
    let k = 1;
    while (k + 1 <= n / 2 && orderStatisticCoverage(n, k + 1) >= level) k++;
    return { low: s[k - 1], high: s[n - k], level: orderStatisticCoverage(n, k) };
}

/** Fewest samples for which a q-quantile lies inside the sample's range on average: 1/(1-q) (100 for a P99, 20 for a P95). */
export function samplesNeeded(q: number): number {
    return Math.ceil(1 / Math.min(q, 1 - q) - 1e-9);
}

/** P(X = i) for X ~ Binomial(n, q), i = 0..n, computed in log space so large n does not underflow. */
function binomialPmf(n: number, q: number): number[] {
    const lf = [0];
    for (let i = 1; i <= n; i++) lf.push(lf[i - 1] + Math.log(i));
    return Array.from({ length: n + 1 }, (_, i) => Math.exp(lf[n] - lf[i] - lf[n - i] + i * Math.log(q) + (n - i) * Math.log1p(-q)));
}

/**
 * The ranks of the order-statistic interval of the q-quantile of n samples: [x(lo), x(hi + 1)]
 * (1-based) covers the quantile when lo..hi samples fall below it, a Binomial(n, q) count, so its
 * coverage is the binomial mass on lo..hi. Grown from the most likely count towards the more
 * likely neighbour until the mass reaches `level`: the fewest ranks for that level, at the level
 * it achieves (at least the one asked). lo = 0: below the smallest; hi = n: above the largest.
 */
function quantileRanks(n: number, q: number, level: number): { lo: number; hi: number; level: number } {
    const b = binomialPmf(n, q);
    let lo = Math.min(n, Math.floor((n + 1) * q));
    let hi = lo;
    let mass = b[lo];
    while (mass < level && (lo > 0 || hi < n)) {
        const down = lo > 0 ? b[lo - 1] : -1;
        const up = hi < n ? b[hi + 1] : -1;
        if (down >= up) mass += b[--lo];
        else mass += b[++hi];
    }
    return { lo, hi, level: Math.min(1, mass) };
}

/**
 * Distribution-free interval of the q-quantile of independent samples from order statistics
 * (quantileRanks), at the level it achieves. An end beyond the sample is null, as a P99 from 200
 * samples needs: even [min, max] covers it with only 1 - 0.99^200 - 0.01^200 = 86.6%.
 */
export function quantileInterval(values: readonly number[], q: number, level = 0.95): { low: number | null; high: number | null; level: number } {
    if (values.length === 0) throw new Error("quantile interval of no values");
    const r = quantileRanks(values.length, q, level);
    const s = [...values].sort((x, y) => x - y);
    return { low: r.lo === 0 ? null : s[r.lo - 1], high: r.hi === values.length ? null : s[r.hi], level: r.level };
}

/** z of the 25th percentile: Wilson-Hilferty's chi-square quantile below gives the variance's 75% upper confidence bound. */
const Z25 = -0.6744897501960817;

/**
 * How much less a pooled sample of groups (a repetition's echoes share the machine's state)
 * says about a quantile than as many independent samples: the cluster-robust variance of the
 * share of samples below the estimate, at its 75% upper confidence bound over the groups'
 * degrees of freedom (few groups estimate it poorly), over the binomial variance; at least 1,
 * and 1 for a single group (no spread to see).
 */
function designEffect(groups: readonly (readonly number[])[], q: number, estimate: number): number {
    const k = groups.length - 1;
    if (k < 1) return 1;
    const n = groups.reduce((a, g) => a + g.length, 0);
    const below = groups.map((g) => g.filter((x) => x <= estimate).length);
    const share = below.reduce((a, x) => a + x, 0) / n;
    const spread = groups.reduce((a, g, i) => a + (below[i] - share * g.length) ** 2, 0);
    const variance = (spread / (n * n)) * ((k + 1) / k);
    const chi2 = k * (1 - 2 / (9 * k) + Z25 * Math.sqrt(2 / (9 * k))) ** 3;
    return Math.max(1, (variance * k) / chi2 / ((q * (1 - q)) / n));
}

/**
 * The order-statistic interval of the q-quantile of groups pooled, from the ranks of n / deff
 * independent samples (deff: designEffect) mapped onto the pooled ones; with groups that agree it
 * is quantileInterval's. Its level is the binomial one at that effective size. In simulation
 * (test/unit/core/bench/stats.pooled-percentiles.test.ts) it holds where repetitions differ by 10-20% and drift, which
 * the independent-sample interval does not (a P50 of 5 x 40 echoes covered 71% for 95% stated).
 */
export function pooledQuantileInterval(
    groups: readonly (readonly number[])[],
    q: number,
    level = 0.95,
): { low: number | null; high: number | null; level: number; designEffect: number } {
    const s = groups.flat().sort((x, y) => x - y);
    const n = s.length;
    if (n === 0) throw new Error("quantile interval of no values");
    const deff = designEffect(groups, q, percentile(s, q * 100));
    const m = Math.max(1, Math.floor(n / deff));
    const r = quantileRanks(m, q, level);
    // Rank j of m samples stands for the pooled ranks it spans: (j - 1) n / m .. j n / m.
    const low = r.lo === 0 ? null : s[Math.min(n - 1, Math.floor(((r.lo - 1) / m) * n))];
    const high = r.hi === m ? null : s[Math.min(n - 1, Math.ceil(((r.hi + 1) / m) * n) - 1)];
    return { low, high, level: r.level, designEffect: deff };
}

/** The knee of a latency-vs-load sweep: the highest load before P99 first exceeds factor x the first (least loaded) step's P99. */
export function knee(steps: readonly { load: number; p99: number }[], factor: number): number | undefined {
    if (steps.length === 0) return undefined;
    const base = steps[0].p99;
    let last = steps[0].load;
    for (const s of steps.slice(1)) {
        if (s.p99 > factor * base) break;
        last = s.load;
    }
    return last;
}
