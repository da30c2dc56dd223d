// Adjusted p-values over a family of tests: a decision "adjusted p <= level" then controls the error
// over the whole family, not per test. Pure.
//
// Holm's step-down controls the family-wise error rate (the chance of ANY false call) under any
// dependence between the tests: the gate of `netbed compare`, where one false call fails a build.
// Benjamini-Hochberg controls the false discovery rate (the expected share of false calls among the
// calls), valid for independent or positively dependent tests, and under the complete null (nothing
// differs) it is the chance of any call: the report's labels, where several true differences should
// not each have to survive a Bonferroni-sized level.

/** Indices of p, smallest p first (ties in input order, so the result is deterministic). */
function ascending(p: readonly number[]): number[] {
    return p.map((_, i) => i).sort((x, y) => p[x] - p[y] || x - y);
}

/** Holm's adjusted p-values: the i-th smallest is max over j <= i of (m - j + 1) * p_(j), capped at 1. */
export function holm(p: readonly number[]): number[] {
    const m = p.length;
    const out = new Array<number>(m);
    let running = 0;
    ascending(p).forEach((idx, rank) => {
        running = Math.max(running, Math.min(1, (m - rank) * p[idx]));
        out[idx] = running;
    });
    return out;
}

/** Benjamini-Hochberg adjusted p-values: the i-th smallest is min over j >= i of m * p_(j) / j, capped at 1. */
export function benjaminiHochberg(p: readonly number[]): number[] {
    const m = p.length;
    const out = new Array<number>(m);
    const order = ascending(p);
    let running = 1;
    for (let rank = m - 1; rank >= 0; rank--) {
        const idx = order[rank];
        running = Math.min(running, (m * p[idx]) / (rank + 1));
        out[idx] = running;
    }
    return out;
}
