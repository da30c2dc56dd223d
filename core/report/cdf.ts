// Latency CDFs per pair for the report's charts. The results document keeps a few percentiles
// per cell; the raw outputs keep more (every ping RTT, sockperf's full percentile table), so
// the CLI hands in a reader for raw files and the summary fills in where a raw file is missing.
// Pure: `readRaw` is the caller's.
import type { CellResult } from "../bench/results";
import { parsePing, parseSockperf } from "../bench/parse";
import { median } from "../bench/stats";
import { type ReportView, cellOf } from "./view";

interface CdfPoint {
    /** Cumulative fraction, 0..1. */
    p: number;
    us: number;
}

interface CdfSeries {
    pair: string;
    /** Where the points come from: every RTT, sockperf's percentile table, or the document's summary. */
    source: "raw-samples" | "raw-percentiles" | "summary";
    points: CdfPoint[];
}

export interface LatencyCdf {
    /** Cell id (icmp-56, latency-tcp-64, ...). */
    cell: string;
    title: string;
    series: CdfSeries[];
}

/** Reads a raw file by its path relative to resultsDir; undefined where it is missing. */
export type RawReader = (relative: string) => string | undefined;

function titleOf(c: CellResult): string {
    const d = c.dimensions;
    return d.test === "icmp"
        ? `ICMP echo latency CDF (${d.size ?? 56}-byte payload)`
        : `${(d.protocol ?? "tcp").toUpperCase()} latency CDF (sockperf ping-pong, ${d.size}-byte messages)`;
}

function fromSummary(c: CellResult): CdfPoint[] {
    // A pooled percentile where the cell has one, and none where too few samples make it an extreme instead.
    const m = (k: string) => {
        const p = c.pooled?.[k];
        return p ? (p.sufficient ? p.value : undefined) : c.metrics[k]?.median;
    };
    const pts: [number, number | undefined][] =
        c.dimensions.test === "icmp"
            ? [
                  [0, m("minms")],
                  [0.5, m("p50ms")],
                  [0.95, m("p95ms")],
                  [0.99, m("p99ms")],
                  [1, m("maxms")],
              ].map(([p, v]) => [p as number, v === undefined ? undefined : (v as number) * 1000])
            : [
                  [0, m("minus")],
                  [0.5, m("p50us")],
                  [0.99, m("p99us")],
                  [0.999, m("p999us")],
                  [1, m("maxus")],
              ];
    return monotone(pts.filter((x): x is [number, number] => x[1] !== undefined).map(([p, us]) => ({ p, us })));
}

/** Every RTT of every repetition, pooled: the empirical CDF. */
function fromPing(texts: string[]): CdfPoint[] {
    const rtts = texts.flatMap((t) => parsePing(t).rtts.map((r) => r.ms * 1000)).sort((a, b) => a - b);
    return rtts.map((us, i) => ({ p: (i + 1) / rtts.length, us }));
}

/** sockperf's table (min, percentiles 25..99.999, max), each level the median over repetitions. */
function fromSockperf(texts: string[]): CdfPoint[] {
    const parsed = texts.map(parseSockperf);
    const levels = new Set<string>();
    for (const r of parsed) for (const k of Object.keys(r.percentiles)) levels.add(k);
    const pts: CdfPoint[] = [{ p: 0, us: median(parsed.map((r) => r.min)) }];
    for (const k of [...levels].sort((a, b) => Number(a) - Number(b))) {
        const v = parsed.map((r) => r.percentiles[k]).filter((x) => x !== undefined);
        if (v.length === parsed.length) pts.push({ p: Number(k) / 100, us: median(v) });
    }
    pts.push({ p: 1, us: median(parsed.map((r) => r.max)) });
    return monotone(pts);
}

/** Medians of percentiles taken level by level can cross; a CDF cannot go back. */
function monotone(pts: CdfPoint[]): CdfPoint[] {
    let hi = -Infinity;
    return pts.map((x) => ({ p: x.p, us: (hi = Math.max(hi, x.us)) }));
}

/** One pair's series: from its raw files where a reader gives them all and they parse, else from the document. */
function seriesOf(c: CellResult, readRaw?: RawReader): CdfSeries {
    const texts = readRaw ? c.repetitions.map((r) => readRaw(r.raw)) : [];
    if (texts.length > 0 && texts.every((t): t is string => t !== undefined)) {
        try {
            const s: CdfSeries =
                c.dimensions.test === "icmp"
                    ? { pair: c.pair, source: "raw-samples", points: fromPing(texts) }
                    : { pair: c.pair, source: "raw-percentiles", points: fromSockperf(texts) };
            if (s.points.length > 0) return s;
        } catch {
            // A raw file that no longer parses: the document's own percentiles still hold.
        }
    }
    return { pair: c.pair, source: "summary", points: fromSummary(c) };
}

/**
 * One CDF per latency cell id (ICMP and sockperf ping-pong), one series per pair that measured
 * it, in the view's column order. With a reader, raw files give the curve; a pair whose raw files
 * are missing or unreadable falls back to the document's percentiles (the series says which).
 */
export function latencyCdfs(view: ReportView, readRaw?: RawReader): LatencyCdf[] {
    const out: LatencyCdf[] = [];
    const ids = [...new Set(view.doc.cells.filter((c) => c.dimensions.test === "icmp" || c.dimensions.test === "latency").map((c) => c.cell))];
    for (const id of ids) {
        const cells = view.cols.flatMap((col) => cellOf(view, col.pair, id) ?? []).filter((c) => c.status === "ok");
        if (cells.length === 0) continue;
        const series = cells.map((c) => seriesOf(c, readRaw)).filter((s) => s.points.length > 0);
        out.push({ cell: id, title: titleOf(cells[0]), series });
    }
    return out;
}
