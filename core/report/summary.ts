// What a terminal shows at the end of `netbed up`: one table of the headline metrics per pair
// (median, the half-width of its interval, percent of bare metal), the warnings that change how
// to read it, where the report is, and what to run next. Pure: the CLI prints the lines.
import { displayArgv } from "../argv";
import type { ResultsDoc } from "../bench/results";
import { phasesText } from "../phases";
import { type Column, type Row, pct } from "./model";
import { type ReportView, cellOf, reportView, valueAt } from "./view";

export interface SummaryPaths {
    /** The results document (resultsPath). */
    results?: string;
    /** The markdown report (reportPath); report.html is beside it. */
    report?: string;
}

export interface SummaryOptions extends SummaryPaths {
    /** How the user invokes netbed here ("npm run netbed --" in a checkout, "npx netbed" in a project). */
    cli: string;
    stack: string;
    /** The project directory the up ran in, where it was given (--dir): the commands that read the stack need it too. */
    dir?: string;
}

/** The rows a summary shows, each with the label it shows: every throughput and transaction row, the P50 latencies, the smallest packet size. */
function headlineRows(view: ReportView): { row: Row; label: string }[] {
    const r = view.rows;
    const p50 = r.latency.filter((x) => /^p50/.test(x.metric));
    const pps = r.pps.slice(0, 1).map((row) => ({ row, label: `Packets of ${row.label}` }));
    const labelled = (rs: Row[]) => rs.map((row) => ({ row, label: row.label }));
    return [...labelled(r.throughput), ...labelled(p50), ...pps, ...labelled(r.transactions)];
}

/** "9.41 ±1.2% (98%)": the median, its interval as +- its larger side, and its share of bare metal's. */
function cellText(view: ReportView, row: Row, col: Column): string {
    const { native } = view;
    const v = valueAt(view, row, col);
    if (!v.ok) return v.why === "failed" ? "failed" : v.why === "too few" ? "too few samples" : "—";
    const ci = v.pooled ? v.pooled.ci : v.stats.ci;
    const half = ci && ci.low !== null && ci.high !== null && v.median !== 0 ? Math.max(ci.high - v.median, v.median - ci.low) / Math.abs(v.median) : undefined;
    let s = `${row.format(v.median)} ${half === undefined ? `(n=${v.pooled?.n ?? v.stats.n})` : `±${pct(half * 100)}`}`;
    if (native && col !== native) {
        const n = valueAt(view, row, native);
        if (n.ok && n.median !== 0) s += ` (${pct((v.median / n.median) * 100)})`;
    }
    return s;
}

/** Columns padded to their widest entry, two spaces apart. */
function aligned(table: string[][]): string[] {
    const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
    return table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  "));
}

function resultsTable(view: ReportView): string[] {
    const { cols, native } = view;
    const rs = headlineRows(view);
    if (rs.length === 0) return ["No headline metric was measured."];
    const table = [["", ...cols.map((c) => c.title)], ...rs.map(({ row, label }) => [`${label} (${row.unit})`, ...cols.map((c) => cellText(view, row, c))])];
    const legend =
        cols.some((c) => c !== native) && native
            ? `Median ±half-width of its interval (n: repetitions where too few for one); (%): of bare metal (${native.pair}).`
            : "Median ±half-width of its interval (n: repetitions where too few for one).";
    return [...aligned(table), legend];
}

/** An error on a line or two; the report's anomalies have it whole. */
function shortened(error: string): string {
    const one = error.replace(/\s+/g, " ");
    return one.length <= 160 ? one : `${one.slice(0, 159)}… (whole in the report's anomalies)`;
}

/** The warnings a reader must see before trusting the table: emulated guests, noisy metrics, failed cells. */
export function headlineWarnings(view: ReportView): string[] {
    const { doc } = view;
    const out: string[] = [];
    const tcg = Object.entries(doc.environment.guests).filter(([, g]) => g.accel === "tcg");
    if (tcg.length > 0)
        out.push(`${tcg.map(([n]) => n).join(", ")} ran under TCG (software emulation): compare these numbers only with other TCG runs, not with KVM hosts.`);
    const noisy = view.noisy.filter((x) => cellOf(view, x.pair, x.cell)?.status === "ok");
    if (noisy.length > 0) {
        const cells = [...new Set(noisy.map((x) => `${x.pair}/${x.cell}`))];
        const shown = cells.slice(0, 4).join(", ");
        out.push(`${cells.length} cell(s) vary by more than 10% between repetitions (${shown}${cells.length > 4 ? ", …" : ""}): read their medians with care.`);
    }
    for (const c of view.failed) out.push(`${c.pair}/${c.cell} failed: ${shortened(c.error ?? "no error recorded")}`);
    return out;
}

/**
 * The next commands, with the options of the up that matter to each: its project directory (--dir,
 * where a stack: input is read, the other run of a comparison perhaps too) and, for the commands
 * that take one, its stack (destroy acts on it; report names it in its commands).
 */
function nextSteps(o: SummaryOptions): string[] {
    const doc = o.results ?? `stack:${o.stack}`;
    const dir = o.dir === undefined ? [] : ["--dir", o.dir];
    const stack = o.stack === "local" ? [] : ["--stack", o.stack];
    // A placeholder (<other run>) is the user's to fill in, never quoted.
    const cmd = (words: string[], options: string[], placeholder?: string) =>
        [o.cli, displayArgv(words), ...(placeholder ? [placeholder] : []), ...(options.length > 0 ? [displayArgv(options)] : [])].join(" ");
    const steps = [
        ["A/B test against another run:", cmd(["compare", doc], dir, "<other run>")],
        ["CSV for pandas, R, a spreadsheet:", cmd(["export", doc], dir)],
        ["The report again:", cmd(["report", doc], [...stack, ...dir])],
        ["Tear the testbed down:", cmd(["destroy"], [...stack, ...dir])],
    ];
    return aligned(steps).map((l) => `  ${l}`);
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** The lines `netbed up` ends with. */
export function terminalSummary(doc: ResultsDoc, o: SummaryOptions): string[] {
    const view = reportView(doc);
    const nPairs = view.cols.length;
    const failed = view.failed.length;
    const reps = view.repetitions;
    const head =
        `Benchmark ${doc.run.name}: ${plural(doc.cells.length, "cell")} in ${plural(nPairs, "pair")}${failed ? ` (${failed} failed)` : ""}, ` +
        `${reps} repetition${reps === "1" ? "" : "s"} each, ${doc.run.wallSeconds.toFixed(0)} s.`;
    const out = [head];
    if (doc.run.phases) out.push(`Phases of the up that ran it: ${phasesText(doc.run.phases)}.`);
    out.push("", ...resultsTable(view));
    const warnings = headlineWarnings(view);
    if (warnings.length > 0) out.push("", "Warnings:", ...warnings.map((w) => `  ${w}`));
    if (o.report) {
        const html = o.report.replace(/[^/]+$/, "report.html");
        out.push("", `Report:  ${o.report}`, `         file://${encodeURI(html)}`);
    }
    if (o.results) out.push(`Results: ${o.results}`);
    out.push("", "Next:", ...nextSteps(o));
    return out;
}
