// Power of `netbed compare`'s decision rule, by simulation of the rule itself: the exact (or Monte
// Carlo) permutation test at alpha AND |change of the median| beyond the noise threshold. A normal
// approximation of a t-test ignores both: that the permutation test cannot reach alpha below 5
// repetitions unpaired (8 paired), and that a true change equal to the threshold is called only
// when the observed change happens to exceed it (about half the time, however many repetitions).
// Pure and deterministic (seeded).
import { decide, repetitionsNeeded } from "./abtest";
import { mulberry32 } from "./stats";

export interface PowerOptions {
    alpha?: number;
    threshold?: number;
    /** "auto": paired from the repetitions at which the paired test can reach alpha (one run, interleaved), as compare does. */
    paired?: boolean | "auto";
    trials?: number;
    seed?: number;
}

function normal(rnd: () => number): number {
    return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/**
 * The fraction of simulated A/B comparisons (n repetitions per side, normal noise of coefficient of
 * variation cv, B's true mean higher by `effect`) in which the rule calls the change, in the right
 * direction.
 */
export function power(n: number, cv: number, effect: number, o: PowerOptions = {}): number {
    const alpha = o.alpha ?? 0.01;
    const threshold = o.threshold ?? 0.05;
    const paired = o.paired === undefined || o.paired === "auto" ? n >= repetitionsNeeded(alpha, true) : o.paired;
    const trials = o.trials ?? 1000;
    const rnd = mulberry32(o.seed ?? 0x5eed);
    let called = 0;
    for (let t = 0; t < trials; t++) {
        const a = Array.from({ length: n }, () => 1 + cv * normal(rnd));
        const b = Array.from({ length: n }, () => (1 + effect) * (1 + cv * normal(rnd)));
        // Monte Carlo beyond a few thousand arrangements: p to 1/2001 is enough to compare with alpha.
        const d = decide(a, b, { paired, alpha, threshold, seed: t, exactLimit: 5000, permutations: 2000 });
        if (!d.underpowered && d.significant && d.large && d.up) called++;
    }
    return called / trials;
}

/**
 * The fewest repetitions per side (up to maxN) at which the rule calls a true change of `effect`
 * with at least `target` power; null when none does (e.g. effect <= threshold: the observed change
 * exceeds the threshold only about half the time).
 */
export function repetitionsFor(cv: number, effect: number, o: PowerOptions & { target?: number; maxN?: number } = {}): number | null {
    const target = o.target ?? 0.8;
    for (let n = repetitionsNeeded(o.alpha ?? 0.01, false); n <= (o.maxN ?? 30); n++) if (power(n, cv, effect, o) >= target) return n;
    return null;
}
