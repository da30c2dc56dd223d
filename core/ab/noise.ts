// A noise model of benchmark repetitions, to check the A/B rule against a known truth. Pure and
// seeded: the same options always give the same values.
//
// Each repetition's value is the true median of its pair and metric, times
//   - lognormal noise of the cell's coefficient of variation (its median is 1: a true effect is a
//     change of the median, the quantity compare reports);
//   - a drift within the run: a factor moving linearly from 1 to 1 + d over the rounds, d uniform
//     in [-drift, drift] per cell and metric, the same for every pair (interleaved pairs share it);
//   - with probability `bad`, a bad repetition: off by `badFactor` in the metric's bad direction
//     (throughput divided, latency and cost multiplied).
// Metrics are drawn independently of each other: correlated metrics (P50/P95/P99) would make the
// family of tests behave like fewer tests, so independence is the harder case for error control.
import { metricDirection } from "./abtest";
import { type CellResult, RESULTS_VERSION, type ResultsDoc } from "../bench/results";
import { mulberry32, summarize } from "../bench/stats";

export interface Noise {
    /** Coefficient of variation of the lognormal noise. */
    cv: number;
    /** Share of bad repetitions. */
    bad: number;
    /** How far off a bad repetition is (2: half the throughput, twice the latency). */
    badFactor: number;
    /** Largest drift over the run (0.05: up to 5%, either way). */
    drift: number;
}

/** The audit's realistic noise, without its CV. */
export const REALISTIC: Omit<Noise, "cv"> = { bad: 0.05, badFactor: 2, drift: 0.05 };

export type Rnd = () => number;

