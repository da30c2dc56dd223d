// What a report's columns and rows are, and how they are read from a results document: the columns
// (one per pair, named by backend), the bare-metal and virtio baselines, the Volt template's rows,
// a row's value in a column, where charts go and the CPU cost per Gbit. The view (view.ts) is built
// from these once; the markdown, the charts and the summary read the view. Pure.
import type { CellResult, Pooled, ResultsDoc, Stats } from "../bench/results";

export interface Column {
    /** The pair label (unique in a run). */
    pair: string;
    backend: string;
    topology: string;
    /** A native (no guest) pair: the percent-of-bare-metal reference. */
    native: boolean;
    /** Header text: the backend, plus the pair label where they differ. */
    title: string;
}

/** Host-to-host topologies (the KVM criteria's ext<->host, host<->host, loopback) have no guest. */
const NATIVE_TOPOLOGY = /^((host|ext)-(host|ext)|loopback)$/;

function isNative(c: Pick<CellResult, "dimensions">): boolean {
    return c.dimensions.backend === "bare-metal" || NATIVE_TOPOLOGY.test(c.dimensions.topology);
}

/** One column per pair, in the run's pair order. */
export function columns(doc: Pick<ResultsDoc, "cells">): Column[] {
    const out: Column[] = [];
    for (const c of doc.cells) {
        if (out.some((x) => x.pair === c.pair)) continue;
        const b = c.dimensions.backend;
        out.push({ pair: c.pair, backend: b, topology: c.dimensions.topology, native: isNative(c), title: b === c.pair ? b : `${b} (${c.pair})` });
    }
    return out;
}

/** The pair the "% of bare metal" figures divide by: the first native pair. */
export function nativePair(cols: readonly Column[]): Column | undefined {
    return cols.find((c) => c.native);
}

/** The baseline the analysis states differences against: the first virtio pair. */
export function virtioPair(cols: readonly Column[]): Column | undefined {
    return cols.find((c) => !c.native && c.backend === "virtio");
}

export function findCell(doc: Pick<ResultsDoc, "cells">, pair: string, cell: string): CellResult | undefined {
    return doc.cells.find((c) => c.pair === pair && c.cell === cell);
}

export type Category = "throughput" | "latency" | "pps" | "transactions";

/** Where in the report a chart goes: under a result table, or under the load or CPU section. */
export type ChartSection = Category | "load" | "cpu";

/** One table row: a metric of one cell id, across the columns. */
export interface Row {
    category: Category;
    label: string;
    cell: string;
    metric: string;
    /** Multiplies the stored value into the row's unit (ICMP ms -> us). */
    scale: number;
    unit: string;
    higherIsBetter: boolean;
    format: (v: number) => string;
    /** What a cell pools for this percentile where its document has `pooled` (ICMP: "echoes"). */
    pooledOver?: string;
}

const f2 = (v: number) => v.toFixed(2);
const f1 = (v: number) => (Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(1));
const f0 = (v: number) => v.toFixed(0);
const kilo = (v: number) => (Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : `${(v / 1e3).toFixed(1)}k`);

/** Cell ids of one test kind, in the order the run measured them (each id once). */
function cellsOf(doc: Pick<ResultsDoc, "cells">, pred: (c: CellResult) => boolean): CellResult[] {
    const seen = new Set<string>();
    const out: CellResult[] = [];
    for (const c of doc.cells) {
        if (pred(c) && !seen.has(c.cell)) {
            seen.add(c.cell);
            out.push(c);
        }
    }
    return out;
}

/** Tables' rows, per category, from the cells the run has (nothing for tests it did not run). */
export function rows(doc: Pick<ResultsDoc, "cells">): Record<Category, Row[]> {
    return {
        throughput: throughputRows(doc),
        latency: [...icmpRows(doc), ...sockperfLatencyRows(doc), ...floodRows(doc)],
        pps: ppsRows(doc),
        transactions: transactionRows(doc),
    };
}

function throughputRows(doc: Pick<ResultsDoc, "cells">): Row[] {
    return cellsOf(doc, (c) => c.dimensions.test === "tcp" || c.dimensions.test === "udp").map((c) => ({
        category: "throughput",
        label: throughputLabel(c),
        cell: c.cell,
        metric: "gbps",
        scale: 1,
        unit: "Gbit/s",
        higherIsBetter: true,
        format: f2,
    }));
}

