// One BenchmarkRun: the schedule's steps in order, then (with precision settings) extra rounds of
// the cells not yet precise; each step measured between two CPU samples and retried once, its raw
// output and record written as soon as it exists; then the results document, the overhead
// breakdown and the report.
import * as path from "node:path";
import { defaultTopology, type RepRecord } from "../../core/bench/aggregate";
import { cpuDelta, withExits } from "../../core/bench/cpu";
import { cellRecords, resultsDocument, stepKey } from "../../core/bench/document";
import { etaText, type TimedStep } from "../../core/bench/eta";
import { phasesText } from "../../core/phases";
import { measure, nominalSeconds } from "../../core/bench/measure";
import { type OverheadStep, overheadReport } from "../../core/bench/overhead";
import { summarizeResults } from "../../core/bench/results";
import { nextRound, precisionValues } from "../../core/bench/precision";
import { type Cell, type Step, expandCells, schedule } from "../../core/bench/spec";
import type { BenchmarkRunInputs, BenchmarkRunState } from "../../schema/benchmark";
import { exitsPerSecond, sampleExits } from "./guest-stats";
import type { Ctx } from "../runtime/resource";
import { type Accounting, accounting, sampleCpu } from "./cpu";
import { deadGuests, guestsOf, type Pair, runAt, served, silentGuests, vmmStarts } from "./endpoints";
import { probeEnvironment } from "./environment";
import { writeFileSafe, writeOutputs } from "./files";
import { closeProgress, finishedRecord, openProgress, type Progress } from "./resume";
import { HostServers } from "./servers";

/** What a run's steps share, and what they record. */
interface Run {
    ctx: Ctx;
    i: BenchmarkRunInputs;
    cells: Cell[];
    /** The steps scheduled so far: the first rounds, then each extra round as it is decided. */
    steps: Step[];
    /** Per pair: the directory of its raw data, relative to resultsDir. */
    pairDir: string[];
    progress: Progress;
    acct: Accounting;
    servers: HostServers;
    /** Each guest's VMM start time when the run began: a VMM that died, its pid reused since, is not taken for alive. */
    vmmStarts: ReadonlyMap<string, string | undefined>;
    records: Map<string, RepRecord>;
    /** The rate each pair's cell measured last: a TCP_CRR measurement counts transactions from it (core/bench/measure.ts). */
    lastTps: Map<string, number>;
    failed: Map<string, string>;
    /** Pairs whose guest stopped answering on the network: their remaining cells are not attempted. */
    stalled: Map<string, string>;
    /** Where this attempt's wall time went besides measuring (the overhead file next to the document). */
    spent: OverheadStep[];
    /** The wall time of each step measured in this attempt, for the progress line's estimate. */
    timed: TimedStep[];
}

const since = (t0: number) => (Date.now() - t0) / 1000;

export async function runBenchmark(ctx: Ctx, i: BenchmarkRunInputs): Promise<BenchmarkRunState> {
    const startedAt = Date.now();
    const before = ctx.phases?.() ?? {};
    if (Object.keys(before).length > 0) ctx.log.info(ctx.urn, `this up before the benchmark: ${phasesText(before)}`);
    const cells = expandCells(i.tests);
    const steps = schedule(i.pairs.length, cells, i.settings);
    const progress = await openProgress(ctx, i, startedAt);
    const topology = i.pairs.map((p) => p.topology ?? defaultTopology(p));
    const pairDir = i.pairs.map((p, k) => path.join(topology[k], p.label, progress.timestamp));
    const acct = await accounting(ctx, i.pairs);
    const environmentStarted = Date.now();
    const environment = await probeEnvironment(ctx, i.pairs, acct);
    const environmentSeconds = since(environmentStarted);
    const run: Run = {
        ctx,
        i,
        cells,
        steps,
        pairDir,
        progress,
        acct,
        servers: new HostServers(ctx),
        vmmStarts: await vmmStarts(ctx, i.pairs),
        records: new Map(),
        lastTps: new Map(),
        failed: new Map(),
        stalled: new Map(),
        spent: [],
        timed: [],
    };
    try {
        await run.servers.start(i, cells);
        await runSteps(run);
    } finally {
        await run.servers.stopAll();
    }
    const info = { name: ctx.name, startedAt, finishedAt: Date.now(), resultsDir: i.resultsDir, settings: i.settings };
    const doc = resultsDocument(info, environment, { pairs: i.pairs, topology, pairDir, cells, steps: run.steps, records: run.records, failed: run.failed });
    doc.run.phases = { ...before, benchmark: doc.run.wallSeconds };
    // Measurements resumed from an earlier attempt are not in `spent`: the breakdown covers this attempt.
    const overhead = overheadReport(doc.run.wallSeconds, run.spent, run.servers.seconds, environmentSeconds);
    const { resultsPath, reportPath } = await writeOutputs(ctx, doc, progress.timestamp, overhead);
    if (run.failed.size > 0 && !i.allowFailedCells) {
        throw new Error(
            `benchmark ${ctx.name}: ${run.failed.size} cell(s) failed (${[...run.failed].map(([k, v]) => `${k}: ${v}`).join("; ")}); the other cells are in ${resultsPath}; set allowFailedCells to accept a partial run`,
        );
    }
    await closeProgress(progress);
    const parts = Object.entries(overhead.seconds)
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(", ");
    ctx.log.info(
        ctx.urn,
        `benchmark ${ctx.name} finished in ${doc.run.wallSeconds.toFixed(1)} s (${doc.run.measuredSeconds.toFixed(1)} s measured; ${parts}), its report in ${doc.run.phases.report?.toFixed(1)} s: ${resultsPath}`,
    );
    return { ...i, results: doc, summary: summarizeResults(doc), resultsPath, reportPath, wallSeconds: doc.run.wallSeconds };
}

