// What a BenchmarkRun measures, as data: the test specs (one zod schema for the SDK and check()),
// their expansion into cells, and the interleaved run order. Pure.
import { z } from "zod";
import { decisionLevel, repetitionsForLevel } from "./precision";
import { orderStatisticCoverage } from "./stats";

// Whole seconds: iperf3 3.12 reads `-t 0.5` as 0, "no limit", and runs until its time limit kills the cell.
const Seconds = z.number().int("must be whole seconds (iperf3 reads -t 0.5 as no limit)").min(1, "must be at least 1 s").max(3600, "must be at most 3600 s");

/** iperf3 TCP: one stream, N parallel streams (8 in the seeds), reverse (server sends), or both directions at once (bidir). */
const TcpTest = z
    .object({
        kind: z.literal("tcp"),
        streams: z.number().int().min(1).max(128).default(1),
        reverse: z.boolean().default(false),
        /** Both directions at once (iperf3 --bidir, the KVM criteria's bidirectional test): gbps is their sum. */
        bidir: z.boolean().optional(),
    })
    .strict();
/** A range of message sizes, one cell per size (the KVM criteria: "a range of message sizes", not one). */
const sizesOf = (min: number, max: number, why: string) =>
    z
        .array(z.number().int().min(min, why).max(max))
        .min(1)
        .refine((a) => new Set(a).size === a.length, "give each size once")
        .optional();
/** iperf3 UDP at maximum rate ("max") or a target rate in Mbit/s, with a datagram size. */
const UdpTest = z
    .object({
        kind: z.literal("udp"),
        rateMbps: z.union([z.literal("max"), z.number().positive().max(400_000)]).default("max"),
        size: z.number().int().min(16, "must be at least 16 bytes (iperf3's UDP header)").max(65507).default(1400),
        /** Datagram sizes, one cell each (replaces size). */
        sizes: sizesOf(16, 65507, "must be at least 16 bytes (iperf3's UDP header)"),
    })
    .strict();
/** Packets per second: iperf3 UDP at maximum rate, one cell per datagram size, with the loss at that rate. */
const PpsTest = z
    .object({
        kind: z.literal("pps"),
        sizes: z.array(z.number().int().min(16, "must be at least 16 bytes (iperf3's UDP header)").max(65507)).min(1).default([64, 128, 256, 512]),
    })
    .strict();
/** ICMP echo: per-packet RTTs kept; percentiles computed by netbed. */
const IcmpTest = z
    .object({
        kind: z.literal("icmp"),
        count: z.number().int().min(1).max(100_000).default(100),
        /** Seconds between echoes; below 0.2 s ping needs root (the provider is root on its hosts). */
        interval: z.number().min(0.001).max(60).default(0.01),
        size: z.number().int().min(0).max(65507).default(56),
    })
    .strict();
/** Request-response latency: sockperf ping-pong over TCP or UDP. */
const LatencyTest = z
    .object({
        kind: z.literal("latency"),
        protocol: z.enum(["tcp", "udp"]).default("tcp"),
        size: z.number().int().min(14, "must be at least 14 bytes (sockperf's header)").max(65000).default(64),
        /** Message sizes, one cell each (replaces size). */
        sizes: sizesOf(14, 65000, "must be at least 14 bytes (sockperf's header)"),
    })
    .strict();
/** Transaction rates: netperf TCP_RR, TCP_CRR, UDP_RR with service demand. */
const RrTest = z
    .object({
        kind: z.literal("rr"),
        test: z.enum(["TCP_RR", "TCP_CRR", "UDP_RR"]),
        size: z.number().int().min(1).max(65000).default(1),
        /** Request (and response) sizes, one cell each (replaces size). */
        sizes: sizesOf(1, 65000, "must be at least 1 byte"),
    })
    .strict();
/**
 * Flood ping as a load generator (the KVM criteria's "simplest" tool): `count` echoes of `size`
 * bytes at `rate` per second (ping -f -i 1/rate), with the loss and the round trips it got back.
 */
const FloodTest = z
    .object({
        kind: z.literal("flood"),
        size: z.number().int().min(0).max(65507).default(56),
        /** Echo requests per second (the flood's pace; root may go below ping's 2 ms user minimum). */
        rate: z.number().int().min(1).max(100_000).default(1000),
        count: z.number().int().min(1).max(1_000_000).default(1000),
    })
    .strict();