function throughputLabel(c: CellResult): string {
    const d = c.dimensions;
    if (d.test === "tcp") {
        const n = d.streams ?? 1;
        return d.bidir
            ? `TCP Bidirectional${n > 1 ? ` (${n} streams each way)` : ""}`
            : d.reverse
              ? n > 1
                  ? `TCP Reverse (${n} streams)`
                  : "TCP Reverse"
              : n > 1
                ? `TCP Multi-${n} Stream`
                : "TCP Single Stream";
    }
    const rate = /^udp-([^-]+)-/.exec(c.cell)?.[1];
    return `${rate === "max" || rate === undefined ? "UDP Maximum" : `UDP ${rate} Mbit/s`}${d.size !== undefined ? ` (${d.size} B)` : ""}`;
}

function icmpRows(doc: Pick<ResultsDoc, "cells">): Row[] {
    const icmp = cellsOf(doc, (c) => c.dimensions.test === "icmp");
    return icmp.flatMap((c) => {
        const sfx = icmp.length > 1 ? ` (${c.dimensions.size} B)` : "";
        return ["50", "95", "99"].map(
            (p): Row => ({
                category: "latency",
                label: `ICMP P${p}${sfx}`,
                cell: c.cell,
                metric: `p${p}ms`,
                scale: 1000,
                unit: "µs",
                higherIsBetter: false,
                format: f1,
                pooledOver: "echoes",
            }),
        );
    });
}

function sockperfLatencyRows(doc: Pick<ResultsDoc, "cells">): Row[] {
    const lat = cellsOf(doc, (c) => c.dimensions.test === "latency");
    return lat.flatMap((c) => {
        const proto = (c.dimensions.protocol ?? "tcp").toUpperCase();
        const sfx = lat.filter((x) => x.dimensions.protocol === c.dimensions.protocol).length > 1 ? ` (${c.dimensions.size} B)` : "";
        return ["50", "99"].map(
            (p): Row => ({
                category: "latency",
                label: `${proto} P${p}${sfx}`,
                cell: c.cell,
                metric: `p${p}us`,
                scale: 1,
                unit: "µs",
                higherIsBetter: false,
                format: f1,
            }),
        );
    });
}

/** Flood ping as load: its round trip and the loss at the rate asked for. */
function floodRows(doc: Pick<ResultsDoc, "cells">): Row[] {
    return cellsOf(doc, (c) => c.dimensions.test === "flood").flatMap((c): Row[] => {
        const at = `(${c.dimensions.size} B at ${c.dimensions.rate}/s)`;
        return [
            {
                category: "latency",
                label: `Flood ping avg ${at}`,
                cell: c.cell,
                metric: "avgms",
                scale: 1000,
                unit: "µs",
                higherIsBetter: false,
                format: f1,
            },
            {
                category: "latency",
                label: `Flood ping loss, % ${at}`,
                cell: c.cell,
                metric: "lossPct",
                scale: 1,
                unit: "%",
                higherIsBetter: false,
                format: f2,
            },
        ];
    });
}

function ppsRows(doc: Pick<ResultsDoc, "cells">): Row[] {
    return cellsOf(doc, (c) => c.dimensions.test === "pps")
        .sort((a, b) => (a.dimensions.size ?? 0) - (b.dimensions.size ?? 0))
        .map((c) => ({
            category: "pps",
            label: `${c.dimensions.size} bytes`,
            cell: c.cell,
            metric: "pps",
            scale: 1,
            unit: "pps",
            higherIsBetter: true,
            format: kilo,
        }));
}

function transactionRows(doc: Pick<ResultsDoc, "cells">): Row[] {
    return cellsOf(doc, (c) => c.dimensions.test === "rr").map((c) => {
        const multi = doc.cells.filter((x) => x.dimensions.test === "rr" && x.dimensions.protocol === c.dimensions.protocol && x.cell !== c.cell).length > 0;
        return {
            category: "transactions",
            label: `${c.dimensions.protocol ?? c.cell}${multi ? ` (${c.dimensions.size} B)` : ""}`,
            cell: c.cell,
            metric: "tps",
            scale: 1,
            unit: "trans/s",
            higherIsBetter: true,
            format: f0,
        };
    });
}

/**
 * A row's value in one column, or why there is none. `median` is the pooled percentile where the
 * cell pools the row's metric (`pooled` then holds it, scaled, and `stats` the repetitions');
 * "too few": the pooled samples cannot give that percentile (`pooled` says how many there are).
 */
export type Value =
    | { ok: true; stats: Stats; median: number; pooled?: Pooled }
    | { ok: false; why: "failed" | "absent"; error?: string }
    | { ok: false; why: "too few"; pooled: Pooled };

