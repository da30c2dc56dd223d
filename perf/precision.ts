// Precision-driven repetitions against fixed ones, on the local stack's testbed (namespaces of its
// own, through the real engine, as perf/testbed.ts brings it up) and its benchmark matrix, in one
// session: the matrix with its fixed 5 repetitions, then with precision on. Per run: the
// BenchmarkRun's wall time, the share of cells whose headline interval reached the target (for the
// fixed run computed afterwards by the same rule), and cells at target per minute.
//   npm run bench -- precision        (the fixed matrix about 9 minutes, the precision one up to 2.7 times its steps)
//   npm run bench -- precision-veth   (a minute: two namespaces and a veth, 1-s cells, with a resume)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { atTarget, decisionLevel } from "../core/bench/precision";
import type { CellResult, ResultsDoc } from "../core/bench/results";
import type { Precision } from "../core/bench/spec";
import { sha256Hex } from "../core/hash";
import { benchmarkHandler } from "../providers/benchmark";
import { progressFile } from "../providers/benchmark/resume";
import { MemoryLogger } from "../providers/runtime/log";
import { BenchmarkRunArgsSchema, type BenchmarkRunInputs } from "../schema/benchmark";
import { must } from "../test/helpers";
import { cleanUp, machine } from "./machine";
import { localConfig, openTestbed, runMatrix } from "./testbed";

/**
 * The target of the comparison. +-10%: by 15 repetitions the rule reaches +-5% in 45% of cells at
 * CV 5% and 2% at CV 10%, +-10% in 97% at CV 5% and 45% at CV 10% (test/unit/core/bench/precision.test.ts).
 */
const TARGET: Precision = { relative: 0.1, confidence: 0.95, maxRepetitions: 15 };

/** Cells whose widest interval, [min, max] at the coverage their n gives, is within `relative`: what fixed runs can show below the rule's level. */
function minMaxWithin(c: CellResult, relative: number): boolean {
    if (c.status !== "ok" || !c.stop) return false;
    const v = c.repetitions.map((r) => r.metrics[c.stop!.metric]).filter((x) => Number.isFinite(x));
    const m = c.metrics[c.stop.metric]?.median;
    return v.length > 0 && m !== undefined && m !== 0 && Math.max(Math.max(...v) - m, m - Math.min(...v)) / Math.abs(m) <= relative;
}

/** One run's figures: wall time, cells at target (by the rule, and at +-5/10/20%), per minute. */
function figures(label: string, doc: ResultsDoc, upSeconds: number): Record<string, unknown> {
    const cells = doc.cells;
    const wall = doc.run.wallSeconds;
    const share = (f: (c: CellResult) => boolean) => cells.filter(f).length;
    const at = share((c) => atTarget(c, TARGET));
    const byWidth = Object.fromEntries([0.05, 0.1, 0.2].map((r) => [`${r * 100}%`, share((c) => atTarget(c, { relative: r, confidence: TARGET.confidence }))]));
    const minMax = share((c) => minMaxWithin(c, TARGET.relative));
    const reps = cells.map((c) => c.repetitions.length);
    const stops = Object.fromEntries(["fixed", "precise", "cap", "failed"].map((r) => [r, share((c) => c.stop?.reason === r)]));
    console.log(
        `${label.padEnd(9)} run ${wall.toFixed(1)} s (up ${upSeconds.toFixed(1)} s), ${doc.run.measuredSeconds.toFixed(0)} s measured, repetitions ${Math.min(...reps)}-${Math.max(...reps)} (${reps.reduce((a, b) => a + b, 0)} in all); ` +
            `at ±${TARGET.relative * 100}% by the rule (${decisionLevel(TARGET.confidence) * 100}%): ${at}/${cells.length} = ${((100 * at) / cells.length).toFixed(0)}%, ${((at * 60) / wall).toFixed(2)} cells at target per minute`,
    );
    console.log(
        `${"".padEnd(9)} by the rule at ±5/10/20%: ${Object.values(byWidth).join("/")} cells; [min, max] within ±${TARGET.relative * 100}% whatever its level: ${minMax}; stopped: ${JSON.stringify(stops)}`,
    );
    return {
        wallSeconds: wall,
        upSeconds,
        cells: cells.length,
        atTarget: at,
        share: at / cells.length,
        perMinute: (at * 60) / wall,
        byWidth,
        minMaxWithinTarget: minMax,
        stops,
    };
}

export async function main(): Promise<Record<string, unknown>> {
    console.log(machine());
    const local = localConfig()["testbed:benchmark"];
    // The stack's own repetitions, fixed: whatever precision the stack file asks for is the other arm.
    const { precision: _, ...fixedSettings } = local.settings;
    console.log(`matrix: the local stack's (fixed: ${JSON.stringify(fixedSettings)}); precision run: ${JSON.stringify(TARGET)}`);
    const tb = await openTestbed(`p${process.pid.toString(36)}`);
    try {
        await tb.stack.up({ onOutput: tb.engine.onOutput, color: "never" });
        const fixed = await runMatrix(tb, { ...local, settings: fixedSettings });
        const fixedFig = figures("fixed", fixed.doc, fixed.wall);
        const precise = await runMatrix(tb, { ...local, settings: { ...fixedSettings, precision: TARGET } });
        const preciseFig = figures("precision", precise.doc, precise.wall);
        return {
            target: TARGET,
            settings: fixedSettings,
            fixed: { ...fixedFig, resultsPath: fixed.resultsPath },
            precision: { ...preciseFig, resultsPath: precise.resultsPath },
        };
    } finally {
        await tb.close();
    }
}

