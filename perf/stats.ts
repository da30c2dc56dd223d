// npm run bench -- stats: the statistics of compare and the report against a known truth, from the
// code the CLI runs (compareDocs, the report's markdown) on results documents synthesized by the
// noise model of core/ab/noise.ts (lognormal CV per cell, 5% bad repetitions, drift up to 5%).
// Every rate is printed with its trial count and a 95% Wilson interval. Seeded: the same figures on
// every run. No I/O beyond printing.
import { type Comparison, type CompareOptions, compareDocs } from "../core/ab/comparison";
import { decide, metricDirection, rankTest } from "../core/ab/abtest";
import { REALISTIC, type SynthPair, driftPath, lognormal, repetitions, synthesizeRun } from "../core/ab/noise";
import { power } from "../core/ab/power";
import { EXIT_REGRESSION, EXIT_UNDERPOWERED, gateOutcome } from "../core/ab/gate";
import { median, mulberry32 } from "../core/bench/stats";
import { voltMarkdown } from "../core/report/volt";

export interface Rate {
    rate: number;
    low: number;
    high: number;
    hits: number;
    trials: number;
}

/** A rate with its 95% Wilson score interval. */
export function rate(hits: number, trials: number): Rate {
    const z = 1.96;
    const p = trials > 0 ? hits / trials : 0;
    const d = 1 + (z * z) / trials;
    const c = (p + (z * z) / (2 * trials)) / d;
    const h = (z * Math.sqrt((p * (1 - p)) / trials + (z * z) / (4 * trials * trials))) / d;
    return { rate: p, low: Math.max(0, c - h), high: Math.min(1, c + h), hits, trials };
}

const fmt = (r: Rate) => `${(r.rate * 100).toFixed(1)}% [${(r.low * 100).toFixed(1)}, ${(r.high * 100).toFixed(1)}] (${r.hits}/${r.trials})`;

/** The exit code `netbed compare` gives this comparison (core/ab/gate.ts). */
const exitCode = (c: Comparison) => gateOutcome(c).code;

/** The verdicts do not depend on the interval's resamples: fewer of them keep thousands of comparisons fast. */
const FAST: CompareOptions = { resamples: 100 };

const guests = (k: number, effects?: SynthPair["effects"]): SynthPair[] =>
    Array.from({ length: k }, (_, i) => ({ label: `guest${i + 1}`, guest: true, ...(i === 1 && effects ? { effects } : {}) }));

/** Pairs guest1 and guest2 of one interleaved run, as `compare --pair-a guest1 --pair-b guest2` does. */
function compareGuests(seed: number, n: number, cv: number | [number, number], effects?: SynthPair["effects"], paired?: CompareOptions["paired"]): Comparison {
    const doc = synthesizeRun({ seed, repetitions: n, pairs: guests(2, effects), cv });
    return compareDocs(doc, doc, { ...FAST, pairA: "guest1", pairB: "guest2", paired });
}

const called = (v: string) => v === "regression" || v === "improvement" || v === "change";

/** Two identical configurations in one run: per-metric false calls, and the shares of exit 3 and of exit 5 (underpowered). */
function nullGate(cv: number | [number, number], n: number, trials: number, seed: number): { perMetric: Rate; exit3: Rate; exit5: Rate } {
    let calls = 0;
    let tests = 0;
    let exit3 = 0;
    let exit5 = 0;
    for (let t = 0; t < trials; t++) {
        const c = compareGuests(seed + t, n, cv);
        const ms = c.cells.flatMap((x) => x.metrics);
        tests += ms.length;
        calls += ms.filter((m) => called(m.verdict)).length;
        const code = exitCode(c);
        if (code === EXIT_REGRESSION) exit3++;
        if (code === EXIT_UNDERPOWERED) exit5++;
    }
    return { perMetric: rate(calls, tests), exit3: rate(exit3, trials), exit5: rate(exit5, trials) };
}

