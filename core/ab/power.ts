// Power of `netbed compare`'s decision rule, by simulation of the rule itself (decide: the rank
// test at alpha AND |change of the median| beyond the noise threshold) under the realistic noise
// model of noise.ts: lognormal noise, bad repetitions and a drift within the run. Normal noise
// without outliers overstated power (a 10% change at CV 2%: 99-100% said, 56-75% under this noise
// with the earlier test). Pure and deterministic (seeded).
import { decide, repetitionsNeeded } from "./abtest";
import { type Noise, REALISTIC, driftPath, repetitions } from "./noise";
import { mulberry32 } from "../bench/stats";

export interface PowerOptions {
    alpha?: number;
    threshold?: number;
    /** The noise besides its CV (default: noise.ts's REALISTIC: 5% bad repetitions, drift up to 5%). */
    noise?: Omit<Noise, "cv">;
    trials?: number;
    seed?: number;
}

/**
 * The fraction of simulated A/B comparisons (n repetitions per side measured interleaved, noise of
 * coefficient of variation cv, B's true median higher by `effect`, on a higher-is-better metric)
 * in which the rule calls the change, in the right direction.
 */
export function power(n: number, cv: number, effect: number, o: PowerOptions = {}): number {
    const alpha = o.alpha ?? 0.01;
    const threshold = o.threshold ?? 0.05;
    const noise = { ...(o.noise ?? REALISTIC), cv };
    const trials = o.trials ?? 1000;
    const rnd = mulberry32(o.seed ?? 0x5eed);
    let called = 0;
    for (let t = 0; t < trials; t++) {
        const drift = driftPath(rnd, n, noise.drift);
        const a = repetitions(rnd, 1, true, noise, drift);
        const b = repetitions(rnd, 1 + effect, true, noise, drift);
        // Monte Carlo beyond a few thousand arrangements: p to 1/2001 is enough to compare with alpha.
        const d = decide(a, b, { paired: false, alpha, threshold, seed: t, exactLimit: 5000, permutations: 2000 });
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
