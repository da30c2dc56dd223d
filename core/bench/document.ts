// A BenchmarkRun's results document from its repetition records: every cell of every pair, and the
// warnings a reader must see next to the numbers. Pure.
import * as path from "node:path";
import { aggregate, type PairEnds, type RepRecord } from "./aggregate";
import { precisionValues, stopOf } from "./precision";
import { type CellResult, RESULTS_VERSION, type ResultsDoc } from "./results";
import type { Cell, RunSettings, Step } from "./spec";

/** Where a step's records live, relative to its pair's directory: `<pair>/<cell>/rep-N` or `warmup-N`. */
export function stepKey(s: Step, pairLabel: string): string {
    return `${pairLabel}/${s.cell.id}/${s.warmup ? `warmup-${-s.repetition}` : `rep-${s.repetition + 1}`}`;
}

export interface RunRecords {
    pairs: readonly PairEnds[];
    /** Per pair: its topology and the directory of its raw data, relative to resultsDir. */
    topology: readonly string[];
    pairDir: readonly string[];
    cells: readonly Cell[];
    steps: readonly Step[];
    records: ReadonlyMap<string, RepRecord>;
    /** Why a cell failed, keyed `<pair>/<cell>`. */
    failed: ReadonlyMap<string, string>;
}

/** The measured (not warm-up) repetitions of one pair's cell, in order. */
export function cellRecords(r: Pick<RunRecords, "pairs" | "steps" | "records">, pair: number, cell: Cell): RepRecord[] {
    const label = r.pairs[pair].label;
    return r.steps
        .filter((s) => s.pair === pair && s.cell.id === cell.id && !s.warmup)
        .map((s) => r.records.get(stepKey(s, label)))
        .filter((x): x is RepRecord => x !== undefined);
}

/** Every cell's result with why it stopped, and the nominal seconds of the repetitions measured. */
function cellResults(r: RunRecords, settings: RunSettings): { cells: CellResult[]; measuredSeconds: number } {
    const cells: CellResult[] = [];
    let measuredSeconds = 0;
    for (const [k, p] of r.pairs.entries()) {
        for (const cell of r.cells) {
            const reps = cellRecords(r, k, cell);
            measuredSeconds += reps.reduce((a, x) => a + x.nominal, 0);
            const result = aggregate(p, r.topology[k], cell, reps, path.join(r.pairDir[k], cell.id), r.failed.get(`${p.label}/${cell.id}`));
            cells.push({ ...result, stop: stopOf(cell, precisionValues(cell, reps), result.status !== "ok", settings) });
        }
    }
    return { cells, measuredSeconds };
}

/** A cell's own warnings: a metric that varies a lot, a packet loss worth noticing. */
function cellWarnings(r: CellResult, test: string): string[] {
    const warnings: string[] = [];
    for (const [metric, st] of Object.entries(r.metrics)) {
        if (st.n >= 3 && st.cv > 0.1 && !metric.startsWith("loss") && !metric.startsWith("retransmits"))
            warnings.push(`${r.pair} ${r.cell}: ${metric} varies a lot (CV ${(st.cv * 100).toFixed(1)}%): add repetitions or quiet the machine`);
    }
    const loss = r.metrics.lossPct?.median;
    if (loss !== undefined && loss > 1 && test !== "pps") warnings.push(`${r.pair} ${r.cell}: ${loss.toFixed(1)}% packet loss`);
    return warnings;
}

/** Warnings about the whole run: emulated guests, machines that share a kernel, cells that failed. */
function runWarnings(environment: ResultsDoc["environment"], failed: ReadonlyMap<string, string>): string[] {
    const warnings: string[] = [];
    for (const [name, g] of Object.entries(environment.guests)) {
        if (g.accel === "tcg") warnings.push(`guest ${name} runs under TCG (software emulation): its numbers are not comparable with KVM numbers`);
    }
    for (const [key, m] of Object.entries(environment.machines)) {
        if (m.sharesKernelWith)
            warnings.push(
                `machines ${m.sharesKernelWith} and ${key} share one kernel (the same boot id): their CPU time is counted once, under ${m.sharesKernelWith}`,
            );
    }
    for (const [cellKey, why] of failed) warnings.push(`cell ${cellKey} failed: ${why}`);
    return warnings;
}

export interface RunInfo {
    name: string;
    startedAt: number;
    finishedAt: number;
    resultsDir: string;
    settings: RunSettings;
}

export function resultsDocument(run: RunInfo, environment: ResultsDoc["environment"], r: RunRecords): ResultsDoc {
    const { cells, measuredSeconds } = cellResults(r, run.settings);
    const testOf = new Map(r.cells.map((c) => [c.id, c.test]));
    const warnings = [...cells.flatMap((c) => cellWarnings(c, testOf.get(c.cell)!)), ...runWarnings(environment, r.failed)];
    return {
        version: RESULTS_VERSION,
        run: {
            name: run.name,
            started: new Date(run.startedAt).toISOString(),
            finished: new Date(run.finishedAt).toISOString(),
            wallSeconds: (run.finishedAt - run.startedAt) / 1000,
            measuredSeconds,
            resultsDir: run.resultsDir,
            settings: run.settings,
            order: "interleaved",
        },
        environment,
        cells,
        warnings,
    };
}