export function value(doc: Pick<ResultsDoc, "cells">, row: Pick<Row, "cell" | "metric" | "scale">, pair: string): Value {
    const c = findCell(doc, pair, row.cell);
    if (!c) return { ok: false, why: "absent" };
    if (c.status !== "ok") return { ok: false, why: "failed", error: c.error };
    const st = c.metrics[row.metric];
    if (!st) return { ok: false, why: "absent" };
    const k = row.scale;
    const ci = st.ci && { low: st.ci.low * k, high: st.ci.high * k, level: st.ci.level };
    const stats: Stats = { ...st, median: st.median * k, mean: st.mean * k, stddev: st.stddev * k, min: st.min * k, max: st.max * k, ci };
    const p = c.pooled?.[row.metric];
    if (!p) return { ok: true, stats, median: stats.median };
    const scale = (x: number | null) => (x === null ? null : x * k);
    const pooled: Pooled = { ...p, value: p.value * k, ci: { low: scale(p.ci.low), high: scale(p.ci.high), level: p.ci.level } };
    return p.sufficient ? { ok: true, stats, median: pooled.value, pooled } : { ok: false, why: "too few", pooled };
}

const ORDINAL = ["", "", "2nd ", "3rd "];

/** The k-th largest (1 = the largest) of a sample, in words. */
function fromTop(k: number): string {
    return `the ${ORDINAL[k] ?? `${k}th `}largest`;
}

/** Where a percentile of too few samples lies (numpy's linear rule interpolates between two order statistics): "between the 2nd largest and the largest of 40". */
export function orderStatisticText(p: Pick<Pooled, "q" | "n">): string {
    const rank = p.q * (p.n - 1);
    const hi = p.n - Math.floor(rank);
    const lo = p.n - Math.ceil(rank);
    return hi === lo ? `${fromTop(hi)} of ${p.n}` : `between ${fromTop(hi)} and ${fromTop(lo)} of ${p.n}`;
}

/**
 * What the intervals shown are, at the confidence they achieve for the repetitions the cells have
 * (`interval`), and where there is none (`none`); either is empty where it does not apply.
 */
export function intervalNote(stats: readonly Stats[]): { interval: string; none: string } {
    const levels = new Map<string, number[]>();
    const without = new Set<number>();
    for (const st of stats) {
        if (!st.ci) without.add(st.n);
        else {
            const l = `${Number((st.ci.level * 100).toFixed(2))}%`;
            levels.set(l, [...(levels.get(l) ?? []), st.n]);
        }
    }
    const parts = [...levels].map(([l, ns]) => `${l} at n = ${[...new Set(ns)].sort((a, b) => a - b).join(", ")}`);
    const interval = parts.length > 0 ? `distribution-free interval of the median from order statistics (${parts.join("; ")})` : "";
    const ns = [...without].sort((a, b) => a - b);
    const none =
        ns.length > 0
            ? `${ns.length === 1 ? `n = ${ns[0]}` : `n = ${ns.join(", ")}`} repetitions are too few for an interval of the median (it needs 4 or more)`
            : "";
    return { interval, none };
}

/** The same as one phrase, for a chart's caption. */
export function intervalCaption(stats: readonly Stats[]): string {
    const { interval, none } = intervalNote(stats);
    return [interval, none ? `none where ${none}` : ""].filter(Boolean).join("; ");
}

export function pct(v: number): string {
    return `${Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1)}%`;
}

/** Host CPU microseconds per datagram delivered, CPU and datagrams counted over the same window (packet-rate cells). */
export function cpuUsPerPacket(c: CellResult): number | undefined {
    return c.status === "ok" && c.serviceDemand?.unit === "us/packet" ? c.serviceDemand.value : undefined;
}

/** Host CPU-seconds per Gbit moved, from service demand in µs per KB. */
export function cpuSecondsPerGbit(c: CellResult): number | undefined {
    if (c.status !== "ok" || c.serviceDemand?.unit !== "us/KB") return undefined;
    return (c.serviceDemand.value * (1e9 / 8 / 1024)) / 1e6;
}

/** The repetitions the finished cells ran: "5", or "5-15" where precision-driven repetitions made them differ. */
export function repetitionsRange(doc: Pick<ResultsDoc, "cells" | "run">): string {
    const ns = doc.cells.filter((c) => c.status === "ok").map((c) => c.repetitions.length);
    if (ns.length === 0) return String(doc.run.settings.repetitions);
    const [lo, hi] = [Math.min(...ns), Math.max(...ns)];
    return lo === hi ? String(lo) : `${lo}-${hi}`;
}