/**
 * The loop end to end on something small and real: two namespaces and a veth, a few 1-s cells with
 * precision on; then the run's extra rounds partly deleted and the run resumed from its progress.
 */
export async function veth(): Promise<Record<string, unknown>> {
    const id = `prec${process.pid.toString(36)}`;
    const [a, b] = [`nbb-${id}-a`, `nbb-${id}-b`];
    const results = fs.mkdtempSync(path.join(os.tmpdir(), `netbed-${id}-`));
    try {
        for (const ns of [a, b]) must(["ip", "netns", "add", ns]);
        must(["ip", "link", "add", "nbprec0", "netns", a, "type", "veth", "peer", "name", "nbprec1", "netns", b]);
        for (const [ns, dev, addr] of [
            [a, "nbprec0", "10.254.91.1/24"],
            [b, "nbprec1", "10.254.91.2/24"],
        ]) {
            must(["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
            must(["ip", "-n", ns, "link", "set", dev, "up"]);
            must(["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        const host = (ns: string, name: string) => ({ kind: "netns" as const, name, namespace: ns });
        const inputs = BenchmarkRunArgsSchema.parse({
            pairs: [{ label: "veth", client: { kind: "host", host: host(b, "b") }, server: { kind: "host", host: host(a, "a"), address: "10.254.91.1" } }],
            tests: [{ kind: "tcp" }, { kind: "udp", rateMbps: 200, size: 1400 }, { kind: "icmp", count: 20, interval: 0.01 }],
            settings: { duration: 1, repetitions: 3, warmup: 1, precision: { relative: 0.05, confidence: 0.95, maxRepetitions: 10 } },
            resultsDir: results,
        });
        const first = await runOnce(inputs, "first");
        const resume = await resumeAfterDeleting(inputs, first.doc, results);
        return { first: first.summary, resume };
    } finally {
        cleanUp([], [a, b]);
        fs.rmSync(results, { recursive: true, force: true });
    }
}

const runUrn = (name: string) => `urn:pulumi:bench::precision::netbed:index:BenchmarkRun::${name}`;

async function runOnce(inputs: BenchmarkRunInputs, name: string) {
    const log = new MemoryLogger();
    const t0 = Date.now();
    const r = await benchmarkHandler.create({ urn: runUrn(name), name: "veth", log }, inputs);
    const wall = (Date.now() - t0) / 1000;
    const doc = r.outs.results as ResultsDoc;
    const status = log.lines.filter((l) => l.startsWith("status: "));
    console.log(`${name}: ${wall.toFixed(1)} s wall, ${status.length} measurements`);
    // The first line of each round shows where the run was.
    for (const l of status.filter((x) => /^status: \[1\//.test(x))) console.log(`  ${l.replace(/^status: /, "")}`);
    const cells = doc.cells.map((c) => ({
        cell: c.cell,
        n: c.repetitions.length,
        reason: c.stop?.reason,
        relative: c.stop?.relative,
        level: c.stop?.level,
        median: c.stop ? c.metrics[c.stop.metric]?.median : undefined,
    }));
    for (const c of cells)
        console.log(
            `  ${c.cell.padEnd(14)} n ${String(c.n).padStart(2)}  ${c.reason?.padEnd(7)} ±${((c.relative ?? Number.NaN) * 100).toFixed(1)}% at ${((c.level ?? Number.NaN) * 100).toFixed(1)}%  median ${c.median?.toPrecision(4)}`,
        );
    return { doc, summary: { wallSeconds: wall, measurements: status.length, cells } };
}

/**
 * An interrupted run, reconstructed: the progress file the run had while it ran (its inputs' hash
 * and timestamp), and the records of its last round deleted; the rerun must measure only those.
 */
async function resumeAfterDeleting(inputs: BenchmarkRunInputs, doc: ResultsDoc, results: string) {
    const timestamp = doc.cells[0].rawDir.split("/")[2];
    const hash = sha256Hex(JSON.stringify({ pairs: inputs.pairs, tests: inputs.tests, settings: inputs.settings, triggers: inputs.triggers }));
    fs.writeFileSync(progressFile(results, { name: "veth", urn: runUrn("resumed") }), JSON.stringify({ hash, timestamp }));
    const last = Math.max(...doc.cells.map((c) => c.repetitions.length));
    const deleted = doc.cells.filter((c) => c.repetitions.length === last).map((c) => path.join(results, c.rawDir, `rep-${last}.meta.json`));
    for (const f of deleted) fs.rmSync(f);
    const again = await runOnce(inputs, "resumed");
    const same = again.doc.cells.every((c, k) => c.repetitions.length === doc.cells[k].repetitions.length && c.stop?.reason === doc.cells[k].stop?.reason);
    console.log(
        `resumed after deleting ${deleted.length} record(s) of round ${last}: ${again.summary.measurements} measured again; same repetitions and stop reasons: ${same}`,
    );
    return { deleted: deleted.length, measuredAgain: again.summary.measurements, sameOutcome: same, wallSeconds: again.summary.wallSeconds };
}
