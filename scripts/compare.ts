// `netbed compare <A> <B>`: reads two results documents and prints the A/B comparison
// (core/ab/comparison.ts) as markdown (core/report/compare.ts) or JSON. The exit code is
// core/ab/gate.ts's: 0 no regression, 3 a regression a CI gate can trust, 4 a regression between
// separate runs without --noise (may be drift), 5 underpowered (unless --allow-underpowered);
// 2 on bad usage, 1 when an input cannot be read.
//
// A and B may each be:
//   - a results document (results/runs/<name>-<timestamp>.json), or a `pulumi stack output --json`
//     dump holding it under `results`;
//   - a results directory (the BenchmarkRun's resultsDir, or its runs/ directory): the newest run in it;
//   - one pair's raw-data directory <resultsDir>/<topology>/<pair>/<timestamp>/ (the layout of the Volt
//     template's results/<backend>/<timestamp>/): that run's document, restricted to that pair;
//   - a stack: `stack:NAME`, or a bare NAME that is not a path: its `results` output.
import * as fs from "node:fs";
import * as path from "node:path";
import { RESULTS_VERSION, type ResultsDoc, ResultsDocSchema, isRunDocName } from "../core/bench/results";
import { type CompareOptions, compareDocs, noiseThresholds } from "../core/ab/comparison";
import { EXIT_OK, gateOutcome } from "../core/ab/gate";
import { holdout } from "../core/ab/holdout";
import { renderHoldout, renderMarkdown } from "../core/report/compare";

export interface Loaded {
    doc: ResultsDoc;
    /** Where it came from, as the comparison and the report print it. */
    source: string;
    /** The results document file it was read from (none for a stack's output). */
    file?: string;
    /** The stack whose `results` output it is. */
    stack?: string;
    /** The pair a raw-data directory names. */
    pair?: string;
}

function parseDoc(value: unknown, where: string): ResultsDoc {
    // A `pulumi stack output --json` dump holds the document under `results`.
    const v = value && typeof value === "object" && !("version" in value) && "results" in value ? (value as { results: unknown }).results : value;
    // The default program's `results` is a secret output: a dump without --show-secrets masks it.
    if (v === "[secret]") throw new Error(`${where} holds "[secret]" for results: dump it with 'pulumi stack output --json --show-secrets'`);
    const r = ResultsDocSchema.safeParse(v);
    if (!r.success) {
        const issues = r.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
        throw new Error(`${where} is not a netbed results document (version ${RESULTS_VERSION} or earlier): ${issues.join("; ")}`);
    }
    return r.data;
}

function readDocFile(file: string): ResultsDoc {
    let json: unknown;
    try {
        json = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
        throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    }
    return parseDoc(json, file);
}

/** Run documents of a runs/ directory (not the progress files of unfinished runs, nor overhead breakdowns). */
function runFiles(runsDir: string): string[] {
    return fs
        .readdirSync(runsDir)
        .filter(isRunDocName)
        .map((f) => path.join(runsDir, f));
}

function newest(runsDir: string): Loaded {
    const docs = runFiles(runsDir).map((f) => ({ f, doc: readDocFile(f) }));
    if (docs.length === 0) throw new Error(`${runsDir} holds no finished run (no runs/*.json besides progress files)`);
    docs.sort((x, y) => Date.parse(y.doc.run.finished) - Date.parse(x.doc.run.finished));
    return { doc: docs[0].doc, source: docs[0].f, file: docs[0].f };
}

/** <resultsDir>/<topology>/<pair>/<timestamp>/: the run document named after that timestamp. */
function rawPairDir(dir: string): Loaded | undefined {
    const timestamp = path.basename(dir);
    const pair = path.basename(path.dirname(dir));
    const runsDir = path.join(path.dirname(path.dirname(path.dirname(dir))), "runs");
    if (!/^\d{4}-\d{2}-\d{2}T/.test(timestamp) || !fs.existsSync(runsDir)) return undefined;
    const match = runFiles(runsDir).filter((f) => path.basename(f).endsWith(`-${timestamp}.json`));
    if (match.length === 0) {
        throw new Error(
            `${dir} looks like one pair's raw data, but ${runsDir} has no run document for timestamp ${timestamp} (the run did not finish; resume it with pulumi up)`,
        );
    }
    if (match.length > 1) throw new Error(`${dir}: several run documents carry timestamp ${timestamp}: ${match.join(", ")}; pass one of them`);
    const doc = readDocFile(match[0]);
    if (!doc.cells.some((c) => c.pair === pair)) throw new Error(`${match[0]} has no pair '${pair}' (named by ${dir})`);
    return { doc, source: `${match[0]} (pair ${pair})`, file: match[0], pair };
}

