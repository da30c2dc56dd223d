// The local stack's testbed through the real engine, with namespaces of its own:
//  - figure 3 (no-op cost): first `up` of 2 guests and 20 fabric resources, then a second `up`
//    and a `refresh` with nothing changed;
//  - figure 5 (matrix overhead): the local stack's benchmark section (its default matrix and
//    settings, read from stacks/Pulumi.local.yaml) added to the same testbed and run by `up`:
//    wall time over the nominal seconds measured, with the provider's breakdown of the rest;
//  - figure 6 (statistical power): from that run's repetitions, how many are needed to detect a
//    5% throughput change at p < 0.01.
// Run: npm run bench -- noop | matrix   (both share one testbed when given together)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { OverheadReport } from "../core/bench/overhead";
import { warmupFloor } from "../core/bench/overhead";
import type { ResultsDoc } from "../core/bench/results";
import { power as powerOf, repetitionsFor } from "../core/ab/power";
import { overheadPath } from "../core/bench/overhead";
import type { Stack } from "@pulumi/pulumi/automation";
import { ROOT, openStack } from "../scripts/engine";
import { dropNetns } from "../test/helpers";
import { machine } from "./machine";

// js-yaml comes with @pulumi/pulumi; the stack file is YAML.
const yaml = require("js-yaml") as { load(s: string): any };

/** Taps beyond the two the guests use, so the testbed has 20 fabric resources. */
const EXTRA_TAPS = 11;

export function localConfig(): Record<string, any> {
    return yaml.load(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), "utf8")).config;
}

/** The local stack's testbed with this run's namespaces, and 13 taps instead of 2. */
function testbedConfig(id: string): Record<string, unknown> {
    const local = localConfig();
    const hosts = Object.fromEntries(Object.keys(local["testbed:hosts"]).map((h) => [h, { kind: "netns", namespace: `nbb-${id}-${h}` }]));
    const fabric = structuredClone(local["testbed:fabric"]);
    for (let k = 2; k < 2 + EXTRA_TAPS; k++) fabric.taps[`tap${k}`] = { host: "server", bridge: "br0" };
    return { "testbed:hosts": hosts, "testbed:fabric": fabric, "testbed:guests": local["testbed:guests"] };
}

function fabricCount(cfg: Record<string, any>): number {
    const f = cfg["testbed:fabric"];
    return Object.keys(cfg["testbed:hosts"]).length + ["wires", "bridges", "taps", "macvtaps"].reduce((a, k) => a + Object.keys(f[k] ?? {}).length, 0);
}

export async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
    const t0 = Date.now();
    const r = await f();
    return [r, (Date.now() - t0) / 1000];
}

export interface TestbedResult {
    noop?: Record<string, unknown>;
    matrix?: Record<string, unknown>;
    power?: Record<string, unknown>;
}

/** Metrics that are a throughput (higher is better) per test kind: the ones figure 6 is about. */
const THROUGHPUT: Record<string, string> = { tcp: "gbps", udp: "gbps", pps: "pps", rr: "tps" };

export async function main(opts: { noop?: boolean; matrix?: boolean } = { noop: true, matrix: true }): Promise<TestbedResult> {
    console.log(machine());
    const tb = await openTestbed(process.pid.toString(36));
    const out: TestbedResult = {};
    try {
        const [, firstUp] = await timed(() => tb.stack.up({ onOutput: tb.engine.onOutput, color: "never" }));
        const resources = fabricCount(tb.config);
        console.log(
            `testbed: ${resources} fabric resources (3 netns hosts, 2 veth pairs, 1 bridge, ${2 + EXTRA_TAPS} taps, 1 macvtap), kernel, image, security profile, 2 guests`,
        );
        console.log(`first up: ${firstUp.toFixed(1)} s`);
        if (opts.noop) out.noop = await noopFigure(tb.stack, tb.engine, firstUp, resources);
        if (opts.matrix) {
            const { doc, oh, wall, resultsPath } = await runMatrix(tb, localConfig()["testbed:benchmark"]);
            out.matrix = overheadFigure(doc, oh, wall, resultsPath);
            out.power = powerFigure(doc);
        }
    } finally {
        const destroy = await tb.close();
        if (out.noop) out.noop.destroySeconds = destroy;
    }
    return out;
}

/** The local stack's testbed with namespaces of its own, on a state backend of its own; `close` destroys it and removes all of it. */
export interface Testbed {
    stack: Stack;
    engine: EngineLog;
    config: Record<string, unknown>;
    cfgFile: string;
    /** Destroys the stack and removes its namespaces, config and state; returns the destroy's seconds. */
    close(): Promise<number>;
}

