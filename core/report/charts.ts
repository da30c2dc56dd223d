// The report's charts as Vega-Lite specs built from the report's view (view.ts), and their rendering to
// SVG with Vega in Node (no browser, no canvas: Vega's "none" renderer writes SVG markup and
// estimates text widths). Pure: no file access; rendering is CPU only.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { CellResult } from "../bench/results";
import type { LatencyCdf } from "./cdf";
import { type ChartSection, type Column, cpuSecondsPerGbit, intervalCaption } from "./model";
import { type ReportView, cellOf, valueAt } from "./view";

export interface Chart {
    /** File base name: name.svg. */
    name: string;
    title: string;
    section: ChartSection;
    spec: TopLevelSpec;
    /** The series plotted (column titles), for the report and its tests. */
    series: string[];
}

const SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json";
// Guests take these in pair order; native pairs are drawn in grey, the reference look.
const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d"];
const NATIVE = "#8c8c8c";
const WIDTH = 560;
const HEIGHT = 280;

interface Legend {
    domain: string[];
    range: string[];
}

function legendOf(view: ReportView): Legend {
    const { cols } = view;
    let k = 0;
    return { domain: cols.map((c) => c.title), range: cols.map((c) => (c.native ? NATIVE : PALETTE[k++ % PALETTE.length])) };
}

function color(l: Legend, present: string[]) {
    // Keep each backend's colour stable across charts even where a chart lacks some backends.
    const keep = l.domain.map((d, i) => [d, l.range[i]] as const).filter(([d]) => present.includes(d));
    return {
        field: "backend",
        type: "nominal" as const,
        title: "backend",
        sort: keep.map(([d]) => d),
        scale: { domain: keep.map(([d]) => d), range: keep.map(([, r]) => r) },
        legend: { orient: "top" as const },
    };
}

const CONFIG = {
    font: "Helvetica, Arial, sans-serif",
    view: { stroke: null },
    axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
    title: { fontSize: 14, subtitleFontSize: 11, anchor: "start" as const },
};

/** 3 significant digits, as the labels show them. */
function short(v: number): string {
    return Math.abs(v) >= 1e5 ? `${(v / 1e3).toFixed(0)}k` : Math.abs(v) >= 1e4 ? `${(v / 1e3).toFixed(1)}k` : String(Number(v.toPrecision(3)));
}

/** Breaks a label into lines of about `width` characters at spaces (Vega draws a text array as lines). */
function wrap(label: string, width = 14): string {
    const lines: string[] = [];
    for (const w of label.split(" ")) {
        if (lines.length > 0 && `${lines[lines.length - 1]} ${w}`.length <= width) lines[lines.length - 1] += ` ${w}`;
        else lines.push(w);
    }
    return lines.join("\n");
}

/** Grouped bars (one group per test, one bar per backend) with whiskers where the data has an interval. */
function groupedBars(
    title: string,
    subtitle: string,
    yTitle: string,
    data: { test: string; backend: string; v: number; low?: number; high?: number }[],
    tests: string[],
    l: Legend,
): TopLevelSpec {
    const present = [...new Set(data.map((d) => d.backend))];
    const values = data.map((d) => ({ ...d, test: wrap(d.test), top: d.high ?? d.v, label: short(d.v) }));
    const layers: unknown[] = [{ mark: { type: "bar" }, encoding: { y: { field: "v", type: "quantitative", title: yTitle } } }];
    if (data.some((d) => d.low !== undefined)) {
        layers.push({
            mark: { type: "errorbar", ticks: { width: 5 } },
            encoding: { y: { field: "low", type: "quantitative", title: yTitle }, y2: { field: "high" }, color: { value: "#222" } },
        });
    }
    layers.push({
        mark: { type: "text", dy: -7, fontSize: 9, color: "#333" },
        encoding: { y: { field: "top", type: "quantitative" }, text: { field: "label" } },
    });
    return {
        $schema: SCHEMA,
        title: { text: title, subtitle },
        width: WIDTH,
        height: HEIGHT,
        data: { values },
        encoding: {
            x: {
                field: "test",
                type: "nominal",
                sort: tests.map((t) => wrap(t)),
                title: null,
                axis: { labelAngle: 0, labelExpr: "split(datum.label, '\\n')" },
            },
            xOffset: { field: "backend", sort: l.domain.filter((d) => present.includes(d)) },
            color: color(l, present),
        },
        layer: layers,
        config: CONFIG,
    } as TopLevelSpec;
}

