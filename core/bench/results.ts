// The results document a BenchmarkRun exports: typed and versioned, so reports and other stacks
// can read it (`pulumi stack output results --json`). Pure.
import { z } from "zod";
import { STOP_REASONS } from "./precision";
import { medianInterval } from "./stats";

export const RESULTS_VERSION = 3;

export const StatsSchema = z.object({
    n: z.number().int(),
    median: z.number(),
    mean: z.number(),
    stddev: z.number(),
    /** Coefficient of variation: stddev / mean. */
    cv: z.number(),
    min: z.number(),
    max: z.number(),
    /**
     * Distribution-free interval of the median (order statistics) at the confidence `level` it
     * achieves for n (95% or more where n allows; 87.5% at n = 4, 93.75% at n = 5); null where n
     * is too small for any (n <= 3).
     */
    ci: z.object({ low: z.number(), high: z.number(), level: z.number() }).nullable(),
});
export type Stats = z.infer<typeof StatsSchema>;

/** CPU cost of one measurement, in CPU-seconds (the KVM criteria insist on seconds, not %). */
export const CpuSchema = z.object({
    /** Per machine (hosts sharing one kernel count once): /proc/stat deltas. */
    machines: z.record(
        z.object({ user: z.number(), system: z.number(), softirq: z.number(), irq: z.number(), guest: z.number(), busy: z.number(), idle: z.number() }),
    ),
    /** The VMM process of each guest endpoint (all its threads). */
    vmm: z.record(z.number()),
    /** vhost worker threads; absent where the guest has none (null means not measurable). */
    vhost: z.record(z.number().nullable()),
    /** VM exits per second where the host exposes KVM statistics; null when it does not (not zero). */
    vmExitsPerSecond: z.number().nullable(),
    /** Why a null above is null, keyed "vmExitsPerSecond" or "vhost:<guest>". */
    unmeasured: z.record(z.string()).optional(),
});
export type Cpu = z.infer<typeof CpuSchema>;

const RepetitionSchema = z.object({
    index: z.number().int(),
    metrics: z.record(z.number()),
    cpu: CpuSchema.optional(),
    /** The raw tool output, relative to resultsDir. */
    raw: z.string(),
    seconds: z.number(),
    /**
     * The work the tool counted over the window its CPU was sampled over (the whole command): KB
     * received, datagrams delivered, transactions or echoes completed. Absent before version 3.
     */
    volume: z.object({ kb: z.number().optional(), packets: z.number().optional(), transactions: z.number().optional() }).optional(),
});

/**
 * A percentile of every sample of every repetition pooled (ICMP: every echo's round trip), with
 * the sample count and the order-statistic interval at the level it achieves, widened where the
 * repetitions differ (an end beyond the samples is null). `needed`: samples below which the value is not that percentile but an
 * extreme of the sample (a P99 of 40 echoes lies between the 2nd largest and the largest), so
 * `sufficient` is false and the report says what it is instead.
 */
const PooledSchema = z.object({
    q: z.number(),
    value: z.number(),
    n: z.number().int(),
    needed: z.number().int(),
    sufficient: z.boolean(),
    ci: z.object({ low: z.number().nullable(), high: z.number().nullable(), level: z.number() }),
    /** How much wider the interval is for repetitions that differ (1: they agree; stats.pooledQuantileInterval). */
    designEffect: z.number(),
});
export type Pooled = z.infer<typeof PooledSchema>;