/** The `results` output of a stack. The stack must exist: opening one would create it, and compare only reads. */
async function stackResults(name: string, projectDir: string | undefined): Promise<Loaded> {
    // Loaded lazily: the Automation API is heavy and only stacks need it.
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    const engine = await import("./engine");
    const dir = path.resolve(projectDir ?? engine.HOME);
    // Listing stacks decrypts nothing: the local stack's environment will do (any other stack's
    // needs a passphrase, which `run` below asks for once the stack is known to exist).
    const envVars = engine.engineEnv("local");
    // The Automation API looks the CLI up on this process's PATH (as engine.openStack does).
    process.env.PATH = envVars.PATH;
    const ws = await LocalWorkspace.create({ workDir: dir, envVars });
    const known = (await ws.listStacks()).map((s) => s.name);
    if (!known.some((k) => k === name || k.endsWith(`/${name}`))) {
        throw new Error(`'${name}' is neither a file nor a stack of ${dir} (its stacks: ${known.join(", ") || "none"})`);
    }
    const out = await engine.run("outputs", { stack: name, dir });
    if (out.results === undefined)
        throw new Error(`stack '${name}' has no 'results' output (it has: ${Object.keys(out).join(", ") || "none"}); run 'netbed up --stack ${name}' first`);
    return { doc: parseDoc(out.results, `the 'results' output of stack '${name}'`), source: `stack ${name}`, stack: name };
}

export async function load(arg: string, opts: { projectDir?: string } = {}): Promise<Loaded> {
    // A bare word that is no path is a stack name; one with a dot or slash is a mistyped file.
    const stackName = arg.startsWith("stack:") ? arg.slice("stack:".length) : !fs.existsSync(arg) && /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(arg) ? arg : undefined;
    if (stackName !== undefined) return stackResults(stackName, opts.projectDir);
    if (!fs.existsSync(arg)) throw new Error(`${arg}: no such file or directory`);
    if (!fs.statSync(arg).isDirectory()) return { doc: readDocFile(arg), source: arg, file: arg };
    if (fs.existsSync(path.join(arg, "runs")) && fs.statSync(path.join(arg, "runs")).isDirectory()) return newest(path.join(arg, "runs"));
    if (path.basename(path.resolve(arg)) === "runs") return newest(arg);
    const raw = rawPairDir(path.resolve(arg));
    if (raw) return raw;
    throw new Error(
        `${arg} is a directory without runs/: pass a results document, a results directory (with runs/), or <resultsDir>/<topology>/<pair>/<timestamp>/`,
    );
}

const USAGE = [
    "usage: netbed compare <A> <B> [options]",
    "       netbed compare --holdout A1 A2 A3 [--alpha P] [--threshold X]: three A/A runs of one configuration;",
    "         calibrates --noise on A1 A2, prints the false-positive rate per metric family on A3 (held out)",
    "  A, B: results.json | results directory | <resultsDir>/<topology>/<pair>/<timestamp>/ | stack:NAME",
    "  --alpha P                 family-wise error rate of the whole comparison (default 0.01): Holm's",
    "                            step-down over every metric test; verdicts come from the adjusted p",
    "  --threshold X             noise threshold on |change of the median|, '5%' or 0.05 (default 5%)",
    "  --threshold METRIC=X      per-metric threshold; METRIC may end in '*' (p99us*=10%); repeatable",
    "  --noise A1 A2             two runs of one configuration (an A/A): each metric's threshold is at least",
    "                            the largest change they show (explicit --threshold METRIC=X still wins)",
    "  --paired auto|always|never  pair repetitions by index (auto: only within one interleaved run)",
    "  --pair-a LABEL --pair-b LABEL  compare one pair of A with one pair of B (e.g. virtio vs vhost-net)",
    "  --seed N                  seed of the bootstrap and Monte Carlo test (default 24301)",
    "  --allow-underpowered      exit 0 instead of 5 when no metric can reach alpha with these repetitions",
    "  --json                    print JSON instead of markdown",
    "  --out-md FILE, --out-json FILE  also write the markdown / JSON to files",
    "  --dir PROJECT_DIR         Pulumi project for stack:NAME (default: this checkout)",
    "exit code: 0 no regression; 3 newly failed cell, or regression (Holm-adjusted) within one run or with --noise;",
    "           4 regression between separate runs without --noise (may be drift); 5 underpowered: no metric can",
    "           reach alpha with these repetitions (a regression wins over it); 2 usage; 1 error",
].join("\n");

class UsageError extends Error {}

function fraction(s: string, what: string): number {
    const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(s.trim());
    if (!m) throw new UsageError(`${what} must be a number or a percentage, got '${s}'`);
    return m[2] ? Number(m[1]) / 100 : Number(m[1]);
}