function throughputChart(view: ReportView, l: Legend): Chart | undefined {
    const rs = view.rows.throughput;
    const data = rs.flatMap((r) =>
        view.cols.flatMap((c) => {
            const v = valueAt(view, r, c);
            return v.ok
                ? [{ test: r.label, backend: c.title, v: v.median, ...(v.stats.ci ? { low: v.stats.ci.low, high: v.stats.ci.high } : {}), st: v.stats }]
                : [];
        }),
    );
    if (data.length === 0) return undefined;
    const n = view.repetitions;
    const whiskers = intervalCaption(data.map((d) => d.st));
    return {
        name: "throughput",
        title: "Throughput per backend",
        section: "throughput",
        series: [...new Set(data.map((d) => d.backend))],
        spec: groupedBars(
            "Throughput per backend",
            `Median of ${n} repetitions; whiskers: ${whiskers}`,
            "Gbit/s",
            data.map(({ st: _st, ...d }) => d),
            rs.map((r) => r.label),
            l,
        ),
    };
}

function cpuChart(view: ReportView, l: Legend): Chart | undefined {
    const rs = view.rows.throughput;
    const data = rs.flatMap((r) =>
        view.cols.flatMap((c) => {
            const cell = cellOf(view, c.pair, r.cell);
            const v = cell && cpuSecondsPerGbit(cell);
            return v === undefined ? [] : [{ test: r.label, backend: c.title, v }];
        }),
    );
    if (data.length === 0) return undefined;
    return {
        name: "cpu-per-gbit",
        title: "Host CPU cost per Gbit",
        section: "cpu",
        series: [...new Set(data.map((d) => d.backend))],
        spec: groupedBars(
            "Host CPU cost per Gbit",
            "Busy host CPU-seconds per Gbit received, both counted over each iperf3 command; lower is cheaper",
            "CPU-seconds per Gbit",
            data,
            rs.map((r) => r.label),
            l,
        ),
    };
}

function ppsChart(view: ReportView, l: Legend): Chart | undefined {
    const data = view.rows.pps.flatMap((r) =>
        view.cols.flatMap((c) => {
            const v = valueAt(view, r, c);
            const size = cellOf(view, c.pair, r.cell)?.dimensions.size;
            return v.ok && size !== undefined
                ? [{ size, backend: c.title, pps: v.median, ...(v.stats.ci ? { low: v.stats.ci.low, high: v.stats.ci.high } : {}), st: v.stats }]
                : [];
        }),
    );
    if (data.length === 0) return undefined;
    const present = [...new Set(data.map((d) => d.backend))];
    const whiskers = intervalCaption(data.map((d) => d.st));
    const x = { field: "size", type: "quantitative", title: "UDP payload (bytes)", scale: { zero: false } };
    return {
        name: "pps",
        title: "Packets per second vs packet size",
        section: "pps",
        series: present,
        spec: {
            $schema: SCHEMA,
            title: { text: "Packets per second vs packet size", subtitle: `iperf3 UDP at maximum rate: delivered datagrams/s (median; whiskers: ${whiskers})` },
            width: WIDTH,
            height: HEIGHT,
            data: { values: data.map(({ st: _st, ...d }) => d) },
            encoding: { x, color: color(l, present) },
            layer: [
                { mark: { type: "line", point: { filled: true, size: 50 } }, encoding: { y: { field: "pps", type: "quantitative", title: "packets/s" } } },
                {
                    mark: { type: "errorbar", ticks: { width: 6 } },
                    encoding: { y: { field: "low", type: "quantitative", title: "packets/s" }, y2: { field: "high" } },
                },
            ],
            config: CONFIG,
        } as TopLevelSpec,
    };
}

