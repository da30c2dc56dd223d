// Synthetic results documents whose answer is known, for the A/B comparison and its CLI.
import { type CellResult, RESULTS_VERSION, type ResultsDoc } from "../../core/bench/results";
import { summarize } from "../../core/bench/stats";

/** Seeded normal samples (mulberry32 + Box-Muller), so every synthetic data set is fixed. */
export function normals(seed: number): () => number {
    let a = seed >>> 0;
    const u = () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
    };
    return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

export interface CellSpec {
    pair?: string;
    cell: string;
    test?: string;
    status?: "ok" | "failed";
    kernel?: string;
    /** Per metric, the per-repetition values. */
    metrics: Record<string, number[]>;
    /** Repetition indices (default 0..n-1). */
    indices?: number[];
}

export function cell(s: CellSpec): CellResult {
    const n = Math.max(0, ...Object.values(s.metrics).map((v) => v.length));
    const idx = s.indices ?? [...Array(n).keys()];
    return {
        pair: s.pair ?? "virtio",
        cell: s.cell,
        dimensions: {
            topology: "guest-guest",
            backend: "virtio",
            client: "vm-a",
            server: "vm-b",
            kernel: s.kernel ?? "bzImage",
            pinning: "default",
            security: "qemu",
            test: s.test ?? "tcp",
        },
        status: s.status ?? "ok",
        ...(s.status === "failed" ? { error: "iperf3: connection refused" } : {}),
        metrics: Object.fromEntries(
            Object.entries(s.metrics)
                .filter(([, v]) => v.length > 0)
                .map(([k, v]) => [k, summarize(v)]),
        ),
        repetitions: idx.map((index, i) => ({
            index,
            metrics: Object.fromEntries(Object.entries(s.metrics).map(([k, v]) => [k, v[i]])),
            raw: `x/rep-${index + 1}.json`,
            seconds: 2,
        })),
        rawDir: `guest-guest/${s.pair ?? "virtio"}/t/${s.cell}`,
    };
}

export function doc(name: string, started: string, cells: CellSpec[], repetitions = 5): ResultsDoc {
    return {
        version: RESULTS_VERSION,
        run: {
            name,
            started,
            finished: started,
            wallSeconds: 60,
            measuredSeconds: 50,
            resultsDir: "/tmp/results",
            settings: { duration: 2, repetitions, warmup: 1 },
            order: "interleaved",
        },
        environment: { machines: { local: { cpu: "Xeon", cores: 2, memoryMiB: 4096, kernel: "6.1.0", tools: {} } }, guests: {} },
        cells: cells.map(cell),
        warnings: [],
    };
}

/** n values around `mean` with coefficient of variation `cv`. */
export function sample(rnd: () => number, n: number, mean: number, cv: number): number[] {
    return Array.from({ length: n }, () => mean * (1 + cv * rnd()));
}
