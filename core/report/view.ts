// The report's one view model, built once from a results document: its columns (one per pair)
// and baselines, the template's rows (labels, units, formats), every row's value in every column
// (median, interval, pooled percentile), the cells by pair and id, the load sweeps, the failed
// cells and noisy metrics, and what is significant (the ranking, core/ab/rank.ts). The markdown
// sections, the charts, the latency CDFs and the terminal summary all read it; the document itself
// (`doc`) only for what the view does not hold: the run, its settings, environment and warnings.
// Pure.
import { type Ranking, type RowOutcome, rank } from "../ab/rank";
import type { CellResult, ResultsDoc } from "../bench/results";
import { type Category, type ChartSection, type Column, type Row, type Value, columns, nativePair, repetitionsRange, rows, value, virtioPair } from "./model";

/** Coefficient of variation above which a cell's metric is called noisy (as the provider warns). */
export const HIGH_CV = 0.1;

export interface Noisy {
    pair: string;
    cell: string;
    metric: string;
    cv: number;
    n: number;
    median: number;
}

export interface ReportView {
    /** For what the view does not hold: the run, its settings, environment, warnings, raw paths. */
    doc: ResultsDoc;
    /** One per pair, in the run's pair order. */
    cols: Column[];
    guests: Column[];
    /** The pair the "% of bare metal" figures divide by. */
    native?: Column;
    /** The guest the analysis states differences against: the first virtio pair, else the first guest. */
    base?: Column;
    rows: Record<Category, Row[]>;
    /** Every row, category by category in table order. */
    allRows: Row[];
    /** The repetitions the finished cells ran: "5", or "5-15". */
    repetitions: string;
    /** Cell ids with a load sweep, in run order. */
    sweeps: string[];
    failed: CellResult[];
    noisy: Noisy[];
    /** The significance of every row between every two guests; worked out on first use (the terminal summary needs none). */
    readonly ranking: Ranking;
    /** Read through valueAt and cellOf. */
    values: ReadonlyMap<Row, ReadonlyMap<Column, Value>>;
    cells: ReadonlyMap<string, CellResult>;
}

const cellKey = (pair: string, id: string) => `${pair}\u0000${id}`;

/** The first cell of each pair and id, as the document lists them. */
function cellIndex(doc: ResultsDoc): Map<string, CellResult> {
    const m = new Map<string, CellResult>();
    for (const c of doc.cells) if (!m.has(cellKey(c.pair, c.cell))) m.set(cellKey(c.pair, c.cell), c);
    return m;
}

function valueIndex(doc: ResultsDoc, rs: readonly Row[], cols: readonly Column[]): Map<Row, Map<Column, Value>> {
    return new Map(rs.map((r) => [r, new Map(cols.map((c) => [c, value(doc, r, c.pair)]))]));
}

export function reportView(doc: ResultsDoc): ReportView {
    const cols = columns(doc);
    const guests = cols.filter((c) => !c.native);
    const byCat = rows(doc);
    const allRows = (Object.keys(byCat) as Category[]).flatMap((k) => byCat[k]);
    let ranking: Ranking | undefined;
    return {
        doc,
        cols,
        guests,
        native: nativePair(cols),
        base: virtioPair(cols) ?? guests[0],
        rows: byCat,
        allRows,
        repetitions: repetitionsRange(doc),
        sweeps: uniq(doc.cells.filter((c) => c.sweep && c.sweep.length > 0).map((c) => c.cell)),
        failed: doc.cells.filter((c) => c.status !== "ok"),
        noisy: noisyMetrics(doc),
        get ranking() {
            ranking ??= rank(doc, guests, byCat);
            return ranking;
        },
        values: valueIndex(doc, allRows, cols),
        cells: cellIndex(doc),
    };
}

/** A row's value in a column: a row and a column of this view. */
export function valueAt(view: ReportView, row: Row, col: Column): Value {
    const v = view.values.get(row)?.get(col);
    if (!v) throw new Error(`report view: no value for row '${row.label}' in column '${col.pair}' (a row or column from another view)`);
    return v;
}

/** A pair's cell by id (the document's first, as findCell). */
export function cellOf(view: ReportView, pair: string, id: string): CellResult | undefined {
    return view.cells.get(cellKey(pair, id));
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
export function rankRow(view: ReportView, row: Row): Ranked[] {
    const r: Ranked[] = [];
    for (const col of view.guests) {
        const v = valueAt(view, row, col);
        if (v.ok) r.push({ col, v: v.median, stats: v });
    }
    return r.sort((a, b) => (row.higherIsBetter ? b.v - a.v : a.v - b.v));
}

export function bestGuest(view: ReportView, row: Row): Ranked | undefined {
    return rankRow(view, row)[0];
}

/** The compare-rule outcome of one row between two guests (either order). */
export function outcomeOf(view: ReportView, row: Row, x: Column, y: Column): RowOutcome | undefined {
    return view.ranking.outcomes.find((o) => o.row.cell === row.cell && o.row.metric === row.metric && ((o.a === x && o.b === y) || (o.a === y && o.b === x)));
}

/** The guest significantly better than every other guest on the row, if one is. */
export function leader(view: ReportView, row: Row): Column | undefined {
    const r = rankRow(view, row);
    if (r.length < 2) return undefined;
    const a = r[0].col;
    return r.slice(1).every((x) => outcomeOf(view, row, a, x.col)?.better === a) ? a : undefined;
}

/** Rows of a category each guest leads significantly. */
export function wins(view: ReportView, rs: Row[]): Map<Column, Row[]> {
    const m = new Map<Column, Row[]>();
    for (const row of rs) {
        const l = leader(view, row);
        if (l) m.set(l, [...(m.get(l) ?? []), row]);
    }
    return m;
}

/** Geometric mean of percent of bare metal over higher-is-better rows. */
export function ofNative(view: ReportView, col: Column): number | undefined {
    const native = view.native;
    if (!native) return undefined;
    const ratios: number[] = [];
    for (const row of view.allRows.filter((r) => r.higherIsBetter)) {
        const n = valueAt(view, row, native);
        const v = valueAt(view, row, col);
        if (n.ok && v.ok && n.median > 0 && v.median > 0) ratios.push(v.median / n.median);
    }
    return ratios.length > 0 ? Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length) * 100 : undefined;
}

/** Metrics whose repetitions vary by more than HIGH_CV (loss and retransmits are noisy by nature). */
function noisyMetrics(doc: ResultsDoc): Noisy[] {
    const out: Noisy[] = [];
    for (const c of doc.cells) {
        for (const [m, st] of Object.entries(c.metrics)) {
            if (st.n >= 2 && st.cv > HIGH_CV && !m.startsWith("loss") && !m.startsWith("retransmits"))
                out.push({ pair: c.pair, cell: c.cell, metric: m, cv: st.cv, n: st.n, median: st.median });
        }
    }
    return out;
}

interface ChartRef {
    /** File base name (name.svg beside the report). */
    name: string;
    title: string;
    /** The section it belongs under. */
    section: ChartSection;
}

/** How the markdown is written besides its view: where things are, and the charts beside it. */
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
