// Which guest is better, from significant differences only. Within one run, per table row (a metric
// of a cell) and pair of guests, the rank test of `netbed compare` on the repetitions (unpaired, as
// compare's default) and a change of the median beyond the noise threshold.
//
// A report makes many such tests (a row per metric, a pair of guests per row): every "significant",
// "leads", "better"/"worse" label and the ranking come from ONE family, all row x guest-pair tests
// of the report, whose p-values are adjusted by Benjamini-Hochberg at q = 0.04 (false discovery
// rate; with no true difference anywhere, the chance of any label at all, which is meant to stay
// under 5%: q sits below it because BH spends all of q under the null, and the rows of one cell
// and the pairs sharing a guest are not independent). BH rather than Holm: a
// real difference between backends moves many rows at once, and BH lets several of them be called
// without each surviving a Bonferroni-sized level. On top of that, a guest BEATS another (overall,
// or in a category) only where it is significantly better in at least two distinct cells and worse
// in none; rows of one cell (ICMP P50/P95/P99) are one measurement and count once. It is
// recommended (as the default, or for a category) only where it beats every other guest. Null
// simulations of the labels and of the ranking (test/unit/core/ab/rank.test.ts) bound how often they appear by
// chance.
import type { ResultsDoc } from "../bench/results";
import { decide, zeroThresholdFor } from "./abtest";
import { repetitionValues } from "./comparison";
import { benjaminiHochberg } from "./multiplicity";
import { type Category, type Column, type Row, findCell } from "../report/model";

export interface RankOptions {
    /** False discovery rate of the family of all row tests (default 0.04). */
    q?: number;
    /** Noise threshold on |relative change of the median| (default 0.05, as `netbed compare`). */
    threshold?: number;
}

/** Distinct cells a guest must win (and lose none) to beat another. */
const CELLS_TO_BEAT = 2;

export interface RowOutcome {
    row: Row;
    a: Column;
    b: Column;
    /** The significantly better one, or undefined for a tie. */
    better?: Column;
    /** The test's raw p-value. */
    pValue: number;
    /** pValue adjusted by Benjamini-Hochberg over every row test of the report: the label comes from it. */
    pAdjusted: number;
    /** Relative change b vs a of the median (b / a - 1). */
    change: number | null;
    /** Even the smallest p these repetitions allow cannot be called (above q). */
    underpowered: boolean;
    paired: boolean;
}

export interface Ranking {
    guests: Column[];
    outcomes: RowOutcome[];
    /** beats.get(x) = the guests x beats overall. */
    beats: Map<Column, Column[]>;
    /** Per category, the guest that beats every other guest there, if any. */
    categoryBest: Partial<Record<Category, Column>>;
    /** The guest that beats every other guest overall, if any. */
    best?: Column;
    /** Tiers, best first: guests beating the same number of others share a tier. */
    tiers: Column[][];
    q: number;
    /** Row tests in the family (every row x guest pair with values on both sides). */
    tests: number;
    threshold: number;
}

function seriesOf(doc: ResultsDoc, pair: string, row: Row): Map<number, number> | undefined {
    const c = findCell(doc, pair, row.cell);
    if (c?.status !== "ok") return undefined;
    return repetitionValues(c, doc.run.settings.duration).get(row.metric);
}

interface Series {
    row: Row;
    a: Column;
    b: Column;
    sa: Map<number, number>;
    sb: Map<number, number>;
}

/** One row's test between guests a and b, before the family's adjustment. */
function outcome({ row, a, b, sa, sb }: Series, q: number, threshold: number): RowOutcome & { large: boolean; up: boolean } {
    const values = (m: Map<number, number>) => [...m.keys()].sort((x, y) => x - y).map((i) => m.get(i)!);
    const paired = false;
    const d = decide(values(sa), values(sb), { paired, alpha: q, threshold, zeroThreshold: zeroThresholdFor(row.metric) });
    const p = d.test.pValue;
    return { row, a, b, pValue: p, pAdjusted: p, change: d.change, underpowered: d.test.minPValue > q, paired, large: d.large, up: d.up };
}

/** Every row x guest-pair test with values on both sides, labelled from its BH-adjusted p. */
function outcomes(doc: ResultsDoc, rs: Row[], guests: Column[], q: number, threshold: number): RowOutcome[] {
    const series: Series[] = [];
    for (const row of rs) {
        for (let i = 0; i < guests.length; i++) {
            for (let j = i + 1; j < guests.length; j++) {
                const sa = seriesOf(doc, guests[i].pair, row);
                const sb = seriesOf(doc, guests[j].pair, row);
                if (sa && sb && sa.size > 0 && sb.size > 0) series.push({ row, a: guests[i], b: guests[j], sa, sb });
            }
        }
    }
    const raw = series.map((s) => outcome(s, q, threshold));
    const adjusted = benjaminiHochberg(raw.map((o) => o.pValue));
    return raw.map(({ large, up, ...o }, k) => {
        const called = adjusted[k] <= q && large && !o.underpowered;
        return { ...o, pAdjusted: adjusted[k], better: called ? (o.row.higherIsBetter === up ? o.b : o.a) : undefined };
    });
}

function beatsIn(outcomes: readonly RowOutcome[], x: Column, y: Column): boolean {
    const won = new Set<string>();
    for (const o of outcomes) {
        if (!((o.a === x && o.b === y) || (o.a === y && o.b === x)) || !o.better) continue;
        if (o.better === y) return false;
        won.add(o.row.cell);
    }
    return won.size >= CELLS_TO_BEAT;
}

/** The ranking of the guests over the report's rows (the view's columns and rows, core/report/view.ts). */
export function rank(doc: ResultsDoc, guests: Column[], byCat: Record<Category, Row[]>, opts: RankOptions = {}): Ranking {
    const q = opts.q ?? 0.04;
    const threshold = opts.threshold ?? 0.05;
    const all = outcomes(
        doc,
        (Object.keys(byCat) as Category[]).flatMap((k) => byCat[k]),
        guests,
        q,
        threshold,
    );
    const others = (x: Column) => guests.filter((g) => g !== x);
    const beats = new Map(guests.map((x) => [x, others(x).filter((y) => beatsIn(all, x, y))]));
    const categoryBest: Partial<Record<Category, Column>> = {};
    for (const cat of Object.keys(byCat) as Category[]) {
        const inCat = all.filter((o) => o.row.category === cat);
        const top = guests.find((x) => guests.length > 1 && others(x).every((y) => beatsIn(inCat, x, y)));
        if (top) categoryBest[cat] = top;
    }
    const best = guests.length > 1 ? guests.find((x) => beats.get(x)!.length === guests.length - 1) : undefined;
    const counts = [...new Set(guests.map((g) => beats.get(g)!.length))].sort((a, b) => b - a);
    const tiers = counts.map((n) => guests.filter((g) => beats.get(g)!.length === n));
    return { guests, outcomes: all, beats, categoryBest, best, tiers, q, tests: all.length, threshold };
}

/** The rule in one sentence, for the report: the procedure and its family, stated once. */
export function ruleText(r: Pick<Ranking, "q" | "tests" | "threshold">): string {
    return `a difference counts where the permutation test's p on the repetitions, adjusted by Benjamini-Hochberg over all ${r.tests} row × guest-pair tests of this report (false discovery rate q = ${r.q}), is <= ${r.q} and the medians differ by more than ${(r.threshold * 100).toFixed(0)}%; every "significant", "leads" and "better"/"worse" label comes from this rule and prints the adjusted p; a backend beats another where it is better so in at least ${CELLS_TO_BEAT} distinct tests and worse in none`;
}
