// Which guest is better, from significant differences only. Within one run, per table row (a metric
// of a cell) and pair of guests, the rule `netbed compare` applies: the permutation test on the
// repetitions at alpha (paired by repetition index where the pairs were interleaved and there are
// enough repetitions for the paired test to reach alpha) AND a change of the median beyond the noise
// threshold. Anything else is a tie.
//
// A report makes many such tests (a row per metric, a pair of guests per row), so a single
// significant row would name a "best" backend by chance far too often (at 5 repetitions and high
// CV, about 1 row in 250 per direction). A guest is therefore said to BEAT another (overall, or in a
// category) only where it is significantly better in at least two distinct cells and significantly
// worse in none; rows of one cell (ICMP P50/P95/P99) are one measurement and count once. It is
// recommended (as the default, or for a category) only where it beats every other guest. The
// hierarchy orders guests by how many others they beat; equal counts are ties. A null simulation
// of this rule (test/rank.test.ts) bounds how often it names a best guest by chance.
import type { ResultsDoc } from "../bench/results";
import { decide } from "../bench/abtest";
import { repetitionValues } from "../bench/comparison";
import { type Category, type Column, type Row, columns, findCell, rows } from "./model";

export interface RankOptions {
    /** Significance level of the per-row test (default 0.01, as `netbed compare`). */
    alpha?: number;
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
    pValue: number;
    /** Relative change b vs a of the median (b / a - 1). */
    change: number | null;
    /** The test cannot reach alpha with these repetitions. */
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
    alpha: number;
    threshold: number;
}

function seriesOf(doc: ResultsDoc, pair: string, row: Row): Map<number, number> | undefined {
    const c = findCell(doc, pair, row.cell);
    if (c?.status !== "ok") return undefined;
    return repetitionValues(c, doc.run.settings.duration).get(row.metric);
}

/** One row, guests a and b, by the compare rule. */
function outcome(doc: ResultsDoc, row: Row, a: Column, b: Column, alpha: number, threshold: number): RowOutcome | undefined {
    const sa = seriesOf(doc, a.pair, row);
    const sb = seriesOf(doc, b.pair, row);
    if (!sa || !sb || sa.size === 0 || sb.size === 0) return undefined;
    const idx = [...sa.keys()].sort((x, y) => x - y);
    // Pairs of one run were interleaved: rep i of each was measured back to back.
    const paired = sa.size === sb.size && idx.every((i) => sb.has(i)) && 2 / 2 ** idx.length <= alpha;
    const va = idx.map((i) => sa.get(i)!);
    const vb = paired ? idx.map((i) => sb.get(i)!) : [...sb.keys()].sort((x, y) => x - y).map((i) => sb.get(i)!);
    const d = decide(va, vb, { paired, alpha, threshold });
    const called = !d.underpowered && d.significant && d.large;
    const bBetter = row.higherIsBetter === d.up;
    return { row, a, b, better: called ? (bBetter ? b : a) : undefined, pValue: d.test.pValue, change: d.change, underpowered: d.underpowered, paired };
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

export function rank(doc: ResultsDoc, opts: RankOptions = {}): Ranking {
    const alpha = opts.alpha ?? 0.01;
    const threshold = opts.threshold ?? 0.05;
    const guests = columns(doc).filter((c) => !c.native);
    const byCat = rows(doc);
    const outcomes: RowOutcome[] = [];
    for (const row of (Object.keys(byCat) as Category[]).flatMap((k) => byCat[k])) {
        for (let i = 0; i < guests.length; i++) {
            for (let j = i + 1; j < guests.length; j++) {
                const o = outcome(doc, row, guests[i], guests[j], alpha, threshold);
                if (o) outcomes.push(o);
            }
        }
    }
    const others = (x: Column) => guests.filter((g) => g !== x);
    const beats = new Map(guests.map((x) => [x, others(x).filter((y) => beatsIn(outcomes, x, y))]));
    const categoryBest: Partial<Record<Category, Column>> = {};
    for (const cat of Object.keys(byCat) as Category[]) {
        const inCat = outcomes.filter((o) => o.row.category === cat);
        const top = guests.find((x) => guests.length > 1 && others(x).every((y) => beatsIn(inCat, x, y)));
        if (top) categoryBest[cat] = top;
    }
    const best = guests.length > 1 ? guests.find((x) => beats.get(x)!.length === guests.length - 1) : undefined;
    const counts = [...new Set(guests.map((g) => beats.get(g)!.length))].sort((a, b) => b - a);
    const tiers = counts.map((n) => guests.filter((g) => beats.get(g)!.length === n));
    return { guests, outcomes, beats, categoryBest, best, tiers, alpha, threshold };
}

/** The rule in one sentence, for the report. */
export function ruleText(r: Pick<Ranking, "alpha" | "threshold">): string {
    return `a difference counts where the permutation test on the repetitions gives p <= ${r.alpha} and the medians differ by more than ${(r.threshold * 100).toFixed(0)}% (the rule of \`netbed compare\`); a backend beats another where it is better so in at least ${CELLS_TO_BEAT} distinct tests and worse in none`;
}