function cdfChart(cdf: LatencyCdf, view: ReportView, l: Legend): Chart | undefined {
    const title = (pair: string) => view.cols.find((c) => c.pair === pair)?.title ?? pair;
    const data = cdf.series.flatMap((s) => s.points.filter((p) => p.us > 0).map((p) => ({ backend: title(s.pair), us: p.us, p: p.p })));
    if (data.length === 0) return undefined;
    const present = [...new Set(data.map((d) => d.backend))];
    const sources = [...new Set(cdf.series.map((s) => s.source))];
    const from: Record<string, string> = {
        "raw-samples": "every echo's RTT of every repetition, pooled (raw ping output)",
        "raw-percentiles": "sockperf's percentile table (raw output)",
        summary: "the results document's percentiles",
    };
    const guides = [
        { p: 0.5, label: "P50" },
        { p: 0.99, label: "P99" },
    ];
    return {
        name: `latency-cdf-${cdf.cell}`,
        title: cdf.title,
        section: "latency",
        series: present,
        spec: {
            $schema: SCHEMA,
            title: { text: cdf.title, subtitle: `From ${sources.map((s) => from[s]).join("; ")}` },
            width: WIDTH,
            height: HEIGHT,
            layer: [
                { data: { values: guides }, mark: { type: "rule", strokeDash: [3, 3], color: "#bbb" }, encoding: { y: { field: "p", type: "quantitative" } } },
                {
                    data: { values: guides },
                    mark: { type: "text", align: "left", dx: 3, dy: -5, color: "#888", fontSize: 9 },
                    encoding: { y: { field: "p", type: "quantitative" }, x: { value: 0 }, text: { field: "label" } },
                },
                {
                    data: { values: data },
                    mark: {
                        type: "line",
                        interpolate: sources.every((s) => s === "raw-samples") ? "step-after" : "linear",
                        point: data.length <= 80 ? { size: 25, filled: true } : false,
                    },
                    encoding: {
                        x: { field: "us", type: "quantitative", scale: { type: "log" }, title: "latency (µs, log scale)" },
                        y: { field: "p", type: "quantitative", title: "cumulative fraction", axis: { format: ".0%" }, scale: { domain: [0, 1] } },
                        color: color(l, present),
                        order: { field: "p", type: "quantitative" },
                    },
                },
            ],
            config: CONFIG,
        } as TopLevelSpec,
    };
}

/** One chart per sockperf sweep cell id that has data. */
function loadCharts(view: ReportView, l: Legend): Chart[] {
    return view.sweeps.map((id) => loadChart(view, id, l)).filter((c): c is Chart => c !== undefined);
}

type Sweep = NonNullable<CellResult["sweep"]>;
interface SweepOf {
    col: Column;
    cell: CellResult & { sweep: Sweep };
}
interface SweepPoint {
    backend: string;
    mps: number;
    us: number;
}

function loadChart(view: ReportView, id: string, l: Legend): Chart | undefined {
    const cells = view.cols
        .map((c) => ({ col: c, cell: cellOf(view, c.pair, id) }))
        .filter((x): x is SweepOf => x.cell?.status === "ok" && !!x.cell.sweep?.length);
    const data = cells.flatMap(({ col, cell }) =>
        cell.sweep.flatMap((s) => [
            { backend: col.title, mps: s.mps, us: s.p99us, percentile: "P99" },
            { backend: col.title, mps: s.mps, us: s.p50us, percentile: "P50" },
        ]),
    );
    if (data.length === 0) return undefined;
    const present = [...new Set(data.map((d) => d.backend))];
    const proto = (cells[0].cell.dimensions.protocol ?? "").toUpperCase();
    return {
        name: `load-${id}`,
        title: `Latency vs offered load (${proto} ${id})`,
        section: "load",
        series: present,
        spec: {
            $schema: SCHEMA,
            title: {
                text: `Latency vs offered load (${proto}, sockperf under-load)`,
                subtitle: "P99 solid, P50 dashed; ◆ knee: last load before P99 leaves its band",
            },
            width: WIDTH,
            height: HEIGHT,
            layer: loadLayers(data, kneesOf(cells), l, present),
            resolve: { scale: { color: "shared" } },
            config: CONFIG,
        } as TopLevelSpec,
    };
}

