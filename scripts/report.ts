// `netbed report <results.json | results directory | stack:NAME> [--out DIR] [--stack NAME]`:
// the Volt template filled in (report.md), the same as one self-contained page (report.html),
// and the charts as SVG files, written to DIR (default: <doc name>-report/ beside the results
// document). Inputs are read as `netbed compare` reads them (scripts/compare.ts load()).
import * as path from "node:path";
import { writeReport } from "../providers/files/report";
import { load } from "./compare";

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
    const docFile = loaded.file;
    const target =
        out ??
        (docFile
            ? path.join(path.dirname(docFile), `${path.basename(docFile, ".json")}-report`)
            : path.join(loaded.doc.run.resultsDir, "runs", `${loaded.doc.run.name}-report`));
    const r = await writeReport(loaded.doc, { docFile, out: target, stack: stack ?? loaded.stack });
    console.log(`report of ${loaded.source}:`);
    for (const f of [r.markdown, r.html, ...r.svgs]) console.log(`  ${f}`);
    if (r.missingRaw.length > 0)
        console.error(
            `netbed report: ${r.missingRaw.length} raw file(s) unreadable, the CDFs use the document's percentiles there (first: ${r.missingRaw[0]})`,
        );
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
