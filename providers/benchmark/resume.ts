// Resuming an interrupted run: a progress file names the inputs' hash and the run's timestamp, so a
// rerun of the same inputs writes into the same directories and skips the repetitions it finds.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { RepRecord } from "../../core/bench/aggregate";
import { sha256Hex } from "../../core/hash";
import type { BenchmarkRunInputs } from "../../schema/benchmark";
import { readJson, writeFileSafe } from "./files";

export interface Progress {
    file: string;
    /** The inputs are those of the interrupted run the progress file describes. */
    resumed: boolean;
    /** Names this run's directories and documents (the interrupted run's when resumed). */
    timestamp: string;
}

export async function openProgress(name: string, i: BenchmarkRunInputs, startedAt: number): Promise<Progress> {
    const hash = sha256Hex(JSON.stringify({ pairs: i.pairs, tests: i.tests, settings: i.settings, triggers: i.triggers }));
    const file = path.join(i.resultsDir, "runs", `${name}.progress.json`);
    const prior = await readJson<{ hash: string; timestamp: string }>(file);
    const resumed = prior?.hash === hash;
    const timestamp = resumed ? prior!.timestamp : new Date(startedAt).toISOString().replace(/[:.]/g, "-");
    if (!resumed) await writeFileSafe(file, JSON.stringify({ hash, timestamp }, null, 2));
    return { file, resumed, timestamp };
}

/** A repetition the interrupted run finished, from its record beside the raw output. */
export async function finishedRecord(p: Progress, metaFile: string): Promise<RepRecord | undefined> {
    return p.resumed ? readJson<RepRecord>(metaFile) : undefined;
}

/** A run that completed leaves no progress: the next run of the same inputs measures afresh. */
export async function closeProgress(p: Progress): Promise<void> {
    await fs.rm(p.file, { force: true });
}