/** Latency under load: sockperf under-load at increasing message rates; the knee is where P99 passes factor x its unloaded value. */
const LoadTest = z
    .object({
        kind: z.literal("load"),
        protocol: z.enum(["tcp", "udp"]).default("udp"),
        mps: z
            .array(z.number().int().min(1).max(10_000_000))
            .min(2, "give at least two message rates to sweep")
            .refine((a) => a.every((v, i) => i === 0 || v > a[i - 1]), "must increase"),
        factor: z.number().gt(1).max(1000).default(2),
        size: z.number().int().min(14).max(65000).default(64),
    })
    .strict();

export const TEST_KINDS = ["tcp", "udp", "pps", "icmp", "latency", "rr", "load", "flood"] as const;

export const TestSpecSchema = z.discriminatedUnion("kind", [TcpTest, UdpTest, PpsTest, IcmpTest, LatencyTest, RrTest, LoadTest, FloodTest], {
    errorMap: (issue, ctx) =>
        issue.code === z.ZodIssueCode.invalid_union_discriminator ? { message: `kind must be one of ${TEST_KINDS.join(", ")}` } : { message: ctx.defaultError },
});
export type TestSpec = z.output<typeof TestSpecSchema>;

/**
 * Precision-driven repetitions (core/bench/precision.ts): after `repetitions`, more interleaved
 * rounds for the cells whose interval of the median is wider than +-`relative` at `confidence`.
 */
export const PrecisionSchema = z
    .object({
        /** The target half-width of the interval of the median, relative to the median (0.05: +-5%). */
        relative: z.number().gt(0, "must be above 0 (0.05 is +-5%)").max(1, "must be at most 1 (+-100%)").default(0.05),
        /** The coverage a stopped cell's interval keeps: the rule judges the width at 1 - (1 - confidence) / 2 (precision.ts). */
        confidence: z.number().min(0.8, "must be at least 0.8").max(0.999, "must be at most 0.999").default(0.95),
        /** The cap: no cell is measured more often. */
        maxRepetitions: z.number().int().min(1).max(1000).default(15),
    })
    .strict();
export type Precision = z.output<typeof PrecisionSchema>;

export const RunSettingsSchema = z
    .object({
        /** Seconds per measurement (iperf3 -t, sockperf -t, netperf -l). */
        duration: Seconds.default(10),
        /** Measured repetitions per cell; with `precision`, the minimum. */
        repetitions: z.number().int().min(1).max(1000).default(5),
        /** Omitted warm-up repetitions per cell, run first. */
        warmup: z.number().int().min(0).max(100).default(1),
        /** Absent: every cell runs `repetitions` (fixed). */
        precision: PrecisionSchema.optional(),
    })
    .strict()
    .superRefine((s, ctx) => {
        const p = s.precision;
        if (!p) return;
        if (p.maxRepetitions < s.repetitions)
            ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["precision", "maxRepetitions"],
                message: `must be at least repetitions (${s.repetitions}), the minimum every cell runs: raise it or lower repetitions`,
            });
        // The widest interval, [min, max], covers the median with 1 - 2 * 0.5^n: below the level the rule judges at, no n up to the cap can stop a cell as precise.
        const level = decisionLevel(p.confidence);
        if (orderStatisticCoverage(p.maxRepetitions, 1) < level) {
            const need = repetitionsForLevel(level);
            ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["precision", "confidence"],
                message: `no interval of the median reaches ${p.confidence} with at most ${p.maxRepetitions} repetitions: raise maxRepetitions to ${need} or more, or lower confidence`,
            });
        }
    });
export type RunSettings = z.output<typeof RunSettingsSchema>;

