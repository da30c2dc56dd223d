// `netbed export <results.json | results directory | stack:NAME> [--format csv|jsonl] [--out DIR]`:
// the run as tables a notebook reads: repetitions.<ext> (one row per repetition and metric, every
// dimension a column) and cells.<ext> (one row per cell and metric, its statistics), written to
// DIR (default: <results doc name>-export/ beside the results document). Inputs are read as
// `netbed compare` reads them (scripts/compare.ts load()).
import * as path from "node:path";
import { type ExportFormat, exportFiles } from "../core/bench/export";
import { writeBelow } from "../providers/files/nofollow";
import { load } from "./compare";

const USAGE = [
    "usage: netbed export <results.json | results directory | stack:NAME> [--format csv|jsonl] [--out DIR]",
    "  writes repetitions.<csv|jsonl> (one row per repetition and metric) and cells.<csv|jsonl> (one row per cell and metric)",
    "  to DIR (default: <results doc name>-export/ beside the results document)",
    "  --dir PROJECT_DIR  Pulumi project for stack:NAME (default: this checkout)",
].join("\n");

interface Args {
    input: string;
    format: ExportFormat;
    out?: string;
    dir?: string;
}

function parse(argv: string[]): Args | string {
    let input: string | undefined;
    let format: ExportFormat = "csv";
    let out: string | undefined;
    let dir: string | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if ((a === "--format" || a === "--out" || a === "--dir") && i + 1 >= argv.length) return `${a} needs a value`;
        if (a === "--format") {
            const f = argv[++i];
            if (f !== "csv" && f !== "jsonl") return `--format is csv or jsonl, not '${f}'`;
            format = f;
        } else if (a === "--out") out = argv[++i];
        else if (a === "--dir") dir = argv[++i];
        else if (a.startsWith("--") || input !== undefined) return `unexpected argument '${a}'`;
        else input = a;
    }
    return input ? { input, format, out, dir } : "give a results document, a results directory or stack:NAME";
}

export async function main(argv: string[]): Promise<number> {
    if (argv.includes("-h") || argv.includes("--help")) {
        console.log(USAGE);
        return 0;
    }
    const args = parse(argv);
    if (typeof args === "string") {
        console.error(`netbed export: ${args}\n${USAGE}`);
        return 2;
    }
    const loaded = await load(args.input, { projectDir: args.dir });
    const target =
        args.out ??
        (loaded.file
            ? path.join(path.dirname(loaded.file), `${path.basename(loaded.file, ".json")}-export`)
            : path.join(loaded.doc.run.resultsDir, "runs", `${loaded.doc.run.name}-export`));
    const root = path.dirname(path.resolve(target));
    console.log(`export of ${loaded.source}:`);
    for (const [name, text] of Object.entries(exportFiles(loaded.doc, args.format))) {
        writeBelow(root, path.join(target, name), text);
        console.log(`  ${path.join(target, name)}`);
    }
    return 0;
}