/** Each backend's knee, where it is below the sweep's top rate. */
function kneesOf(cells: readonly SweepOf[]): SweepPoint[] {
    return cells.flatMap(({ col, cell }) => {
        const sw = cell.sweep;
        const at = sw.find((s) => s.mps === cell.knee);
        // A knee at the top rate means P99 never left its band: nothing to mark.
        return at && at.mps < sw[sw.length - 1].mps ? [{ backend: col.title, mps: at.mps, us: at.p99us }] : [];
    });
}

/** The P99 and P50 lines per backend, and the knees marked on them with their labels. */
function loadLayers(data: readonly (SweepPoint & { percentile: string })[], knees: SweepPoint[], l: Legend, present: string[]): unknown[] {
    const rates = data.map((d) => d.mps);
    const x = {
        field: "mps",
        type: "quantitative",
        scale: { type: "log", nice: false, domain: [Math.min(...rates), Math.max(...rates)] },
        title: "offered load (messages/s, log scale)",
    };
    const y = { field: "us", type: "quantitative", scale: { type: "log" }, title: "latency (µs, log scale)" };
    const layer: unknown[] = [
        {
            data: { values: data },
            mark: { type: "line", point: { filled: true, size: 40 } },
            encoding: {
                x,
                y,
                color: color(l, present),
                strokeDash: {
                    field: "percentile",
                    type: "nominal",
                    sort: ["P99", "P50"],
                    title: "percentile",
                    legend: { orient: "top", symbolType: "stroke", symbolStrokeWidth: 2, symbolStrokeColor: "#444" },
                },
            },
        },
    ];
    if (knees.length > 0) {
        layer.push(
            {
                data: { values: knees },
                mark: { type: "point", shape: "diamond", size: 180, filled: true, stroke: "#000", strokeWidth: 1 },
                encoding: { x, y, color: color(l, present) },
            },
            {
                data: { values: kneeLabels(knees) },
                mark: { type: "text", dx: -8, dy: -14, align: "right", fontSize: 10, fontWeight: "bold", color: "#333" },
                encoding: { x, y, text: { field: "label" } },
            },
        );
    }
    return layer;
}

/** One label per knee rate, naming every backend whose knee is there (labels would overlap). */
function kneeLabels(knees: readonly SweepPoint[]): { mps: number; us: number; label: string }[] {
    return [...new Set(knees.map((k) => k.mps))].map((mps) => {
        const at = knees.filter((k) => k.mps === mps);
        return { mps, us: Math.max(...at.map((k) => k.us)), label: `knee ${mps} msg/s: ${at.map((k) => k.backend).join(", ")}` };
    });
}

/** Every chart the document has data for, in report order. */
export function reportCharts(view: ReportView, cdfs: readonly LatencyCdf[]): Chart[] {
    const l = legendOf(view);
    const out: (Chart | undefined)[] = [
        throughputChart(view, l),
        ...cdfs.map((c) => cdfChart(c, view, l)),
        ppsChart(view, l),
        ...loadCharts(view, l),
        cpuChart(view, l),
    ];
    return out.filter((c): c is Chart => c !== undefined);
}

/** Vega-Lite -> Vega -> SVG markup, headless. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
    const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
    try {
        return await view.toSVG();
    } finally {
        view.finalize();
    }
}