export const CellResultSchema = z.object({
    pair: z.string(),
    cell: z.string(),
    dimensions: z.object({
        topology: z.string(),
        backend: z.string(),
        client: z.string(),
        server: z.string(),
        vmm: z.string().optional(),
        accel: z.string().optional(),
        kernel: z.string().optional(),
        vcpus: z.number().optional(),
        memoryMiB: z.number().optional(),
        pinning: z.string(),
        security: z.string(),
        /** A guest's notification model: "event-driven" or its busy polling (absent for bare metal and in older documents). */
        notification: z.string().optional(),
        test: z.string(),
        size: z.number().optional(),
        streams: z.number().optional(),
        reverse: z.boolean().optional(),
        /** Both directions at once (tcp --bidir). */
        bidir: z.boolean().optional(),
        /** Flood ping: echo requests per second asked for. */
        rate: z.number().optional(),
        protocol: z.string().optional(),
        load: z.array(z.number()).optional(),
    }),
    status: z.enum(["ok", "failed"]),
    error: z.string().optional(),
    /** Statistics over the repetitions, per metric (units in the metric name: gbps, us, ms, pps, tps, pct). */
    metrics: z.record(StatsSchema),
    /**
     * Per-repetition metrics that are percentiles of the cell's pooled samples instead (ICMP
     * p50ms/p95ms/p99ms), keyed by the same metric name; `metrics` keeps the per-repetition ones,
     * the unit of the A/B tests. Absent before version 3.
     */
    pooled: z.record(PooledSchema).optional(),
    /**
     * Service demand: busy host CPU microseconds per KB received, per datagram delivered (packet
     * rate cells) or per transaction, CPU and work counted over the same window (median over
     * repetitions).
     */
    serviceDemand: z.object({ unit: z.enum(["us/KB", "us/packet", "us/tr"]), value: z.number() }).optional(),
    /** Host CPU-seconds per measurement (median over repetitions, all machines). */
    cpuSeconds: z
        .object({ user: z.number(), system: z.number(), softirq: z.number(), guest: z.number(), busy: z.number(), vmm: z.number().nullable() })
        .optional(),
    /** Latency under load: per offered rate, the P50/P99 medians, and the knee. */
    sweep: z.array(z.object({ mps: z.number(), p50us: z.number(), p99us: z.number() })).optional(),
    knee: z.number().nullable().optional(),
    repetitions: z.array(RepetitionSchema),
    /**
     * Why the cell has the repetitions it has (core/bench/precision.ts), and the precision of its
     * headline `metric`: the interval of the median as +-`relative` (max(high - median, median - low)
     * / |median|) at the coverage `level` its n achieves. Absent in documents written before it.
     */
    stop: z
        .object({
            reason: z.enum(STOP_REASONS),
            metric: z.string(),
            relative: z.number().nullable(),
            level: z.number().nullable(),
        })
        .optional(),
    /** Directory holding this cell's raw data, relative to resultsDir. */
    rawDir: z.string(),
});
export type CellResult = z.infer<typeof CellResultSchema>;

const ResultsDocV3 = z.object({
    version: z.literal(RESULTS_VERSION),
    run: z.object({
        name: z.string(),
        started: z.string(),
        finished: z.string(),
        wallSeconds: z.number(),
        /** Sum of the measurement durations (without warm-up), for the overhead ratio. */
        measuredSeconds: z.number(),
        resultsDir: z.string(),
        settings: z.object({
            duration: z.number(),
            repetitions: z.number(),
            warmup: z.number(),
            /** Present where repetitions were precision-driven: `repetitions` was then the minimum. */
            precision: z.object({ relative: z.number(), confidence: z.number(), maxRepetitions: z.number() }).optional(),
        }),
        order: z.literal("interleaved"),
        /**
         * Seconds each phase of the `up` that ran this benchmark took (core/phases.ts: probe,
         * fabric, kernel, image, boot, benchmark, report), as far as that up ran them. Absent in
         * documents written before it.
         */
        phases: z.record(z.number()).optional(),
    }),
    environment: z.object({
        machines: z.record(
            z.object({
                cpu: z.string(),
                cores: z.number(),
                memoryMiB: z.number(),
                kernel: z.string(),
                tools: z.record(z.string()),
                /** Another machine of this run on the same kernel (a simulated machine, a container): CPU is accounted there. */
                sharesKernelWith: z.string().optional(),
            }),
        ),
        guests: z.record(z.object({ vmm: z.string(), accel: z.string(), kernel: z.string(), vcpus: z.number(), memoryMiB: z.number(), backend: z.string() })),
    }),
    cells: z.array(CellResultSchema),
    warnings: z.array(z.string()),
});

/**
 * Version 2 has no pooled percentiles and no counted work per repetition: it reads as version 3
 * without them (the report labels its ICMP percentiles as medians of per-repetition ones, and the
 * A/B tests derive no CPU cost per unit of work from it).
 */
function upgradeV2(v: unknown): unknown {
    const d = v as { version?: unknown };
    return d?.version === 2 ? { ...d, version: RESULTS_VERSION } : v;
}

/**
 * Version 1 stored a bootstrap "ci95" that was [min, max] at n <= 5 and claimed 95%: it is
 * replaced by the order-statistic interval of the cell's own repetitions, or null where they do
 * not hold the metric's n values.
 */
