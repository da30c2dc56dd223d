// Writes a report for a results document: the Volt template filled in (report.md), the same as one
// self-contained page (report.html) and the charts as SVG files. The file access lives here;
// core/report/ is pure. Used by BenchmarkRun at the end of a run and by `netbed report`.
import * as fs from "node:fs";
import * as path from "node:path";
import type { ResultsDoc } from "../../core/bench/results";
import { toMarkdown } from "../../core/report/blocks";
import { latencyCdfs, type RawReader } from "../../core/report/cdf";
import { exportFiles } from "../../core/bench/export";
import { toHtml } from "../../core/report/html";
import { anomaliesMarkdown } from "../../core/report/appendix";
import { reportView } from "../../core/report/view";
import { voltReport } from "../../core/report/volt";
import { writeBelow } from "./nofollow";

export interface WrittenReport {
    dir: string;
    markdown: string;
    html: string;
    svgs: string[];
    /** Raw files the CDFs wanted but could not read (the summary stood in). */
    missingRaw: string[];
}

/**
 * Where the document's raw paths point: run.resultsDir as recorded when it exists here; a relative
 * one against the document's directory; else the directory holding runs/<doc>.json (a results
 * directory copied elsewhere).
 */
export function resolveResultsDir(doc: ResultsDoc, docFile: string | undefined): string {
    const rec = doc.run.resultsDir;
    if (path.isAbsolute(rec) && fs.existsSync(rec)) return rec;
    if (docFile) {
        const here = path.dirname(path.resolve(docFile));
        if (!path.isAbsolute(rec)) return path.resolve(here, rec);
        if (path.basename(here) === "runs") return path.dirname(here);
        return here;
    }
    return rec;
}

/** Reads raw files under root only: a document's paths are data, not a licence to read elsewhere. */
function rawReader(root: string, missing: string[]): RawReader {
    const base = path.resolve(root);
    return (rel) => {
        const f = path.resolve(base, rel);
        if (f !== base && !f.startsWith(base + path.sep)) {
            missing.push(`${rel} (outside ${base})`);
            return undefined;
        }
        try {
            return fs.readFileSync(f, "utf8");
        } catch {
            missing.push(f);
            return undefined;
        }
    };
}

/**
 * opts.root: the folder below which no link is followed (a BenchmarkRun's resultsDir; default: the
 * folder holding out, so out itself may not be a link).
 */
export async function writeReport(doc: ResultsDoc, opts: { docFile?: string; out: string; stack?: string; root?: string }): Promise<WrittenReport> {
    const root = opts.root ?? path.dirname(path.resolve(opts.out));
    const write = (name: string, data: string) => writeBelow(root, path.join(opts.out, name), data);
    const resultsDir = resolveResultsDir(doc, opts.docFile);
    const missingRaw: string[] = [];
    const view = reportView(doc);
    const cdfs = latencyCdfs(view, rawReader(resultsDir, missingRaw));
    // Loaded here, not with the module: vega is slow to load, and the provider plugin (which
    // loads this module at every start) writes reports only at the end of a BenchmarkRun.
    const { renderSvg, reportCharts } = await import("../../core/report/charts");
    const charts = reportCharts(view, cdfs);
    const svgs: Record<string, string> = {};
    const svgFiles: string[] = [];
    for (const c of charts) {
        try {
            svgs[c.name] = await renderSvg(c.spec);
        } catch (err) {
            throw new Error(`rendering chart '${c.name}' (${c.title}) failed: ${(err as Error).message}`);
        }
        write(`${c.name}.svg`, svgs[c.name]);
        svgFiles.push(path.join(opts.out, `${c.name}.svg`));
    }
    const tables = exportFiles(doc, "csv");
    for (const [name, text] of Object.entries(tables)) write(name, text);
    const blocks = voltReport(view, {
        resultsPath: opts.docFile,
        resultsDir,
        charts: charts.map((c) => ({ name: c.name, title: c.title, section: c.section })),
        stack: opts.stack,
        anomaliesFile: "anomalies.md",
        exportFiles: Object.keys(tables),
    });
    write("anomalies.md", anomaliesMarkdown(view));
    write("report.md", toMarkdown(blocks));
    write("report.html", toHtml(blocks, svgs, `netbed report: ${doc.run.name}`));
    const markdown = path.join(opts.out, "report.md");
    const html = path.join(opts.out, "report.html");
    return { dir: opts.out, markdown, html, svgs: svgFiles, missingRaw };
}
