#!/usr/bin/env node
// netbed's command line: `npx netbed <up|preview|refresh|destroy|outputs> [--stack NAME] [--dir PROJECT]`
// in a project that installed netbed (the package's bin), `npm run netbed -- ...` in a checkout.
import * as path from "node:path";
import { displayArgv } from "../core/argv";
import { ResultsDocSchema } from "../core/bench/results";
import { terminalSummary } from "../core/report/summary";
import { prune } from "./cache";
import { HOME, type Operation, ROOT, run } from "./engine";

const OPS: Operation[] = ["up", "preview", "refresh", "destroy", "outputs"];

function usage(msg?: string): never {
    if (msg) console.error(`netbed: ${msg}`);
    console.error(
        "usage: netbed <up|preview|refresh|destroy|outputs> [--stack NAME (default local)] [--dir PROJECT_DIR] [--refresh (up only)] [--json (up: print every output, not the summary)]",
    );
    console.error("       netbed compare <A> <B> [--alpha P] [--threshold X | METRIC=X] [--paired auto|always|never] [--json] (see scripts/compare.ts)");
    console.error("       netbed report <results.json | results directory | stack:NAME> [--out DIR] [--stack NAME] (see scripts/report.ts)");
    console.error("       netbed export <results.json | results directory | stack:NAME> [--format csv|jsonl] [--out DIR] (see scripts/export.ts)");
    console.error(
        "       netbed sim <up [--machines N] [--e2288g] | down [--wipe] | status | reboot MACHINE | stack [--short]> (simulated SSH machines, see scripts/sim.ts)",
    );
    console.error("       netbed cache prune [--dir CACHE_DIR (default /var/cache/netbed)] [--dry-run]");
    process.exit(2);
}

async function main(argv: string[]): Promise<void> {
    if (argv[0] === "compare") {
        process.exitCode = await (await import("./compare")).main(argv.slice(1));
        return;
    }
    if (argv[0] === "report") {
        process.exitCode = await (await import("./report")).main(argv.slice(1));
        return;
    }
    if (argv[0] === "export") {
        process.exitCode = await (await import("./export")).main(argv.slice(1));
        return;
    }
    if (argv[0] === "sim") {
        await (await import("./sim")).main(argv.slice(1), ROOT);
        return;
    }
    if (argv[0] === "cache") {
        if (argv[1] !== "prune") usage("the cache command is 'cache prune [--dir DIR] [--dry-run]'");
        const dir = argv.includes("--dir") ? argv[argv.indexOf("--dir") + 1] : "/var/cache/netbed";
        const r = prune(dir, { dryRun: argv.includes("--dry-run") });
        for (const p of r.removed) console.log(`${argv.includes("--dry-run") ? "would remove" : "removed"} ${p}`);
        console.log(`${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${r.removed.length} entries`);
        return;
    }
    const op = argv[0] as Operation;
    if (!OPS.includes(op)) usage(argv[0] ? `unknown command '${argv[0]}'` : undefined);
    let stack: string | undefined;
    let dir: string | undefined;
    let refresh = false;
    let json = false;
    for (let i = 1; i < argv.length; i++) {
        if (argv[i] === "--stack" && argv[i + 1]) stack = argv[++i];
        else if (argv[i] === "--dir" && argv[i + 1]) dir = argv[++i];
        else if (argv[i] === "--refresh" && op === "up") refresh = true;
        else if (argv[i] === "--json" && op === "up") json = true;
        else usage(`unknown option '${argv[i]}'`);
    }
    // Ctrl-C reaches the engine CLI too (one process group): it cancels, waiting for the operations
    // in flight, and its run then fails. Leaving at once would take the inline program with us and
    // leave those operations pending in the state; a second Ctrl-C does.
    let interrupted = false;
    process.on("SIGINT", () => {
        if (interrupted) process.exit(130);
        interrupted = true;
        console.error("netbed: interrupted: the engine is cancelling and waits for the operations in flight (Ctrl-C again stops at once)");
    });
    const started = Date.now();
    // With --json, stdout carries the outputs alone (the engine's progress goes to stderr).
    const onOutput = json ? (t: string) => process.stderr.write(t) : undefined;
    const out = await run(op, { stack, dir, refresh, onOutput, suppressOutputs: op === "up" });
    if (op === "outputs" || json) console.log(JSON.stringify(out, null, 2));
    else if (op === "up") console.log(`\n${upSummary(out, stack ?? "local", dir === undefined ? undefined : path.resolve(dir)).join("\n")}`);
    console.error(`netbed ${op} (${stack ?? "local"}) finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * The end of an `up`: the benchmark's summary where the program exports a results document (the
 * default program's `results`, or any output that is one), else the outputs' names. The commands it
 * prints carry the up's stack and project directory (`dir`, where it was given).
 */
export function upSummary(outputs: Record<string, unknown>, stack: string, dir?: string): string[] {
    const cli = HOME === ROOT ? "npm run netbed --" : "npx netbed";
    const key = ["results", ...Object.keys(outputs)].find((k) => ResultsDocSchema.safeParse(outputs[k]).success);
    const str = (k: string) => (typeof outputs[k] === "string" && outputs[k] ? (outputs[k] as string) : undefined);
    if (key === undefined) {
        const names = Object.keys(outputs);
        const print = `${cli} ${displayArgv(["outputs", "--stack", stack, ...(dir === undefined ? [] : ["--dir", dir])])}`;
        return [`Stack ${stack} is up.${names.length > 0 ? ` Outputs: ${names.join(", ")} (\`${print}\` prints them).` : ""}`];
    }
    const doc = ResultsDocSchema.parse(outputs[key]);
    return terminalSummary(doc, { cli, stack, dir, results: str("resultsPath"), report: str("reportPath") });
}

if (require.main === module)
    main(process.argv.slice(2)).catch((e) => {
        console.error(`netbed: ${e instanceof Error ? e.message : e}`);
        process.exit(1);
    });