/**
 * The schedule's steps (warm-ups, then the minimum rounds); with precision settings, then extra
 * rounds of the cells still wider than the target, until none is left or the cap.
 */
async function runSteps(run: Run): Promise<void> {
    const { i } = run;
    const first = [...run.steps];
    const p = i.settings.precision;
    const minimum = p ? ` (minimum; then up to ${p.maxRepetitions} where wider than ±${pctOf(p.relative)})` : "";
    await runRound(
        run,
        first,
        (n, s) => `[${n + 1}/${first.length}] ${stepName(run, s)}${s.warmup ? "" : `/${i.settings.repetitions}${minimum}`}`,
        i.settings.repetitions,
    );
    if (!p) return;
    const open = i.pairs.length * run.cells.length;
    for (let r = i.settings.repetitions; ; r++) {
        const round = nextRound(i.pairs.length, run.cells, r, i.settings, (pair, cell) => valuesSoFar(run, pair, cell));
        if (round.length === 0) return;
        run.steps.push(...round);
        const status = `${round.length} of ${open} cells still wider than ±${pctOf(p.relative)}, at most ${p.maxRepetitions} repetitions`;
        await runRound(run, round, (n, s) => `[${n + 1}/${round.length} of round ${r + 1}] ${stepName(run, s)} (${status})`, r + 1);
    }
}

const pctOf = (x: number) => `${Number((x * 100).toPrecision(3))}%`;

function stepName(run: Run, s: Step): string {
    return `${run.i.pairs[s.pair].label} ${s.cell.id} ${s.warmup ? "warm-up" : `repetition ${s.repetition + 1}`}`;
}

/** A pair's cell's values of its precision metric so far; undefined once it failed (or its pair stalled). */
function valuesSoFar(run: Run, pair: number, cell: Cell): number[] | undefined {
    const label = run.i.pairs[pair].label;
    if (run.failed.has(`${label}/${cell.id}`) || run.stalled.has(label)) return undefined;
    return precisionValues(cell, cellRecords({ pairs: run.i.pairs, steps: run.steps, records: run.records }, pair, cell));
}

/** Runs a round's steps; `repetitions` is what each of its cells has once the round is done. */
async function runRound(run: Run, steps: readonly Step[], status: (n: number, s: Step) => string, repetitions: number): Promise<void> {
    const { ctx, i } = run;
    for (const [n, s] of steps.entries()) {
        const p = i.pairs[s.pair];
        const cellKey = `${p.label}/${s.cell.id}`;
        if (run.failed.has(cellKey)) continue;
        if (run.stalled.has(p.label)) {
            run.failed.set(cellKey, run.stalled.get(p.label)!);
            continue;
        }
        const rawStem = path.relative(i.resultsDir, stepFile(run, s, "")).replace(/\.$/, "");
        const done = await finishedRecord(run.progress, stepFile(run, s, "meta.json"), { index: s.repetition, warmup: s.warmup, rawStem });
        if (done) {
            remember(run, s, done);
            continue;
        }
        const eta = timeLeft(run, steps, n, repetitions);
        ctx.log.status(ctx.urn, `${status(n, s)}${eta ? `; ${eta}` : ""}`);
        const t0 = Date.now();
        const outcome = await measureWithRetry(run, s);
        run.timed.push({ test: s.cell.test, nominal: nominalSeconds(s.cell, i.settings), seconds: since(t0) });
        if ("error" in outcome) {
            await cellFailed(run, s, outcome.error);
            continue;
        }
        remember(run, s, outcome.rec);
        // One line per repetition would fill the diagnostics block `up` prints at its end (hundreds of lines).
        if (!s.warmup) ctx.log.debug(ctx.urn, `${p.label} ${s.cell.id} rep ${s.repetition + 1}: ${headline(outcome.rec.metrics)}`);
    }
}

/**
 * The progress line's estimate: the round's step about to run and its later steps of cells still
 * measured; with precision settings, bounded by every cell of the round running to the cap.
 */