/** Labels that say one guest is better than another (analysis.ts and the conclusions). */
const LABEL = /(?<!not )significant, p|\bleads (?!0\b)|significantly (better|worse) on /;
const DEFAULT = /^- Default: `/m;

/** Null reports: bare metal and k identical guests; the share with any between-guest label, and with a Default. */
function nullReports(k: number, n: number, trials: number, seed: number): { anyLabel: Rate; defaultLine: Rate } {
    let label = 0;
    let def = 0;
    for (let t = 0; t < trials; t++) {
        const doc = synthesizeRun({ seed: seed + t, repetitions: n, pairs: [{ label: "bare-metal", guest: false }, ...guests(k)], cv: [0.02, 0.3] });
        const md = voltMarkdown(doc);
        if (LABEL.test(md)) label++;
        if (DEFAULT.test(md)) def++;
    }
    return { anyLabel: rate(label, trials), defaultLine: rate(def, trials) };
}

/** True effect of a regression of `e` on every metric: lower-is-better up by e, higher-is-better down by e. */
function regressionEverywhere(doc: ReturnType<typeof synthesizeRun>, e: number): Record<string, number> {
    const names = new Set(doc.cells.flatMap((c) => Object.keys(c.repetitions[0]?.metrics ?? {})));
    return Object.fromEntries([...names].map((m) => [m, metricDirection(m) === "higher" ? -e / (1 + e) : e]));
}

/** Per-metric power through compare with every metric regressed by e, pairing as `paired` says. */
function pairingPower(n: number, cv: number, e: number, paired: CompareOptions["paired"], trials: number, seed: number): Rate {
    const all = regressionEverywhere(synthesizeRun({ seed, repetitions: 2, pairs: guests(1), cv }), e);
    let hits = 0;
    let tests = 0;
    for (let t = 0; t < trials; t++) {
        const ms = compareGuests(seed + t, n, cv, all, paired)
            .cells.flatMap((x) => x.metrics)
            .filter((m) => m.medianA !== 0);
        tests += ms.length;
        hits += ms.filter((m) => m.verdict === "regression").length;
    }
    return rate(hits, tests);
}

/** Power through compare: per metric (every metric regressed by e) and per comparison (only tcp-1's gbps regressed: exit 3). */
function powerThroughCompare(n: number, cv: number, e: number, trials: number, seed: number): { perMetric: Rate; perComparison: Rate } {
    const all = regressionEverywhere(synthesizeRun({ seed, repetitions: 2, pairs: guests(1), cv }), e);
    let hits = 0;
    let tests = 0;
    let exits = 0;
    for (let t = 0; t < trials; t++) {
        const c = compareGuests(seed + t, n, cv, all);
        const ms = c.cells.flatMap((x) => x.metrics).filter((m) => m.medianA !== 0);
        tests += ms.length;
        hits += ms.filter((m) => m.verdict === "regression").length;
        const one = synthesizeRun({ seed: seed + 7919 * (t + 1), repetitions: n, pairs: guests(2), cv });
        const b = one.cells.find((x) => x.pair === "guest2" && x.cell === "tcp-1")!;
        for (const r of b.repetitions) r.metrics.gbps /= 1 + e;
        if (exitCode(compareDocs(one, one, { ...FAST, pairA: "guest1", pairB: "guest2" })) === EXIT_REGRESSION) exits++;
    }
    return { perMetric: rate(hits, tests), perComparison: rate(exits, trials) };
}

/** Wilcoxon-Mann-Whitney's rank sum with its permutation p (exact up to 5000 splits, as rankTest is here), the alternative to Brunner-Munzel. */
function wilcoxonP(a: readonly number[], b: readonly number[], seed: number, draws = 2000): number {
    const pooled = [...a, ...b];
    const ranks = pooled.map((v) => pooled.filter((x) => x < v).length + (pooled.filter((x) => x === v).length + 1) / 2);
    const n = pooled.length;
    const k = b.length;
    const mid = (k * (n + 1)) / 2;
    const obs = Math.abs(ranks.slice(a.length).reduce((s, x) => s + x, 0) - mid) - 1e-9;
    let splits = 1;
    for (let i = 1; i <= k; i++) splits = (splits * (n - k + i)) / i;
    if (splits <= 5000) {
        let hits = 0;
        const walk = (start: number, left: number, sum: number) => {
            if (left === 0) hits += Math.abs(sum - mid) >= obs ? 1 : 0;
            else for (let i = start; i <= n - left; i++) walk(i + 1, left - 1, sum + ranks[i]);
        };
        walk(0, k, 0);
        return hits / Math.round(splits);
    }
    const rnd = mulberry32(seed);
    let hits = 0;
    for (let d = 0; d < draws; d++) {
        let s = 0;
        for (let i = n - 1; i >= n - k; i--) {
            const j = Math.floor(rnd() * (i + 1));
            [ranks[i], ranks[j]] = [ranks[j], ranks[i]];
            s += ranks[i];
        }
        if (Math.abs(s - mid) >= obs) hits++;
    }
    return (1 + hits) / (1 + draws);
}

/** Why Brunner-Munzel: size with equal medians and unequal spread, and power with bad repetitions and drift. */
function testChoice(trials: number): Record<string, unknown> {
    const rnd = mulberry32(7);
    const size: Record<string, { brunnerMunzel: Rate; wilcoxon: Rate }> = {};
    for (const n of [5, 10, 20]) {
        let bm = 0;
        let w = 0;
        for (let t = 0; t < trials; t++) {
            const a = Array.from({ length: n }, () => lognormal(rnd, 0.02));
            const b = Array.from({ length: n }, () => lognormal(rnd, 0.3));
            if (rankTest(a, b, { seed: t, exactLimit: 5000, permutations: 2000 }).pValue <= 0.01) bm++;
            if (wilcoxonP(a, b, t) <= 0.01) w++;
        }
        size[`n${n}`] = { brunnerMunzel: rate(bm, trials), wilcoxon: rate(w, trials) };
        console.log(
            `  size at alpha 1%, equal medians, CV 2% vs 30%, n ${n}: Brunner-Munzel ${fmt(size[`n${n}`].brunnerMunzel)}, Wilcoxon ${fmt(size[`n${n}`].wilcoxon)}`,
        );
    }
    const pw: Record<string, { brunnerMunzel: Rate; wilcoxon: Rate }> = {};
    for (const n of [5, 8, 10, 20]) {
        let bm = 0;
        let w = 0;
        for (let t = 0; t < trials; t++) {
            const drift = driftPath(rnd, n, REALISTIC.drift);
            const a = repetitions(rnd, 1, true, { ...REALISTIC, cv: 0.02 }, drift);
            const b = repetitions(rnd, 1.1, true, { ...REALISTIC, cv: 0.02 }, drift);
            const large = median(b) / median(a) - 1 > 0.05;
            if (large && rankTest(a, b, { seed: t, exactLimit: 5000, permutations: 2000 }).pValue <= 0.01) bm++;
            if (large && wilcoxonP(a, b, t) <= 0.01) w++;
        }
        pw[`n${n}`] = { brunnerMunzel: rate(bm, trials), wilcoxon: rate(w, trials) };
        console.log(
            `  power, +10% at CV 2%, 5% bad repetitions, drift, n ${n}: Brunner-Munzel ${fmt(pw[`n${n}`].brunnerMunzel)}, Wilcoxon ${fmt(pw[`n${n}`].wilcoxon)}`,
        );
    }
    return { size, power: pw };
}

/** At a true +5% and CV 30% (n = 5): the share of called changes whose sign is wrong. */
function wrongSign(trials: number): Rate {
    const rnd = mulberry32(11);
    let calls = 0;
    let wrong = 0;
    for (let t = 0; t < trials; t++) {
        const drift = driftPath(rnd, 5, REALISTIC.drift);
        const a = repetitions(rnd, 1, true, { ...REALISTIC, cv: 0.3 }, drift);
        const b = repetitions(rnd, 1.05, true, { ...REALISTIC, cv: 0.3 }, drift);
        const d = decide(a, b, { paired: false, alpha: 0.01, threshold: 0.05 });
        if (d.significant && d.large) {
            calls++;
            if (!d.up) wrong++;
        }
    }
    return rate(wrong, calls);
}

export async function main(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    const T = { gate: 250, reports: 200, power: 30, choice: 600, monotone: 600, pairing: 15 };
    console.log("test choice (per metric, decide's test alone):");
    out.testChoice = testChoice(T.choice);
    const ws = wrongSign(20000);
    console.log(`wrong sign among called changes at a true +5%, CV 30%, n 5: ${fmt(ws)}`);
    out.wrongSign = ws;
    const gate: Record<string, unknown> = {};
    for (const n of [5, 8]) {
        console.log(`two identical configurations in one interleaved run, ${n} repetitions (compare --pair-a guest1 --pair-b guest2):`);
        for (const [name, cv] of [
            ["cv2-30", [0.02, 0.3]],
            ["cv2", 0.02],
            ["cv10", 0.1],
            ["cv30", 0.3],
        ] as const) {
            const r = nullGate(cv as number | [number, number], n, T.gate, 1000);
            gate[`n${n}-${name}`] = r;
            console.log(`  CV ${name.slice(2)}%: per-metric false calls ${fmt(r.perMetric)}; exit 3 ${fmt(r.exit3)}; exit 5 (underpowered) ${fmt(r.exit5)}`);
        }
    }
    out.nullGate = gate;
    const reports: Record<string, unknown> = {};
    for (const n of [5, 8]) {
        console.log(`null reports (bare metal + identical guests, ${n} repetitions, CV 2-30%):`);
        for (const k of [2, 3]) {
            const r = nullReports(k, n, T.reports, 5000);
            reports[`n${n}-guests${k}`] = r;
            console.log(`  ${k} guests: any between-guest label ${fmt(r.anyLabel)}; a Default line ${fmt(r.defaultLine)}`);
        }
    }
    out.nullReports = reports;
    console.log("pairing: per-metric power through compare, every metric regressed by 10%, one run (--paired always against the default, unpaired):");
    const pairing: Record<string, unknown> = {};
    for (const cv of [0.02, 0.05])
        for (const n of [8, 10, 20]) {
            const always = pairingPower(n, cv, 0.1, "always", T.pairing, 30000);
            const never = pairingPower(n, cv, 0.1, "never", T.pairing, 30000);
            pairing[`cv${cv * 100}-n${n}`] = { paired: always, unpaired: never };
            console.log(`  CV ${cv * 100}%, n ${n}: paired (always) ${fmt(always)}; unpaired ${fmt(never)}`);
        }
    out.pairing = pairing;
    console.log("power per metric (decide under the noise model), +10% at CV 5%:");
    const mono: Record<string, number> = {};
    for (const n of [5, 6, 8, 10, 15, 20]) {
        mono[`n${n}`] = power(n, 0.05, 0.1, { trials: T.monotone, seed: 99 });
        console.log(`  n ${n}: ${fmt(rate(Math.round(mono[`n${n}`] * T.monotone), T.monotone))}`);
    }
    out.monotoneCv5 = mono;
    console.log("power through compare (per metric: every metric regressed; per comparison: tcp-1 gbps regressed, exit 3):");
    const pw: Record<string, unknown> = {};
    for (const e of [0.05, 0.1, 0.2])
        for (const cv of [0.02, 0.1, 0.3])
            for (const n of [5, 8, 10, 20]) {
                const r = powerThroughCompare(n, cv, e, T.power, 20000);
                pw[`e${e * 100}-cv${cv * 100}-n${n}`] = r;
                console.log(`  ${e * 100}% at CV ${cv * 100}%, n ${n}: per metric ${fmt(r.perMetric)}; per comparison ${fmt(r.perComparison)}`);
            }
    out.power = pw;
    return out;
}