export async function openTestbed(id: string): Promise<Testbed> {
    const stackName = `bench${id}`;
    const cfgFile = path.join(ROOT, "stacks", `Pulumi.${stackName}.yaml`);
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-bench-state-"));
    const saved = { ...process.env };
    process.env.PULUMI_BACKEND_URL = `file://${backend}`;
    process.env.PULUMI_CONFIG_PASSPHRASE = "bench";
    const config = testbedConfig(id);
    const engine = { log: [] as string[], onOutput: (s: string) => engine.log.push(s) };
    fs.writeFileSync(cfgFile, JSON.stringify({ config }, null, 2));
    const stack = await openStack({ stack: stackName });
    const close = async () => {
        const [, destroy] = await timed(() => stack.destroy({ onOutput: engine.onOutput, color: "never" })).catch((e) => {
            console.error(`destroy failed: ${(e as Error).message}\n${engine.log.join("").slice(-3000)}`);
            return [undefined, NaN] as const;
        });
        console.log(`destroy: ${Number(destroy).toFixed(1)} s`);
        await stack.workspace.removeStack(stackName).catch(() => undefined);
        fs.rmSync(cfgFile, { force: true });
        for (const h of Object.keys(config["testbed:hosts"] as object)) dropNetns(`nbb-${id}-${h}`);
        fs.rmSync(backend, { recursive: true, force: true });
        process.env = saved;
        return destroy;
    };
    return { stack, engine, config, cfgFile, close };
}

/** The engine's output so far, and the callback that collects it. */
export interface EngineLog {
    log: string[];
    onOutput: (s: string) => void;
}

/** Figure 3: a second `up`, a `refresh` and an `up` after it, with nothing changed, against the first `up`. */
async function noopFigure(stack: Stack, engine: EngineLog, firstUp: number, resources: number): Promise<Record<string, unknown>> {
    const run = { onOutput: engine.onOutput, color: "never" } as const;
    const [up2, secondUp] = await timed(() => stack.up(run));
    const [ref, refresh] = await timed(() => stack.refresh(run));
    const [up3, upAfterRefresh] = await timed(() => stack.up(run));
    const changed = (s: Record<string, number> | undefined) =>
        Object.entries(s ?? {})
            .filter(([k]) => k !== "same")
            .reduce((a, [, v]) => a + v, 0);
    const noChange = changed(up2.summary.resourceChanges) === 0 && changed(ref.summary.resourceChanges) === 0 && changed(up3.summary.resourceChanges) === 0;
    const noop: Record<string, unknown> = {
        fabricResources: resources,
        guests: 2,
        firstUpSeconds: firstUp,
        secondUpSeconds: secondUp,
        refreshSeconds: refresh,
        upAfterRefreshSeconds: upAfterRefresh,
        secondUpRatio: secondUp / firstUp,
        refreshRatio: refresh / firstUp,
        changes: { secondUp: up2.summary.resourceChanges, refresh: ref.summary.resourceChanges, upAfterRefresh: up3.summary.resourceChanges },
    };
    console.log(`second up (no change): ${secondUp.toFixed(1)} s = ${(secondUp / firstUp).toFixed(2)} x the first up`);
    console.log(`refresh (no change):   ${refresh.toFixed(1)} s = ${(refresh / firstUp).toFixed(2)} x the first up`);
    console.log(`up after refresh:      ${upAfterRefresh.toFixed(1)} s; changes planned: ${noChange ? "none" : JSON.stringify(noop.changes)}`);
    const diffs = refreshDiffs(engine.log);
    for (const d of diffs) console.log(`  ${d}`);
    noop.diffs = diffs;
    return noop;
}

