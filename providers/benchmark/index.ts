// BenchmarkRun: runs the test matrix over client/server pairs, interleaved, with CPU accounting;
// writes each measurement's raw output as soon as it exists, resumes an interrupted run, and
// exports the typed results document.
import { sha256Hex } from "../../core/hash";
import { BenchmarkRunArgsSchema, type BenchmarkRunInputs, type BenchmarkRunOutputs, BenchmarkRunOutputsSchema } from "../../schema/benchmark";
import { type UpdatingHandler, diffTable } from "../runtime/resource";
import { runBenchmark } from "./run";

// Runs in one provider process never overlap: two runs at once would measure each other.
let queue: Promise<unknown> = Promise.resolve();
function exclusive<T>(f: () => Promise<T>): Promise<T> {
    const next = queue.then(f, f);
    queue = next.catch(() => undefined);
    return next;
}

export const benchmarkHandler: UpdatingHandler<BenchmarkRunInputs, BenchmarkRunOutputs> = {
    // A changed run is a new measurement, but the old results stay on disk: update in place.
    ...diffTable(BenchmarkRunArgsSchema, { replaceOn: [] }),
    outputs: BenchmarkRunOutputsSchema,
    async create(ctx, i) {
        const outs = await exclusive(() => runBenchmark(ctx, i));
        return { id: `${ctx.name}-${sha256Hex(String(Date.now())).slice(0, 8)}`, outs };
    },
    async read(_ctx, _id, state) {
        // The results are history: nothing on a host to observe. The raw data stays on disk.
        return state;
    },
    async update(ctx, _id, _olds, news) {
        return exclusive(() => runBenchmark(ctx, news));
    },
    async delete() {
        // Measured results are never deleted: the raw data and documents stay under resultsDir.
    },
};