export function parseArgs(argv: string[]): {
    a: string;
    b: string;
    options: CompareOptions;
    json: boolean;
    allowUnderpowered: boolean;
    outMd?: string;
    outJson?: string;
    dir?: string;
    noise?: [string, string];
    holdout?: [string, string, string];
} {
    const pos: string[] = [];
    const options: CompareOptions = { thresholds: {} };
    let json = false;
    let allowUnderpowered = false;
    let outMd: string | undefined;
    let outJson: string | undefined;
    let dir: string | undefined;
    let noise: [string, string] | undefined;
    let held: [string, string, string] | undefined;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const val = () => {
            if (i + 1 >= argv.length) throw new UsageError(`${a} needs a value`);
            return argv[++i];
        };
        if (a === "--alpha") options.alpha = fraction(val(), "--alpha");
        else if (a === "--threshold") {
            const v = val();
            const eq = v.lastIndexOf("=");
            if (eq > 0) options.thresholds![v.slice(0, eq)] = fraction(v.slice(eq + 1), `--threshold ${v.slice(0, eq)}`);
            else options.threshold = fraction(v, "--threshold");
        } else if (a === "--paired") {
            const v = val();
            if (v !== "auto" && v !== "always" && v !== "never") throw new UsageError(`--paired must be auto, always or never, got '${v}'`);
            options.paired = v;
        } else if (a === "--pair-a") options.pairA = val();
        else if (a === "--pair-b") options.pairB = val();
        else if (a === "--seed") {
            const v = val();
            if (!/^\d+$/.test(v)) throw new UsageError(`--seed must be a non-negative integer, got '${v}'`);
            options.seed = Number(v);
        } else if (a === "--json") json = true;
        else if (a === "--allow-underpowered") allowUnderpowered = true;
        else if (a === "--out-md") outMd = val();
        else if (a === "--out-json") outJson = val();
        else if (a === "--dir") dir = val();
        else if (a === "--noise") noise = [val(), val()];
        else if (a === "--holdout") held = [val(), val(), val()];
        else if (a.startsWith("-")) throw new UsageError(`unknown option '${a}'`);
        else pos.push(a);
    }
    if (held && pos.length > 0) throw new UsageError(`--holdout takes its three runs and no other input, got ${pos.join(" ")}`);
    if (held) return { a: "", b: "", options, json, allowUnderpowered, dir, holdout: held };
    if (pos.length !== 2) throw new UsageError(`compare takes two inputs, got ${pos.length}`);
    if ((options.pairA === undefined) !== (options.pairB === undefined)) throw new UsageError("--pair-a and --pair-b go together");
    if (options.alpha !== undefined && !(options.alpha > 0 && options.alpha < 1)) throw new UsageError(`--alpha must be between 0 and 1, got ${options.alpha}`);
    return { a: pos[0], b: pos[1], options, json, allowUnderpowered, outMd, outJson, dir, noise };
}

/** Runs the command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
    let args: ReturnType<typeof parseArgs>;
    try {
        args = parseArgs(argv);
    } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        console.error(`netbed compare: ${err.message}\n${USAGE}`);
        return 2;
    }
    try {
        if (args.holdout) {
            const [x, y, z] = await Promise.all(args.holdout.map((f) => load(f, { projectDir: args.dir })));
            process.stdout.write(renderHoldout(holdout(x.doc, y.doc, z.doc, args.options), [x.source, y.source, z.source]));
            return 0;
        }
        const A = await load(args.a, { projectDir: args.dir });
        const B = await load(args.b, { projectDir: args.dir });
        // A raw-data directory names its pair: compare that pair only (unless the user chose pairs).
        const options = { ...args.options };
        if (options.pairA === undefined && (A.pair !== undefined || B.pair !== undefined)) {
            options.pairA = A.pair ?? B.pair;
            options.pairB = B.pair ?? A.pair;
        }
        if (args.noise) {
            const N1 = await load(args.noise[0], { projectDir: args.dir });
            const N2 = await load(args.noise[1], { projectDir: args.dir });
            // Like against like: each pair of the first run against the same pair of the second.
            const aa = compareDocs(N1.doc, N2.doc, { ...options, thresholds: {}, pairA: N1.pair, pairB: N2.pair ?? N1.pair }, { a: N1.source, b: N2.source });
            options.thresholds = { ...noiseThresholds(aa, options.threshold ?? 0.05), ...options.thresholds };
            options.noiseCalibrated = true;
        }
        const c = compareDocs(A.doc, B.doc, options, { a: A.source, b: B.source });
        const md = renderMarkdown(c);
        const json = JSON.stringify(c, null, 2);
        if (args.outMd) fs.writeFileSync(args.outMd, md);
        if (args.outJson) fs.writeFileSync(args.outJson, `${json}\n`);
        process.stdout.write(args.json ? `${json}\n` : md);
        const gate = gateOutcome(c, { allowUnderpowered: args.allowUnderpowered });
        // A CI gate that cannot see a regression must not pass silently.
        if (gate.code !== EXIT_OK || c.counts.underpowered > 0) console.error(`netbed compare: exit ${gate.code}: ${gate.reason}`);
        return gate.code;
    } catch (err) {
        console.error(`netbed compare: ${(err as Error).message}`);
        return 1;
    }
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => {
            process.exitCode = code;
        },
        (err) => {
            console.error(`netbed compare: ${err instanceof Error ? err.stack : err}`);
            process.exitCode = 1;
        },
    );
}