/** The Volt template's matrix: all four throughput tests, ICMP and TCP latency, PPS, netperf RR. */
export const VOLT_MATRIX: TestSpec[] = [
    { kind: "tcp", streams: 1, reverse: false },
    { kind: "tcp", streams: 8, reverse: false },
    { kind: "tcp", streams: 1, reverse: true },
    { kind: "udp", rateMbps: "max", size: 1400 },
    { kind: "icmp", count: 100, interval: 0.01, size: 56 },
    { kind: "latency", protocol: "tcp", size: 64 },
    { kind: "pps", sizes: [64, 128, 256, 512] },
    { kind: "rr", test: "TCP_RR", size: 1 },
    { kind: "rr", test: "TCP_CRR", size: 1 },
    { kind: "rr", test: "UDP_RR", size: 1 },
];

/** One measurable thing: a test with one size / parameter set. */
export interface Cell {
    /** Stable, path-safe id, e.g. "tcp-1", "tcp-8", "tcp-1-reverse", "udp-max-1400", "pps-64". */
    id: string;
    test: TestSpec["kind"];
    /** The parameters of this cell (a single size for pps). */
    spec: TestSpec;
    size?: number;
}

export function expandCells(tests: readonly TestSpec[]): Cell[] {
    const cells: Cell[] = [];
    for (const t of tests) {
        switch (t.kind) {
            case "tcp":
                cells.push({ id: `tcp-${t.streams}${t.reverse ? "-reverse" : ""}${t.bidir ? "-bidir" : ""}`, test: t.kind, spec: t });
                break;
            case "udp":
                for (const size of t.sizes ?? [t.size])
                    cells.push({ id: `udp-${t.rateMbps}-${size}`, test: t.kind, spec: { ...t, size, sizes: undefined }, size });
                break;
            case "pps":
                for (const s of t.sizes) cells.push({ id: `pps-${s}`, test: t.kind, spec: { ...t, sizes: [s] }, size: s });
                break;
            case "icmp":
                cells.push({ id: `icmp-${t.size}`, test: t.kind, spec: t, size: t.size });
                break;
            case "latency":
                for (const size of t.sizes ?? [t.size])
                    cells.push({ id: `latency-${t.protocol}-${size}`, test: t.kind, spec: { ...t, size, sizes: undefined }, size });
                break;
            case "rr":
                for (const size of t.sizes ?? [t.size])
                    cells.push({ id: `${t.test.toLowerCase()}-${size}`, test: t.kind, spec: { ...t, size, sizes: undefined }, size });
                break;
            case "flood":
                cells.push({ id: `flood-${t.size}-${t.rate}`, test: t.kind, spec: t, size: t.size });
                break;
            case "load":
                cells.push({ id: `load-${t.protocol}-${t.size}`, test: t.kind, spec: t, size: t.size });
                break;
        }
    }
    return cells;
}

/** Combinations a tool refuses, as {index, field, message}: checked at preview with the test named. */
export function testProblems(tests: readonly TestSpec[]): { index: number; field: string; message: string }[] {
    return tests.flatMap((t, index) =>
        t.kind === "tcp" && t.reverse && t.bidir ? [{ index, field: "bidir", message: "bidir already runs both directions: leave reverse out" }] : [],
    );
}

/** Cell ids that appear twice (the same test given twice): refused, the results would collide. */
export function duplicateCells(tests: readonly TestSpec[]): string[] {
    const seen = new Set<string>();
    const dup = new Set<string>();
    for (const c of expandCells(tests)) (seen.has(c.id) ? dup : seen).add(c.id);
    return [...dup];
}

export interface Step {
    /** Index into the pairs. */
    pair: number;
    cell: Cell;
    /** 0-based; warm-up steps are negative (-warmup .. -1). */
    repetition: number;
    warmup: boolean;
}

/**
 * The run order: all warm-ups first (each cell once per warm-up round), then repetition rounds,
 * each visiting every (pair, cell) once: A B A B, never A A B B, so slow drift of the machine
 * spreads evenly over the cells being compared.
 */
export function schedule(pairs: number, cells: readonly Cell[], settings: Pick<RunSettings, "repetitions" | "warmup">): Step[] {
    const steps: Step[] = [];
    const round = (repetition: number, warmup: boolean) => {
        for (const cell of cells) for (let pair = 0; pair < pairs; pair++) steps.push({ pair, cell, repetition, warmup });
    };
    for (let w = settings.warmup; w > 0; w--) round(-w, true);
    for (let r = 0; r < settings.repetitions; r++) round(r, false);
    return steps;
}
