// One cell of a BenchmarkRun's results from the records of its repetitions: the metrics' statistics,
// the CPU-seconds and service demand, the load sweep and its knee, and the dimensions that place the
// cell in the report's tables. Pure.
import { z } from "zod";
import type { Cell } from "./spec";
import { ICMP_PERCENTILES } from "./measure";
import { type CellResult, type Cpu, CpuSchema, kernelLabel, type Pooled } from "./results";
import { knee, median, percentile, pooledQuantileInterval, samplesNeeded, summarize } from "./stats";
import { EVENT_DRIVEN } from "../notification";

/**
 * One repetition as measured, and as written beside its raw output (`<rep>.meta.json`); a resumed
 * run reads it back through this schema (a field missing here makes a resumed run measure afresh).
 */
export const RepRecordSchema = z
    .object({
        /** 0-based; warm-up steps are negative (-warmup .. -1). */
        index: z.number().int(),
        warmup: z.boolean(),
        metrics: z.record(z.number()),
        cpu: CpuSchema.optional(),
        /** The raw tool output, relative to resultsDir. */
        raw: z.string(),
        seconds: z.number().nonnegative(),
        nominal: z.number().nonnegative(),
        /** Latency sweep steps (load test). */
        sweep: z.array(z.object({ mps: z.number(), p50us: z.number(), p99us: z.number() }).strict()).optional(),
        /** The work the tool counted over the window CPU was sampled over, for service demand. */
        volume: z.object({ kb: z.number().optional(), packets: z.number().optional(), transactions: z.number().optional() }).strict().optional(),
        /** ICMP: every echo's round trip (ms). Kept here, so the cell pools them without reading raw files. */
        rttMs: z.array(z.number()).optional(),
    })
    .strict();
export type RepRecord = z.infer<typeof RepRecordSchema>;

/** A guest end of a pair, as far as the results describe it. */
interface GuestEnd {
    kind: "vm";
    name: string;
    backend: string;
    driver: string;
    accel: string;
    kernel: string;
    vcpus: number;
    memoryMiB: number;
    pinned: boolean;
    security: string;
    /** Absent: event-driven. */
    notification?: string;
}

type PairEnd = GuestEnd | { kind: "host"; host: { name: string } };

export interface PairEnds {
    label: string;
    client: PairEnd;
    server: PairEnd;
}

function endpointLabel(e: PairEnd): string {
    return e.kind === "vm" ? e.name : e.host.name;
}

export function defaultTopology(p: PairEnds): string {
    const kind = (e: PairEnd) => (e.kind === "vm" ? "guest" : "host");
    return `${kind(p.client)}-${kind(p.server)}`;
}

export function aggregate(p: PairEnds, topology: string, cell: Cell, reps: RepRecord[], rawDir: string, error: string | undefined): CellResult {
    const vm = p.client.kind === "vm" ? p.client : p.server.kind === "vm" ? p.server : undefined;
    const metrics: CellResult["metrics"] = {};
    const names = [...new Set(reps.flatMap((r) => Object.keys(r.metrics)))];
    for (const m of names) {
        const v = reps.map((r) => r.metrics[m]).filter((x) => Number.isFinite(x));
        if (v.length > 0) metrics[m] = summarize(v);
    }
    const sweep = sweepOf(cell, reps);
    return {
        pair: p.label,
        cell: cell.id,
        dimensions: JSON.parse(JSON.stringify(dimensions(p, topology, cell, vm))),
        status: error === undefined && reps.length > 0 ? "ok" : "failed",
        error: error ?? (reps.length === 0 ? "no repetition finished" : undefined),
        metrics,
        pooled: pooledPercentiles(reps),
        serviceDemand: serviceDemand(reps, cell),
        cpuSeconds: cpuMedians(reps, vm),
        sweep: sweep?.sweep,
        knee: sweep?.knee,
        repetitions: reps.map((r) => ({ index: r.index, metrics: r.metrics, cpu: r.cpu, raw: r.raw, seconds: r.seconds, volume: r.volume })),
        rawDir,
    };
}

/** CPU-seconds of all machines, split by kind, in one repetition. */
function machinesSum(r: RepRecord, f: (x: Cpu["machines"][string]) => number): number {
    return Object.values(r.cpu!.machines).reduce((a, x) => a + f(x), 0);
}