/** What a refresh with nothing changed still saw as different, named from the engine's output. */
function refreshDiffs(engineLog: readonly string[]): string[] {
    return [
        ...new Set(
            engineLog
                .join("")
                .split("\n")
                .filter((l) => /\[diff: /.test(l))
                .map((l) => l.replace(/\s*\(\d+(\.\d+)?s\)/, "").trim()),
        ),
    ];
}

/** A benchmark section (figure 5's: the local stack's) added to the testbed, run by `up`; its results and overhead report. */
export async function runMatrix(tb: Testbed, benchmark: Record<string, unknown>) {
    const resultsDir = path.join(ROOT, "results", `bench-matrix-${new Date().toISOString().replace(/[:.]/g, "-")}`);
    // A failed cell (a guest stalling under TCG) must not cost the figure: it is reported.
    const bench = { ...benchmark, resultsDir, allowFailedCells: true };
    fs.writeFileSync(tb.cfgFile, JSON.stringify({ config: { ...tb.config, "testbed:benchmark": bench } }, null, 2));
    const [up, wall] = await timed(() => tb.stack.up({ onOutput: tb.engine.onOutput, color: "never" }));
    const resultsPath = up.outputs.resultsPath.value as string;
    const doc = JSON.parse(fs.readFileSync(resultsPath, "utf8")) as ResultsDoc;
    const oh = JSON.parse(fs.readFileSync(overheadPath(resultsPath), "utf8")) as OverheadReport;
    return { doc, oh, wall, resultsPath };
}

/** Figure 5: wall time over the nominal seconds measured, with the provider's breakdown of the rest. */
function overheadFigure(doc: ResultsDoc, oh: OverheadReport, wall: number, resultsPath: string): Record<string, unknown> {
    const s = doc.run.settings;
    const steps = Object.values(oh.toolStartStopByTest).reduce((a, t) => a + t.steps, 0);
    const failedCells = doc.cells.filter((c) => c.status !== "ok").map((c) => `${c.pair}/${c.cell}`);
    if (failedCells.length) console.log(`failed cells: ${failedCells.join(", ")}`);
    console.log(
        `matrix: ${doc.cells.length} cells (${[...new Set(doc.cells.map((c) => c.pair))].join(", ")}), ${s.duration} s each, ${s.warmup} warm-up + ${s.repetitions} repetitions: ${steps} measurements`,
    );
    console.log(
        `\`pulumi up\` of the benchmark: ${wall.toFixed(1)} s; the run itself ${oh.wallSeconds.toFixed(1)} s for ${oh.measuredSeconds.toFixed(1)} s measured: ratio ${oh.ratio.toFixed(2)} (target <= 1.25)`,
    );
    for (const [k, v] of Object.entries(oh.seconds))
        console.log(`  ${k.padEnd(14)} ${v.toFixed(1).padStart(7)} s  ${((100 * v) / oh.wallSeconds).toFixed(1).padStart(5)}%`);
    console.log(
        `  tool start/stop beyond nominal per measurement: ${Object.entries(oh.toolStartStopByTest)
            .map(([t, x]) => `${t} ${x.meanSeconds.toFixed(2)} s`)
            .join(", ")}`,
    );
    const floor = warmupFloor(s);
    const netbedOwn = oh.seconds.cpuSampling + oh.seconds.fileWrites + oh.seconds.servers + oh.seconds.environment + oh.seconds.other;
    console.log(
        `  floor from warm-ups alone (${s.warmup} + ${s.repetitions}) / ${s.repetitions} = ${floor.toFixed(2)}; with the tools' own start/stop: ${((oh.seconds.measuring + oh.seconds.warmups + oh.seconds.toolStartStop) / oh.measuredSeconds).toFixed(2)}; ` +
            `netbed's own share ${netbedOwn.toFixed(1)} s = ${(netbedOwn / oh.measuredSeconds).toFixed(3)} of the ratio`,
    );
    return {
        upSeconds: wall,
        resultsPath,
        settings: s,
        cells: doc.cells.length,
        failedCells,
        measurements: steps,
        overhead: oh,
        warmupFloor: floor,
        netbedOwnSeconds: netbedOwn,
    };
}

/**
 * Figure 6: per pair, the CV of each throughput cell over its repetitions, and the power of
 * compare's rule (simulated: the test at p <= 0.01 and the 5% threshold) at those CVs.
 */
function powerFigure(doc: ResultsDoc): Record<string, unknown> {
    const s = doc.run.settings;
    const power: Record<string, unknown> = {};
    console.log(
        `power: the chance that netbed compare calls a true 5% / 10% throughput change (p <= 0.01 and beyond the 5% threshold; simulated, 400 trials) with ${s.repetitions} repetitions per side, per cell`,
    );
    for (const pair of [...new Set(doc.cells.map((c) => c.pair))]) {
        const cells = pairPower(doc, pair, s.repetitions);
        if (Object.keys(cells).length === 0) continue;
        power[pair] = cells;
        console.log(
            `  ${pair.padEnd(11)} ${Object.entries(cells)
                .map(([id, x]) => `${id} CV ${(100 * x.cv).toFixed(1)}%: ${(100 * x.power5).toFixed(0)}% / ${(100 * x.power10).toFixed(0)}%`)
                .join("; ")}`,
        );
    }
    const for5 = repetitionsFor(0.02, 0.05, { trials: 400 });
    const recommendation =
        `A true 5% change is called at most about half the time whatever the repetitions (the 5% threshold equals it): ${for5 === null ? "no repetition count up to 30 reaches 80% power at CV 2%" : `${for5} repetitions reach 80% at CV 2%`}; ` +
        `a 10% change needs ${repetitionsFor(0.02, 0.1, { trials: 400 }) ?? "more than 30"} repetitions at CV 2%, ${repetitionsFor(0.05, 0.1, { trials: 400 }) ?? "more than 30"} at CV 5%.`;
    console.log(`recommendation: ${recommendation}`);
    return { alpha: 0.01, threshold: 0.05, target: 0.8, byPair: power, recommendation };
}

/** One pair's throughput cells with enough repetitions: their CV and the power to see a 5% and a 10% change. */
function pairPower(doc: ResultsDoc, pair: string, repetitions: number): Record<string, { cv: number; power5: number; power10: number }> {
    const simulated = (n: number, cv: number, effect: number) => powerOf(n, cv, effect, { trials: 400 });
    const cells: Record<string, { cv: number; power5: number; power10: number }> = {};
    for (const c of doc.cells.filter((x) => x.pair === pair && x.status === "ok")) {
        const m = THROUGHPUT[c.dimensions.test];
        const st = m ? c.metrics[m] : undefined;
        if (st && st.n >= 2) cells[c.cell] = { cv: st.cv, power5: simulated(repetitions, st.cv, 0.05), power10: simulated(repetitions, st.cv, 0.1) };
    }
    return cells;
}
