// `netbed report <results.json | results directory | stack:NAME> [--out DIR] [--stack NAME]`:
// the Volt template filled in (report.md), the same as one self-contained page (report.html),
// and the charts as SVG files, written to DIR (default: <doc name>-report/ beside the results
// document). Inputs are read as `netbed compare` reads them (scripts/compare.ts load()).
// The file access lives here; core/report/ is pure.
import * as fs from "fs";
import * as path from "path";
import type { ResultsDoc } from "../core/bench/results";
import { toMarkdown } from "../core/report/blocks";
import { latencyCdfs, RawReader } from "../core/report/cdf";
import { renderSvg, reportCharts } from "../core/report/charts";
import { toHtml } from "../core/report/html";
import { voltReport } from "../core/report/volt";
import { load } from "./compare";

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
export function rawReader(root: string, missing: string[]): RawReader {
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

export async function writeReport(doc: ResultsDoc, opts: { docFile?: string; out: string; stack?: string }): Promise<WrittenReport> {
    const resultsDir = resolveResultsDir(doc, opts.docFile);
    const missingRaw: string[] = [];
    const cdfs = latencyCdfs(doc, rawReader(resultsDir, missingRaw));
    const charts = reportCharts(doc, cdfs);
    fs.mkdirSync(opts.out, { recursive: true });
    const svgs: Record<string, string> = {};
    const svgFiles: string[] = [];
    for (const c of charts) {
        try {
            svgs[c.name] = await renderSvg(c.spec);
        } catch (err) {
            throw new Error(`rendering chart '${c.name}' (${c.title}) failed: ${(err as Error).message}`);
        }
        const f = path.join(opts.out, `${c.name}.svg`);
        fs.writeFileSync(f, svgs[c.name]);
        svgFiles.push(f);
    }
    const blocks = voltReport(doc, {
        resultsPath: opts.docFile,
        resultsDir,
        charts: charts.map((c) => ({ name: c.name, title: c.title, section: c.section })),
        stack: opts.stack,
    });
    const markdown = path.join(opts.out, "report.md");
    const html = path.join(opts.out, "report.html");
    fs.writeFileSync(markdown, toMarkdown(blocks));
    fs.writeFileSync(html, toHtml(blocks, svgs, `netbed report: ${doc.run.name}`));
    return { dir: opts.out, markdown, html, svgs: svgFiles, missingRaw };
}

const USAGE = [
    "usage: netbed report <results.json | results directory | stack:NAME> [--out DIR] [--stack NAME]",
    "  writes report.md, report.html (self-contained) and the charts' SVGs to DIR",
    "  (default: <results doc name>-report/ beside the results document)",
    "  --stack NAME  the stack named in the report's reproduce commands (default: the input's stack, else local)",
    "  --dir PROJECT_DIR  Pulumi project for stack:NAME (default: this checkout)",
].join("\n");

export async function main(argv: string[]): Promise<number> {
    let input: string | undefined;
    let out: string | undefined;
    let stack: string | undefined;
    let dir: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${USAGE}`);
            return argv[++i];
        };
        if (a === "--out") out = val();
        else if (a === "--stack") stack = val();
        else if (a === "--dir") dir = val();
        else if (a === "-h" || a === "--help") {
            console.log(USAGE);
            return 0;
        } else if (a.startsWith("--") || input !== undefined) {
            console.error(`netbed report: unexpected argument '${a}'\n${USAGE}`);
            return 2;
        } else input = a;
    }
    if (!input) {
        console.error(`netbed report: give a results document, a results directory or stack:NAME\n${USAGE}`);
        return 2;
    }
    const loaded = await load(input, { projectDir: dir });
    const fromStack = /^stack (.+)$/.exec(loaded.source)?.[1];
    // compare's loader names a pair's raw directory "FILE (pair X)": the file is what we need.
    const docFile = fromStack ? undefined : loaded.source.replace(/ \(pair [^)]*\)$/, "");
    const target = out ?? (docFile ? path.join(path.dirname(docFile), `${path.basename(docFile, ".json")}-report`) : path.join(loaded.doc.run.resultsDir, "runs", `${loaded.doc.run.name}-report`));
    const r = await writeReport(loaded.doc, { docFile, out: target, stack: stack ?? fromStack });
    console.log(`report of ${loaded.source}:`);
    for (const f of [r.markdown, r.html, ...r.svgs]) console.log(`  ${f}`);
    if (r.missingRaw.length > 0) console.error(`netbed report: ${r.missingRaw.length} raw file(s) unreadable, the CDFs use the document's percentiles there (first: ${r.missingRaw[0]})`);
    return 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => (process.exitCode = code),
        (err) => {
            console.error(`netbed report: ${err instanceof Error ? err.message : err}`);
            process.exitCode = 1;
        },
    );
}