function cpuMedians(reps: RepRecord[], vm: GuestEnd | undefined): CellResult["cpuSeconds"] {
    const withCpu = reps.filter((r) => r.cpu);
    if (withCpu.length === 0) return undefined;
    const of = (f: (x: Cpu["machines"][string]) => number) => median(withCpu.map((r) => machinesSum(r, f)));
    return {
        user: of((x) => x.user),
        system: of((x) => x.system),
        softirq: of((x) => x.softirq),
        guest: of((x) => x.guest),
        busy: of((x) => x.busy),
        vmm: vm && withCpu.every((r) => r.cpu!.vmm[vm.name] !== undefined) ? median(withCpu.map((r) => r.cpu!.vmm[vm.name])) : null,
    };
}

/**
 * ICMP percentiles over every echo of every repetition, or undefined where a repetition lacks its
 * echoes (a record from an older netbed): the median of per-repetition P99s of 40 echoes each is
 * about the 2nd largest of 40, not a P99.
 */
function pooledPercentiles(reps: RepRecord[]): Record<string, Pooled> | undefined {
    if (reps.length === 0 || !reps.every((r) => r.rttMs && r.rttMs.length > 0)) return undefined;
    const groups = reps.map((r) => r.rttMs!);
    return Object.fromEntries(ICMP_PERCENTILES.map((p) => [`p${p}ms`, pooledPercentile(groups, p / 100)]));
}

/** A percentile of groups of samples pooled (a repetition's echoes form a group). */
export function pooledPercentile(groups: readonly (readonly number[])[], q: number): Pooled {
    const all = groups.flat();
    const needed = samplesNeeded(q);
    const { designEffect, ...ci } = pooledQuantileInterval(groups, q);
    return { q, value: percentile(all, q * 100), n: all.length, needed, sufficient: all.length >= needed, ci, designEffect };
}

/** Busy CPU microseconds per unit of work counted: per datagram in a packet-rate cell, per KB moved, or per transaction. */
function serviceDemand(reps: RepRecord[], cell: Cell): CellResult["serviceDemand"] {
    const per = (f: (v: NonNullable<RepRecord["volume"]>) => number | undefined) =>
        reps.filter((r) => r.cpu && f(r.volume ?? {})).map((r) => (machinesSum(r, (x) => x.busy) * 1e6) / f(r.volume!)!);
    const packets = cell.spec.kind === "pps" ? per((v) => v.packets) : [];
    const kb = per((v) => v.kb);
    const tr = per((v) => v.transactions);
    if (packets.length > 0) return { unit: "us/packet", value: median(packets) };
    if (kb.length > 0) return { unit: "us/KB", value: median(kb) };
    if (tr.length > 0) return { unit: "us/tr", value: median(tr) };
    return undefined;
}

/** A load test's latency at each offered rate (medians over the repetitions), and its knee. */
function sweepOf(cell: Cell, reps: RepRecord[]): { sweep: NonNullable<CellResult["sweep"]>; knee: number | null } | undefined {
    const spec = cell.spec;
    if (spec.kind !== "load" || reps.length === 0) return undefined;
    const sweep = spec.mps.map((mps) => {
        const at = reps.map((r) => r.sweep?.find((x) => x.mps === mps)).filter((x): x is NonNullable<typeof x> => x !== undefined);
        return { mps, p50us: median(at.map((x) => x.p50us)), p99us: median(at.map((x) => x.p99us)) };
    });
    return {
        sweep,
        knee:
            knee(
                sweep.map((x) => ({ load: x.mps, p99: x.p99us })),
                spec.factor,
            ) ?? null,
    };
}

function dimensions(p: PairEnds, topology: string, cell: Cell, vm: GuestEnd | undefined): CellResult["dimensions"] {
    const spec = cell.spec;
    return {
        topology,
        backend: vm?.backend ?? "bare-metal",
        client: endpointLabel(p.client),
        server: endpointLabel(p.server),
        vmm: vm ? vm.driver : undefined,
        accel: vm?.accel,
        kernel: vm ? kernelLabel(vm.kernel) : undefined,
        vcpus: vm?.vcpus,
        memoryMiB: vm?.memoryMiB,
        pinning: vm ? (vm.pinned ? "pinned" : "default") : "n/a",
        security: vm?.security ?? "none",
        notification: vm ? (vm.notification ?? EVENT_DRIVEN) : undefined,
        test: cell.test,
        size: cell.size,
        streams: spec.kind === "tcp" ? spec.streams : undefined,
        reverse: spec.kind === "tcp" ? spec.reverse : undefined,
        bidir: spec.kind === "tcp" && spec.bidir ? true : undefined,
        rate: spec.kind === "flood" ? spec.rate : undefined,
        protocol: spec.kind === "latency" || spec.kind === "load" ? spec.protocol : spec.kind === "rr" ? spec.test : undefined,
        load: spec.kind === "load" ? spec.mps : undefined,
    };
}
