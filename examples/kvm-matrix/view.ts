// The KVM criteria's view of a results document: one row per (topology, pinning, protocol, size)
// with its headline figure and service demand, and the latency-vs-load knee per pair.
// Pure: plain data in, plain data out.
import type { CellResult, ResultsDoc } from "netbed";

export interface MatrixRow {
    pair: string;
    topology: string;
    pinning: string;
    protocol: "TCP" | "UDP" | "ICMP";
    cell: string;
    size: number | null;
    /** The cell's headline metric (units in its name) and its median over repetitions. */
    metric: string;
    median: number;
    /** Host CPU per KB moved or per transaction, where the test measures it. */
    serviceDemand: { unit: string; value: number } | null;
}

export interface KneeRow {
    pair: string;
    topology: string;
    pinning: string;
    /** The offered rate (messages/s) where P99 first passes the factor x its unloaded value; null: not reached in the sweep. */
    knee: number | null;
    sweep: { mps: number; p50us: number; p99us: number }[];
}

/** Flood ping's headline is its loss: it is a load generator, and what it did not get back is the finding. */
const HEADLINE: Record<string, string> = { tcp: "gbps", udp: "gbps", pps: "pps", icmp: "p99ms", latency: "p99us", rr: "tps", flood: "lossPct" };

function protocolOf(c: CellResult): MatrixRow["protocol"] {
    const d = c.dimensions;
    if (d.test === "icmp" || d.test === "flood") return "ICMP";
    if (d.test === "udp" || d.test === "pps" || c.cell.startsWith("udp_")) return "UDP";
    if (d.test === "latency" || d.test === "load") return d.protocol === "udp" ? "UDP" : "TCP";
    return "TCP";
}

export function matrix(doc: Pick<ResultsDoc, "cells">): MatrixRow[] {
    const rows: MatrixRow[] = [];
    for (const c of doc.cells) {
        const metric = HEADLINE[c.dimensions.test];
        if (c.status !== "ok" || !metric || c.metrics[metric] === undefined) continue;
        rows.push({
            pair: c.pair,
            topology: c.dimensions.topology,
            pinning: c.dimensions.pinning,
            protocol: protocolOf(c),
            cell: c.cell,
            size: c.dimensions.size ?? null,
            metric,
            median: c.metrics[metric].median,
            serviceDemand: c.serviceDemand ?? null,
        });
    }
    return rows;
}

export function knees(doc: Pick<ResultsDoc, "cells">): KneeRow[] {
    return doc.cells
        .filter((c) => c.status === "ok" && c.dimensions.test === "load" && c.sweep)
        .map((c) => ({ pair: c.pair, topology: c.dimensions.topology, pinning: c.dimensions.pinning, knee: c.knee ?? null, sweep: c.sweep! }));
}
