// A results document as flat tables a notebook reads (pandas, R, a spreadsheet): one row per
// repetition and metric with every dimension of its cell as a column, and one row per cell and
// metric with its summary. CSV (RFC 4180) or JSON Lines. Pure.
import { metricDirection } from "../ab/abtest";
import type { CellResult, ResultsDoc } from "./results";

/** Every dimension a cell can have, in the schema's order (a cell without one leaves it empty). */
const DIMENSIONS = [
    "topology",
    "backend",
    "client",
    "server",
    "vmm",
    "accel",
    "kernel",
    "vcpus",
    "memoryMiB",
    "pinning",
    "security",
    "notification",
    "test",
    "size",
    "streams",
    "reverse",
    "bidir",
    "rate",
    "protocol",
    "load",
] as const;

export type Scalar = string | number | boolean | null;
export type Table = { columns: string[]; rows: Scalar[][] };

/** The unit in a metric's name (netbed names metrics with their unit): gbps, p99us@1000, lossPct, jitterMs. */
export function metricUnit(metric: string): string {
    const m = metric.replace(/@[\d.]+$/, "");
    if (/gbps/i.test(m)) return "Gbit/s";
    if (/pps$/.test(m)) return "packets/s";
    if (/tps$/.test(m)) return "transactions/s";
    if (/PerTr$/.test(m)) return "us/transaction";
    if (/(us|Us)$/.test(m)) return "us";
    if (/(ms|Ms)$/.test(m)) return "ms";
    if (/Pct$/.test(m)) return "%";
    if (m === "retransmits") return "segments";
    return "";
}

function dimensionValues(c: CellResult): Scalar[] {
    const d = c.dimensions as Record<string, unknown>;
    return DIMENSIONS.map((k) => {
        const v = d[k];
        if (v === undefined) return null;
        return Array.isArray(v) ? v.join(";") : (v as Scalar);
    });
}

const KEY_COLUMNS = ["run", "pair", "cell", ...DIMENSIONS];

/** One row per measured repetition and metric. */
export function repetitionRows(doc: ResultsDoc): Table {
    const columns = [...KEY_COLUMNS, "status", "repetition", "metric", "value", "unit", "direction", "seconds", "raw"];
    const rows: Scalar[][] = [];
    for (const c of doc.cells) {
        const key = [doc.run.name, c.pair, c.cell, ...dimensionValues(c)];
        for (const r of c.repetitions) {
            for (const [metric, v] of Object.entries(r.metrics))
                rows.push([...key, c.status, r.index, metric, v, metricUnit(metric), metricDirection(metric), r.seconds, r.raw]);
        }
    }
    return { columns, rows };
}

/** One row per cell and metric: the statistics over its repetitions (a failed cell: one row with its error). */
export function cellRows(doc: ResultsDoc): Table {
    const stats = ["n", "median", "mean", "stddev", "cv", "min", "max", "ciLow", "ciHigh", "ciLevel"];
    const columns = [...KEY_COLUMNS, "status", "error", "metric", "unit", "direction", ...stats, "stopReason"];
    const rows: Scalar[][] = [];
    for (const c of doc.cells) {
        const key = [doc.run.name, c.pair, c.cell, ...dimensionValues(c)];
        const metrics = Object.entries(c.metrics);
        if (metrics.length === 0) rows.push([...key, c.status, c.error ?? null, null, null, null, ...stats.map(() => null), c.stop?.reason ?? null]);
        for (const [metric, st] of metrics) {
            const ci = st.ci ? [st.ci.low, st.ci.high, st.ci.level] : [null, null, null];
            rows.push([
                ...key,
                c.status,
                c.error ?? null,
                metric,
                metricUnit(metric),
                metricDirection(metric),
                st.n,
                st.median,
                st.mean,
                st.stddev,
                st.cv,
                st.min,
                st.max,
                ...ci,
                c.stop?.reason ?? null,
            ]);
        }
    }
    return { columns, rows };
}

/** A CSV field: quoted where it holds a comma, a quote or a line break (RFC 4180); null is empty. */
function csvField(v: Scalar): string {
    if (v === null) return "";
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(t: Table): string {
    return `${[t.columns, ...t.rows].map((r) => r.map(csvField).join(",")).join("\r\n")}\r\n`;
}

export function toJsonl(t: Table): string {
    return `${t.rows.map((r) => JSON.stringify(Object.fromEntries(t.columns.map((c, i) => [c, r[i]])))).join("\n")}\n`;
}

export type ExportFormat = "csv" | "jsonl";

/** The files of an export, by name: repetitions.<ext> and cells.<ext>. */
export function exportFiles(doc: ResultsDoc, format: ExportFormat): Record<string, string> {
    const render = format === "csv" ? toCsv : toJsonl;
    return { [`repetitions.${format}`]: render(repetitionRows(doc)), [`cells.${format}`]: render(cellRows(doc)) };
}