export function normal(rnd: Rnd): number {
    return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** A lognormal factor of median 1 and coefficient of variation cv. */
export function lognormal(rnd: Rnd, cv: number): number {
    return Math.exp(Math.sqrt(Math.log(1 + cv * cv)) * normal(rnd));
}

/** The drift factor of each of n rounds: 1 at the first, 1 + d at the last, d uniform in [-max, max]. */
export function driftPath(rnd: Rnd, n: number, max: number): number[] {
    const d = (2 * rnd() - 1) * max;
    return Array.from({ length: n }, (_, i) => 1 + (n > 1 ? (d * i) / (n - 1) : 0));
}

/** n repetitions of a metric of true median `median` under the noise, on a given drift path. */
export function repetitions(rnd: Rnd, median: number, higherIsBetter: boolean, noise: Noise, drift: readonly number[]): number[] {
    return drift.map((f) => {
        const bad = rnd() < noise.bad ? (higherIsBetter ? 1 / noise.badFactor : noise.badFactor) : 1;
        return median * f * lognormal(rnd, noise.cv) * bad;
    });
}

// ---- whole results documents shaped like the local stack's run -------------------------------

type Template = Record<string, number>;

/** Loss in percent of 40 echoes (one lost echo: 2.5%); retransmits of a guest's 2-s stream: mostly none. */
const ZERO_HEAVY: Record<string, (rnd: Rnd) => number> = {
    lossPct: (rnd) => (rnd() < 0.9 ? 0 : 2.5),
    retransmits: (rnd) => (rnd() < 0.6 ? 0 : 1 + Math.floor(-3 * Math.log(1 - rnd()))),
};

const tcp = (gbps: number, retransmits: number): Template => ({ gbps, retransmits });
const udp = (gbps: number, pps: number, lossPct: number): Template => ({ gbps, pps, lossPct, jitterMs: 0.01 + lossPct / 500 });
const rr = (tps: number): Template => ({ tps, localSdUsPerTr: 0.9e6 / tps, remoteSdUsPerTr: 0.7e6 / tps, p50us: 0.95e6 / tps, p99us: 2.4e6 / tps });

/** The local stack's cells (stacks/Pulumi.local.yaml) with medians like its runs (test/fixtures/report). */
const CELLS: { cell: string; dims: Partial<CellResult["dimensions"]>; guest: Template; bare: Template }[] = [
    { cell: "tcp-1", dims: { test: "tcp", streams: 1, reverse: false }, bare: tcp(13.34, 12), guest: tcp(2.19, 0) },
    { cell: "tcp-8", dims: { test: "tcp", streams: 8, reverse: false }, bare: tcp(14.9, 210), guest: tcp(2.41, 3) },
    { cell: "tcp-1-reverse", dims: { test: "tcp", streams: 1, reverse: true }, bare: tcp(13.02, 9), guest: tcp(1.62, 0) },
    { cell: "udp-max-1400", dims: { test: "udp", size: 1400 }, bare: udp(3.61, 322_000, 0.4), guest: udp(0.42, 37_500, 38.2) },
    {
        cell: "icmp-56",
        dims: { test: "icmp", size: 56 },
        bare: { p50ms: 0.046, p95ms: 0.071, p99ms: 0.098, minms: 0.029, maxms: 0.131, lossPct: 0 },
        guest: { p50ms: 0.412, p95ms: 0.688, p99ms: 1.21, minms: 0.231, maxms: 1.64, lossPct: 0 },
    },
    {
        cell: "latency-tcp-64",
        dims: { test: "latency", size: 64, protocol: "tcp" },
        bare: { p50us: 24.1, p99us: 50.6, p999us: 96.2, avgus: 26.0, minus: 14.9, maxus: 303.7 },
        guest: { p50us: 162.4, p99us: 747, p999us: 1419, avgus: 175.4, minus: 100.7, maxus: 4482 },
    },
    { cell: "pps-64", dims: { test: "pps", size: 64 }, bare: udp(0.0889, 173_800, 2.1), guest: udp(0.01505, 29_400, 61.4) },
    { cell: "pps-512", dims: { test: "pps", size: 512 }, bare: udp(0.694, 169_400, 1.8), guest: udp(0.1176, 28_700, 58.9) },
    { cell: "pps-1300", dims: { test: "pps", size: 1300 }, bare: udp(1.71, 164_100, 1.2), guest: udp(0.2829, 27_200, 44.0) },
    { cell: "tcp_rr-1", dims: { test: "rr", size: 1, protocol: "TCP_RR" }, bare: rr(30610), guest: rr(6191) },
    { cell: "tcp_crr-1", dims: { test: "rr", size: 1, protocol: "TCP_CRR" }, bare: rr(9870), guest: rr(1412) },
    { cell: "udp_rr-1", dims: { test: "rr", size: 1, protocol: "UDP_RR" }, bare: rr(33950), guest: rr(6733) },
];

export interface SynthPair {
    label: string;
    /** A guest (TCG, like the local stack's) or the bare-metal pair. */
    guest: boolean;
    /** True relative change of the median per metric name ("*" for every metric with a median above 0). */
    effects?: Record<string, number>;
}

export interface SynthOptions {
    seed: number;
    repetitions: number;
    pairs: SynthPair[];
    /** The CV of every cell and metric, or a range [low, high] drawn log-uniformly per cell and metric (the same for every pair). */
    cv: number | [number, number];
    noise?: Omit<Noise, "cv">;
    duration?: number;
}

const DIMS = { pinning: "default", security: "qemu" };

const s0 = (n: number) => Array.from({ length: n }, (_, i) => i);

function cvOf(rnd: Rnd, cv: SynthOptions["cv"]): number {
    return typeof cv === "number" ? cv : Math.exp(Math.log(cv[0]) + rnd() * (Math.log(cv[1]) - Math.log(cv[0])));
}

/** One cell's repetitions for every pair, interleaved: round r of every pair shares the drift of round r. */
function synthCell(rnd: Rnd, def: (typeof CELLS)[number], o: SynthOptions): CellResult[] {
    const noise = o.noise ?? REALISTIC;
    const duration = o.duration ?? 2;
    const metrics = [...new Set([...Object.keys(def.bare), "busy"])];
    const shared = new Map(metrics.map((m) => [m, { cv: cvOf(rnd, o.cv), drift: driftPath(rnd, o.repetitions, noise.drift) }]));
    return o.pairs.map((p) => {
        const template = p.guest ? def.guest : def.bare;
        const values = new Map<string, number[]>();
        for (const m of metrics) {
            const base = m === "busy" ? duration * (p.guest ? 1.7 : 0.9) : template[m];
            const s = shared.get(m)!;
            const effect = base > 0 ? (p.effects?.[m] ?? p.effects?.["*"] ?? 0) : 0;
            const zero = ZERO_HEAVY[m];
            const v =
                base === 0 && zero
                    ? s.drift.map(() => zero(rnd))
                    : repetitions(rnd, base * (1 + effect), metricDirection(m) !== "lower" && m !== "busy", { ...noise, cv: s.cv }, s.drift);
            values.set(m, v);
        }
        const reps: CellResult["repetitions"] = s0(o.repetitions).map((i) => {
            const busy = values.get("busy")![i];
            const machines = { local: { user: busy * 0.2, system: busy * 0.5, softirq: busy * 0.3, irq: 0, guest: 0, busy, idle: 2 * duration - busy } };
            const m = Object.fromEntries(metrics.filter((k) => k !== "busy").map((k) => [k, values.get(k)![i]]));
            return { index: i, metrics: m, cpu: { machines, vmm: {}, vhost: {}, vmExitsPerSecond: null }, raw: "", seconds: duration };
        });
        const dimensions = {
            topology: p.guest ? "ext-guest" : "ext-host",
            backend: p.guest ? "virtio" : "bare-metal",
            client: "client",
            server: p.guest ? p.label : "server",
            ...(p.guest ? { vmm: "qemu", accel: "tcg", vcpus: 1, memoryMiB: 256 } : {}),
            ...DIMS,
            ...def.dims,
        } as CellResult["dimensions"];
        const stats = Object.fromEntries([...values].filter(([k]) => k !== "busy").map(([k, v]) => [k, summarize(v)]));
        return { pair: p.label, cell: def.cell, dimensions, status: "ok" as const, metrics: stats, repetitions: reps, rawDir: "" };
    });
}

/** A results document of one interleaved run of the local stack's cells for the given pairs. */
export function synthesizeRun(o: SynthOptions): ResultsDoc {
    const rnd = mulberry32(o.seed);
    const cells = CELLS.flatMap((def) => synthCell(rnd, def, o));
    const guests = Object.fromEntries(
        o.pairs.filter((p) => p.guest).map((p) => [p.label, { vmm: "qemu 7.2", accel: "tcg", kernel: "6.1", vcpus: 1, memoryMiB: 256, backend: "virtio" }]),
    );
    return {
        version: RESULTS_VERSION,
        run: {
            name: `synthetic-${o.seed}`,
            started: "2026-12-07T00:00:00.000Z",
            finished: "2026-12-07T00:10:00.000Z",
            wallSeconds: 600,
            measuredSeconds: 0,
            resultsDir: ".",
            settings: { duration: o.duration ?? 2, repetitions: o.repetitions, warmup: 1 },
            order: "interleaved",
        },
        environment: { machines: { local: { cpu: "synthetic", cores: 2, memoryMiB: 4096, kernel: "6.1", tools: {} } }, guests },
        cells,
        warnings: [],
    };
}