function upgradeV1(v: unknown): unknown {
    const d = v as { version?: unknown; cells?: unknown };
    if (d?.version !== 1 || !Array.isArray(d.cells)) return v;
    const cells = d.cells.map((c: any) => {
        const metrics: Record<string, unknown> = {};
        for (const [m, st] of Object.entries<any>(c?.metrics ?? {})) {
            const { ci95: _old, ...rest } = st ?? {};
            const values = (c.repetitions ?? [])
                .map((r: any) => r?.metrics?.[m])
                .filter((x: unknown): x is number => typeof x === "number" && Number.isFinite(x));
            metrics[m] = { ...rest, ci: values.length === rest.n ? medianInterval(values) : null };
        }
        return { ...c, metrics };
    });
    return { ...d, version: 2, cells };
}

/** A results document; version 1 and 2 documents are read and upgraded to the current version. */
export const ResultsDocSchema = z.preprocess((v) => upgradeV2(upgradeV1(v)), ResultsDocV3);
export type ResultsDoc = z.infer<typeof ResultsDocV3>;

/**
 * A guest kernel as the report names it: its release ("6.1.0-netbed") as the VM reports it, or,
 * where only a file is known, the file's name with its directory when the name says nothing alone
 * (".../<hash>/bzImage" -> "<hash>/bzImage").
 */
export function kernelLabel(kernel: string): string {
    if (!kernel.includes("/")) return kernel;
    const parts = kernel.split("/").filter(Boolean);
    const base = parts[parts.length - 1] ?? kernel;
    return /^(bzImage|vmlinux|vmlinuz|Image)$/.test(base) && parts.length > 1 ? `${parts[parts.length - 2]}/${base}` : base;
}

/** Headline numbers per pair (the Volt template's summary row); missing cells are absent. */
export type Summary = Record<string, Record<string, number>>;

/** The Volt headline metrics: which cell and metric each summary column comes from. */
const HEADLINES: [string, (c: CellResult) => boolean, string][] = [
    ["tcpGbps", (c) => c.cell === "tcp-1", "gbps"],
    ["tcpParallelGbps", (c) => c.dimensions.test === "tcp" && (c.dimensions.streams ?? 1) > 1 && !c.dimensions.reverse && !c.dimensions.bidir, "gbps"],
    ["tcpReverseGbps", (c) => c.dimensions.test === "tcp" && c.dimensions.reverse === true, "gbps"],
    ["udpGbps", (c) => c.dimensions.test === "udp", "gbps"],
    ["icmpP50ms", (c) => c.dimensions.test === "icmp", "p50ms"],
    ["icmpP99ms", (c) => c.dimensions.test === "icmp", "p99ms"],
    ["tcpLatencyP50us", (c) => c.dimensions.test === "latency" && c.dimensions.protocol === "tcp", "p50us"],
    ["tcpLatencyP99us", (c) => c.dimensions.test === "latency" && c.dimensions.protocol === "tcp", "p99us"],
    ["pps64", (c) => c.cell === "pps-64", "pps"],
    ["tcpRrTps", (c) => c.cell.startsWith("tcp_rr-"), "tps"],
    ["tcpCrrTps", (c) => c.cell.startsWith("tcp_crr-"), "tps"],
    ["udpRrTps", (c) => c.cell.startsWith("udp_rr-"), "tps"],
];

/** A cell's headline value: the pooled percentile where the cell has one (none where too few samples), else the median over repetitions. */
function headline(c: CellResult, metric: string): number | undefined {
    const p = c.pooled?.[metric];
    if (p) return p.sufficient ? p.value : undefined;
    return c.metrics[metric]?.median;
}

export function summarizeResults(doc: Pick<ResultsDoc, "cells">): Summary {
    const out: Summary = {};
    for (const c of doc.cells) {
        if (c.status !== "ok") continue;
        const row = (out[c.pair] ??= {});
        for (const [key, match, metric] of HEADLINES) {
            const v = headline(c, metric);
            if (row[key] === undefined && match(c) && v !== undefined) row[key] = v;
        }
    }
    return out;
}

/** A run document's file name in resultsDir/runs: <run>-<ISO timestamp with '-' for ':' and '.'>.json (not its .overhead.json or .progress.json). */
export function isRunDocName(file: string): boolean {
    return /-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z\.json$/.test(file);
}
