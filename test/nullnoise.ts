// Results documents of identical guests under realistic benchmark noise, for the null simulations
// of the report's labels (test/rank.test.ts): what a label bound must hold against.
import { metricDirection } from "../core/bench/abtest";
import type { ResultsDoc } from "../core/bench/results";
import { summarize } from "../core/bench/stats";
import { simulatedDoc } from "./simulated";

/**
 * Identical guests under realistic noise: per cell a CV drawn from 2-30%, lognormal repetitions, 5%
 * bad repetitions (30% worse), and a drift of up to +-5% across the run shared by every pair (they
 * were interleaved). Built on simulatedDoc's matrix with its own noise at 0.
 */
export function realisticNullDoc(rnd: () => number, pairs: string[], reps: number): ResultsDoc {
    const doc = simulatedDoc(rnd, pairs, reps, 0);
    const drift = (rnd() * 2 - 1) * 0.05;
    const cvOf = new Map<string, number>();
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    for (const c of doc.cells) {
        if (!cvOf.has(c.cell)) cvOf.set(c.cell, 0.02 + 0.28 * rnd());
        const sigma = Math.sqrt(Math.log(1 + cvOf.get(c.cell)! ** 2));
        for (const r of c.repetitions) {
            const bad = rnd() < 0.05;
            const shared = 1 + (drift * r.index) / Math.max(1, reps - 1);
            for (const [k, v] of Object.entries(r.metrics)) {
                const worse = bad ? (metricDirection(k) === "higher" ? 0.7 : 1.3) : 1;
                r.metrics[k] = v * shared * worse * Math.exp(sigma * gauss() - sigma ** 2 / 2);
            }
        }
        for (const k of Object.keys(c.metrics)) c.metrics[k] = summarize(c.repetitions.map((r) => r.metrics[k]));
    }
    return doc;
}
