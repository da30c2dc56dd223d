// What the Volt report works out from a results document before it writes any text: the options
// it is written with, its context (columns, baselines, rows, the ranking), each row's guests best
// first and its significant leader, the percent of bare metal, and the noisy metrics. Shared by
// the report's sections (volt.ts, analysis.ts, appendix.ts). Pure.
import type { ResultsDoc } from "../bench/results";
import { type Category, type ChartSection, type Column, type Row, type Value, columns, nativePair, rows, value, virtioPair } from "./model";
import { type Ranking, type RowOutcome, rank } from "../ab/rank";

interface ChartRef {
    /** File base name (name.svg beside the report). */
    name: string;
    title: string;
    /** The section it belongs under. */
    section: ChartSection;
}

export interface ReportOptions {
    /** Where the results document was read from (listed under Raw Data). */
    resultsPath?: string;
    /** The directory the document's raw paths are relative to (default: run.resultsDir). */
    resultsDir?: string;
    /** Charts written beside the report, embedded under their sections. */
    charts?: readonly ChartRef[];
    /** The stack that produced the run, for the reproduce commands (default "local"). */
    stack?: string;
    /** The full anomalies list written beside the report (anomaliesMarkdown), linked from it. */
    anomaliesFile?: string;
    /** The run as CSV tables written beside the report (core/bench/export.ts), linked from it. */
    exportFiles?: readonly string[];
}

/** Coefficient of variation above which a cell's metric is called noisy (as the provider warns). */
export const HIGH_CV = 0.1;

export interface Ctx {
    doc: ResultsDoc;
    cols: Column[];
    guests: Column[];
    native?: Column;
    base?: Column;
    rows: Record<Category, Row[]>;
    ranking: Ranking;
}

/** The context every section reads. */
export function contextOf(doc: ResultsDoc): Ctx {
    const ranking = rank(doc);
    // The ranking's column objects, so outcomes can be matched by identity.
    const cols = columns(doc).map((c) => ranking.guests.find((g) => g.pair === c.pair) ?? c);
    const guests = cols.filter((c) => !c.native);
    return { doc, cols, guests, native: nativePair(cols), base: virtioPair(cols) ?? guests[0], rows: rows(doc), ranking };
}

export function uniq<T>(v: T[]): T[] {
    return [...new Set(v)];
}

export interface Ranked {
    col: Column;
    v: number;
    stats: Value & { ok: true };
}

/** Guests with a value for the row, best first. */
export function rankRow(ctx: Ctx, row: Row): Ranked[] {
    const r: Ranked[] = [];
    for (const col of ctx.guests) {
        const v = value(ctx.doc, row, col.pair);
        if (v.ok) r.push({ col, v: v.median, stats: v });
    }
    return r.sort((a, b) => (row.higherIsBetter ? b.v - a.v : a.v - b.v));
}

export function bestGuest(ctx: Ctx, row: Row): Ranked | undefined {
    return rankRow(ctx, row)[0];
}

/** The compare-rule outcome of one row between two guests (either order). */
export function outcomeOf(ctx: Ctx, row: Row, x: Column, y: Column): RowOutcome | undefined {
    return ctx.ranking.outcomes.find((o) => o.row.cell === row.cell && o.row.metric === row.metric && ((o.a === x && o.b === y) || (o.a === y && o.b === x)));
}

/** The guest significantly better than every other guest on the row, if one is. */
export function leader(ctx: Ctx, row: Row): Column | undefined {
    const r = rankRow(ctx, row);
    if (r.length < 2) return undefined;
    const a = r[0].col;
    return r.slice(1).every((x) => outcomeOf(ctx, row, a, x.col)?.better === a) ? a : undefined;
}

/** Rows of a category each guest leads significantly. */
export function wins(ctx: Ctx, rs: Row[]): Map<Column, Row[]> {
    const m = new Map<Column, Row[]>();
    for (const row of rs) {
        const l = leader(ctx, row);
        if (l) m.set(l, [...(m.get(l) ?? []), row]);
    }
    return m;
}

/** Geometric mean of percent of bare metal over higher-is-better rows. */
export function ofNative(ctx: Ctx, col: Column): number | undefined {
    if (!ctx.native) return undefined;
    const ratios: number[] = [];
    for (const row of (Object.keys(ctx.rows) as Category[]).flatMap((k) => ctx.rows[k]).filter((r) => r.higherIsBetter)) {
        const n = value(ctx.doc, row, ctx.native.pair);
        const v = value(ctx.doc, row, col.pair);
        if (n.ok && v.ok && n.median > 0 && v.median > 0) ratios.push(v.median / n.median);
    }
    return ratios.length > 0 ? Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length) * 100 : undefined;
}

export interface Noisy {
    pair: string;
    cell: string;
    metric: string;
    cv: number;
    n: number;
    median: number;
}

/** Metrics whose repetitions vary by more than HIGH_CV (loss and retransmits are noisy by nature). */
export function noisyMetrics(doc: ResultsDoc): Noisy[] {
    const out: Noisy[] = [];
    for (const c of doc.cells) {
        for (const [m, st] of Object.entries(c.metrics)) {
            if (st.n >= 2 && st.cv > HIGH_CV && !m.startsWith("loss") && !m.startsWith("retransmits"))
                out.push({ pair: c.pair, cell: c.cell, metric: m, cv: st.cv, n: st.n, median: st.median });
        }
    }
    return out;
}
