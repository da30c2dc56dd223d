// lguest's view of a results document: each pair's throughput as percent of the native baseline
// pair's, cell by cell. Pure: plain data in, plain data out.
import type { ResultsDoc } from "netbed";

export interface PercentRow {
    pair: string;
    topology: string;
    cell: string;
    /** Median over repetitions. */
    gbps: number;
    /** 100 x gbps / the baseline pair's gbps in the same cell; null where the baseline cell failed or is 0. */
    percentOfNative: number | null;
}

export function percentOfNative(doc: Pick<ResultsDoc, "cells">, baseline: string, metric = "gbps"): PercentRow[] {
    const base = new Map<string, number>();
    for (const c of doc.cells) if (c.pair === baseline && c.status === "ok" && c.metrics[metric]) base.set(c.cell, c.metrics[metric].median);
    const rows: PercentRow[] = [];
    for (const c of doc.cells) {
        if (c.pair === baseline || c.status !== "ok" || !c.metrics[metric]) continue;
        const v = c.metrics[metric].median;
        const b = base.get(c.cell);
        rows.push({ pair: c.pair, topology: c.dimensions.topology, cell: c.cell, gbps: v, percentOfNative: b ? Math.round((1000 * v) / b) / 10 : null });
    }
    return rows;
}