function timeLeft(run: Run, round: readonly Step[], n: number, repetitions: number): string {
    const { i } = run;
    const measured = (x: Step) => !run.failed.has(`${i.pairs[x.pair].label}/${x.cell.id}`) && !run.stalled.has(i.pairs[x.pair].label);
    const pendingOf = (xs: readonly Step[]) => xs.map((x) => ({ test: x.cell.test, nominal: nominalSeconds(x.cell, i.settings) }));
    const pending = pendingOf(round.slice(n).filter((x, k) => k === 0 || measured(x)));
    const p = i.settings.precision;
    if (!p) return etaText(run.timed, pending);
    const open = pendingOf(round.filter((x) => !x.warmup && x.repetition === repetitions - 1 && measured(x)));
    const rounds = Math.max(0, p.maxRepetitions - repetitions);
    return etaText(run.timed, pending, { steps: Array.from({ length: rounds }, () => open).flat(), repetitions: p.maxRepetitions });
}

/** A step's file beside its raw output: `<resultsDir>/<pairDir>/<cell>/<rep>.<ext>`. */
function stepFile(run: Run, s: Step, ext: string): string {
    return path.join(run.i.resultsDir, run.pairDir[s.pair], s.cell.id, `${path.basename(stepKey(s, run.i.pairs[s.pair].label))}.${ext}`);
}

function remember(run: Run, s: Step, rec: RepRecord): void {
    const label = run.i.pairs[s.pair].label;
    run.records.set(stepKey(s, label), rec);
    if (rec.metrics.tps) run.lastTps.set(`${label}/${s.cell.id}`, rec.metrics.tps);
}

/** One retry: a single lost control connection should not cost a cell. A dead VMM fails the run at once. */
async function measureWithRetry(run: Run, s: Step): Promise<{ rec: RepRecord } | { error: Error }> {
    const p = run.i.pairs[s.pair];
    let lastErr: Error | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
        try {
            return { rec: await measureStep(run, s, p) };
        } catch (err) {
            lastErr = err as Error;
            const dead = await deadGuests(run.ctx, p, run.vmmStarts);
            if (dead.length > 0) {
                throw new Error(
                    `benchmark ${run.ctx.name}: ${dead.join(", ")} during cell ${s.cell.id} of pair ${p.label}; finished cells are kept under ${run.i.resultsDir}: ${lastErr.message}`,
                );
            }
        }
    }
    return { error: lastErr! };
}

/**
 * Measures one step between two CPU samples taken right next to the tool's command (the VM exit
 * counters are read outside them, so reading them is not counted as the work's CPU); writes its
 * raw output, then its record.
 */
async function measureStep(run: Run, s: Step, p: Pair): Promise<RepRecord> {
    const { ctx, i, acct } = run;
    const s0 = Date.now();
    const exits0 = await sampleExits(ctx, acct.guestStats, guestsOf(p));
    const before = await sampleCpu(ctx, acct.machines);
    const t0 = Date.now();
    const m = await measure(
        s.cell,
        served(p.server),
        run.servers.portsFor(p),
        i.settings,
        (argv, secs) => runAt(ctx, p.client, argv, secs),
        run.lastTps.get(`${p.label}/${s.cell.id}`),
    );
    const s1 = Date.now();
    const after = await sampleCpu(ctx, acct.machines);
    const seconds = (s1 - t0) / 1000;
    const exits = exitsPerSecond(acct.guestStats, guestsOf(p), exits0, await sampleExits(ctx, acct.guestStats, guestsOf(p)), seconds);
    const sampling = (t0 - s0) / 1000 + since(s1);
    const w0 = Date.now();
    const rawFile = stepFile(run, s, m.ext);
    await writeFileSafe(i.resultsDir, rawFile, m.raw);
    const rec: RepRecord = {
        index: s.repetition,
        warmup: s.warmup,
        metrics: m.metrics,
        cpu: withExits(cpuDelta(before, after, acct.vmPids, acct.guestStats), exits),
        raw: path.join(run.pairDir[s.pair], s.cell.id, path.basename(rawFile)),
        seconds,
        nominal: nominalSeconds(s.cell, i.settings),
        sweep: m.sweep,
        volume: m.volume,
        rttMs: m.rttMs,
    };
    await writeFileSafe(i.resultsDir, stepFile(run, s, "meta.json"), JSON.stringify(rec, null, 1));
    run.spent.push({ test: s.cell.test, warmup: s.warmup, seconds, nominal: rec.nominal, cpuSampling: sampling, fileWrites: since(w0) });
    return rec;
}

/** A cell that failed twice is given up; a guest that no longer answers stalls the rest of its pair. */
async function cellFailed(run: Run, s: Step, err: Error): Promise<void> {
    const { ctx } = run;
    const p = run.i.pairs[s.pair];
    run.failed.set(`${p.label}/${s.cell.id}`, err.message);
    ctx.log.warn(ctx.urn, `cell ${s.cell.id} of pair ${p.label} failed: ${err.message}`);
    const silent = await silentGuests(ctx, p);
    if (silent.length > 0) {
        const why = `${silent.join(", ")} after cell ${s.cell.id} (its VMM is alive: the guest's network stalled); replace the guest to measure this pair`;
        run.stalled.set(p.label, why);
        ctx.log.warn(ctx.urn, `pair ${p.label} skipped from here: ${why}`);
    }
}

function headline(m: Record<string, number>): string {
    return Object.entries(m)
        .slice(0, 3)
        .map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`)
        .join(" ");
}
