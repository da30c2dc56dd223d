// Resuming an interrupted run: a progress file names the inputs' hash and the run's timestamp, so a
// rerun of the same inputs writes into the same directories and skips the repetitions it finds.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { type RepRecord, RepRecordSchema } from "../../core/bench/aggregate";
import { sha256Hex } from "../../core/hash";
import { urnTag } from "../../core/names";
import type { BenchmarkRunInputs } from "../../schema/benchmark";
import { readJson, writeFileSafe } from "./files";

export interface Progress {
    file: string;
    /** The inputs are those of the interrupted run the progress file describes. */
    resumed: boolean;
    /** Names this run's directories and documents (the interrupted run's when resumed). */
    timestamp: string;
}

/** How a run's timestamp is written: it names the run's directories, so it is read back in this form only. */
export function runTimestamp(ms: number): string {
    return new Date(ms).toISOString().replace(/[:.]/g, "-");
}

/** A progress file as read back: anything else (a path in the timestamp, a planted file) starts afresh. */
export const ProgressSchema = z
    .object({
        hash: z.string().regex(/^[0-9a-f]{64}$/),
        timestamp: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/),
    })
    .passthrough();

/**
 * A run's progress file, named by its URN too: a run of the same name in another stack writing to
 * the same results folder (the program's ./results by default) never resumes this one's.
 */
export function progressFile(resultsDir: string, run: { name: string; urn: string }): string {
    return path.join(resultsDir, "runs", `${run.name}-${urnTag(run.urn)}.progress.json`);
}

export async function openProgress(run: { name: string; urn: string }, i: BenchmarkRunInputs, startedAt: number): Promise<Progress> {
    const hash = sha256Hex(JSON.stringify({ pairs: i.pairs, tests: i.tests, settings: i.settings, triggers: i.triggers }));
    const file = progressFile(i.resultsDir, run);
    const prior = ProgressSchema.safeParse(await readJson(file));
    const resumed = prior.success && prior.data.hash === hash;
    const timestamp = resumed ? prior.data.timestamp : runTimestamp(startedAt);
    if (!resumed) await writeFileSafe(i.resultsDir, file, JSON.stringify({ hash, timestamp }, null, 2));
    return { file, resumed, timestamp };
}

/**
 * A repetition the interrupted run finished, from its record beside the raw output: only a record of
 * this repetition (index, warm-up) whose raw output is `<rawStem>.<ext>` beside it; anything else is
 * measured again.
 */
export async function finishedRecord(p: Progress, metaFile: string, step: { index: number; warmup: boolean; rawStem: string }): Promise<RepRecord | undefined> {
    if (!p.resumed) return undefined;
    const r = RepRecordSchema.safeParse(await readJson(metaFile));
    if (!r.success) return undefined;
    const ext = r.data.raw.startsWith(`${step.rawStem}.`) ? r.data.raw.slice(step.rawStem.length + 1) : "";
    const mine = r.data.index === step.index && r.data.warmup === step.warmup && /^[a-z0-9]+$/.test(ext);
    return mine ? r.data : undefined;
}

/** A run that completed leaves no progress: the next run of the same inputs measures afresh. */
export async function closeProgress(p: Progress): Promise<void> {
    await fs.rm(p.file, { force: true });
}
