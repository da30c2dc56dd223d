// npm run bench -- [name ...]: runs the named benchmarks (default: all, the figures of
// docs/performance.md; provisioning is another name for fabric), prints each figure with its raw
// numbers and the machine, and writes a JSON summary to results/bench-<timestamp>.json. A benchmark
// that fails is reported and the others still run.
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT } from "../scripts/engine";
import { machine, machineInfo } from "./machine";

type Summary = Record<string, unknown>;

const BENCHES: Record<string, { figures: string; run: (selected: Set<string>) => Promise<Summary> }> = {
    fidelity: { figures: "1 harness fidelity", run: () => require("./fidelity").main() },
    fabric: { figures: "2 provisioning", run: () => require("./fabric").main() },
    // noop and matrix share one testbed when both run.
    noop: { figures: "3 no-op cost", run: (sel) => require("./testbed").main({ noop: true, matrix: sel.has("matrix") }) },
    boot: { figures: "4 boot", run: () => require("./boot").main() },
    hardware: { figures: "the hardware path over SSH against the local stack, phase by phase", run: () => require("./hardware").main() },
    cold: { figures: "the cold path: a fresh clone with empty caches to the local stack's report, phase by phase", run: () => require("./cold").main() },
    "cold-cli": {
        figures: "the cold path of a user with Pulumi's released CLI on PATH, phase by phase",
        run: () => require("./cold").main({ releasedCli: true }),
    },
    tools: { figures: "the tools' own start and finish, on namespaces", run: () => require("./tools").main() },
    precision: {
        figures: "precision-driven against fixed repetitions on the local stack's matrix: wall time, cells at target, per minute",
        run: () => require("./precision").main(),
    },
    "precision-veth": { figures: "precision-driven repetitions end to end on a veth, with a resume", run: () => require("./precision").veth() },
    stats: { figures: "the statistics: false calls, null reports and power under realistic noise", run: () => require("./stats").main() },
    matrix: {
        figures: "5 matrix overhead, 6 statistical power",
        run: (sel) => (sel.has("noop") ? Promise.resolve({ sharedWith: "noop" }) : require("./testbed").main({ noop: false, matrix: true })),
    },
};

/** Other names a bench answers to. */
const ALIASES: Record<string, string> = { provisioning: "fabric" };

async function run(names: string[]): Promise<number> {
    const selected = new Set(names.length ? names.map((n) => ALIASES[n] ?? n) : Object.keys(BENCHES));
    for (const n of selected) if (!BENCHES[n]) throw new Error(`unknown bench '${n}' (have: ${[...Object.keys(BENCHES), ...Object.keys(ALIASES)].join(", ")})`);
    const started = new Date();
    const summary = {
        started: started.toISOString(),
        finished: "",
        command: `npm run bench${names.length ? ` -- ${names.join(" ")}` : ""}`,
        machine: machineInfo(),
        results: {} as Record<string, Summary>,
        errors: {} as Record<string, string>,
    };
    console.log(machine());
    for (const n of Object.keys(BENCHES).filter((k) => selected.has(k))) {
        console.log(`\n== ${n} (figure ${BENCHES[n].figures})`);
        const t0 = Date.now();
        try {
            const r = await BENCHES[n].run(selected);
            if (r && r.sharedWith === undefined) summary.results[n] = { ...r, benchSeconds: (Date.now() - t0) / 1000 };
        } catch (e) {
            console.error(`bench ${n} failed: ${(e as Error).stack ?? e}`);
            summary.errors[n] = (e as Error).message;
        }
    }
    summary.finished = new Date().toISOString();
    const file = path.join(ROOT, "results", `bench-${started.toISOString().replace(/[:.]/g, "-")}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(summary, null, 2));
    console.log(`\nsummary: ${file}`);
    return Object.keys(summary.errors).length ? 1 : 0;
}

run(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
        console.error(e);
        process.exit(1);
    },
);
