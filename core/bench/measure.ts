// One measurement of one cell: the client argv, the tool's output parsed into metrics. The
// command runs through a callback (a host's transport or a guest's agent), so this stays pure.
import { createHash } from "node:crypto";
import { type Cell, type RunSettings, type TestSpec, expandCells } from "./spec";
import { floodArgv, iperf3Argv, netperfArgv, parseFlood, parseIperf3, parseNetperf, parsePing, parseSockperf, pingArgv, sockperfArgv } from "./parse";
import { percentile } from "./stats";

export type ServerName = "iperf3" | "sockperf" | "netserver";
export type Ports = Record<ServerName, number>;

/** Where the guest image's init starts its servers (core/guestinit.ts): the tools' defaults. */
export const GUEST_PORTS: Ports = { iperf3: 5201, sockperf: 11111, netserver: 12865 };

/** The servers a host endpoint runs, bound to the address its peer uses; each runs until stopped. */
export const SERVER_ARGV: Record<ServerName, (address: string, port: number) => string[][]> = {
    iperf3: (a, p) => [["iperf3", "-s", "-B", a, "-p", String(p)]],
    // sockperf serves TCP and UDP from separate processes; both may use the one port number.
    sockperf: (a, p) => [
        ["sockperf", "server", "-i", a, "-p", String(p)],
        ["sockperf", "server", "--tcp", "-i", a, "-p", String(p)],
    ],
    netserver: (a, p) => [["netserver", "-D", "-L", a, "-p", String(p)]],
};

export function serversFor(cells: readonly Cell[]): ServerName[] {
    const need = new Set<ServerName>();
    for (const c of cells) {
        if (c.test === "tcp" || c.test === "udp" || c.test === "pps") need.add("iperf3");
        if (c.test === "latency" || c.test === "load") need.add("sockperf");
        if (c.test === "rr") need.add("netserver");
    }
    return [...need];
}

/** Ports for a host's servers: derived from the run, so two runs' servers do not collide. */
export function serverPorts(seed: string): Ports {
    const n = createHash("sha256").update(seed).digest().readUInt16BE(0) % 900;
    const base = 20000 + n * 10;
    return { iperf3: base, sockperf: base + 1, netserver: base + 2 };
}

/** Seconds of measuring a cell takes by its parameters (the matrix-overhead denominator). */
export function nominalSeconds(cell: Cell, s: RunSettings): number {
    const t = cell.spec;
    if (t.kind === "icmp") return t.count * t.interval;
    if (t.kind === "flood") return t.count / t.rate;
    if (t.kind === "load") return t.mps.length * s.duration;
    return s.duration;
}

/**
 * The most nominal measuring time a BenchmarkRun may have: 24 h. A run is one engine operation that
 * holds the stack's lock, its hosts and its guests for its whole length, and resumes only by running
 * again: a longer campaign is better split into runs. It also keeps every command's timeout far
 * below what Node's timers hold (24.8 days), which a single ICMP cell could pass (100 000 x 60 s).
 */
export const MAX_RUN_NOMINAL_SECONDS = 24 * 3600;

/**
 * A run's nominal measuring time at most: every step (warm-ups included) of every cell and pair, end
 * to end, with precision-driven cells at their cap. Counted, not scheduled: the schema calls this on
 * settings it is refusing (10^12 repetitions), where listing the steps would exhaust the memory.
 */
export function runNominalSeconds(pairs: number, tests: readonly TestSpec[], s: RunSettings): number {
    const perCell = s.warmup + Math.max(s.repetitions, s.precision?.maxRepetitions ?? 0);
    return expandCells(tests).reduce((sum, cell) => sum + nominalSeconds(cell, s), 0) * pairs * perCell;
}

export interface Measurement {
    /** Metric name (unit in the name) -> value. */
    metrics: Record<string, number>;
    /** The tools' raw output, kept on disk. */
    raw: string;
    ext: "json" | "txt";
    sweep?: { mps: number; p50us: number; p99us: number }[];
    /** The work the tool counted over its whole command (the window its CPU is sampled over). */
    volume?: { kb?: number; packets?: number; transactions?: number };
    /** ICMP: every echo's round trip (ms), pooled over the repetitions for the cell's percentiles. */
    rttMs?: number[];
}

/** The ICMP percentiles: per repetition (the A/B tests' unit) and over the cell's pooled echoes. */
export const ICMP_PERCENTILES = [50, 95, 99] as const;

export type Runner = (argv: string[], timeoutSeconds: number) => Promise<{ code: number; stdout: string; stderr: string }>;

function fail(argv: string[], r: { code: number; stdout: string; stderr: string }, why: string): never {
    throw new Error(`\`${argv.join(" ")}\` ${why} (exit ${r.code})${r.stderr.trim() ? `: ${r.stderr.trim().slice(-500)}` : ""}`);
}

/** Runs a tool, parses its output with the tool's parser, and turns a parse failure into an error that names the command. */
async function runParsed<T>(run: Runner, argv: string[], timeout: number, parse: (out: string) => T): Promise<{ out: T; raw: string }> {
    const r = await run(argv, timeout);
    try {
        return { out: parse(r.stdout), raw: r.stdout };
    } catch (err) {
        return fail(argv, r, (err as Error).message);
    }
}

/**
 * Transactions for a TCP_CRR measurement of about `duration` seconds at the rate the cell last
 * measured, or undefined (time it) without one. Timed, netserver waits in accept() for netperf's
 * PAD_TIME (4 s) after the test ends, since no connection tells it the test is over, and then
 * subtracts those 4 s from its elapsed time but not from its CPU time, which inflates the remote
 * CPU and service demand (300% of one machine's CPU on 2 cores at -l 2). Counted, both ends stop
 * after the last transaction. TCP_RR and UDP_RR end when netperf closes and need neither.
 */
export function crrTransactions(t: TestSpec, duration: number, lastTps?: number): number | undefined {
    if (t.kind !== "rr" || t.test !== "TCP_CRR" || !lastTps || !(lastTps > 0)) return undefined;
    return Math.max(1, Math.round(lastTps * duration));
}

type Spec<K extends TestSpec["kind"]> = Extract<TestSpec, { kind: K }>;

/** Seconds a tool may run past its nominal time before the runner gives up on it. */
const SLACK = 30;

/** `lastTps`: the transaction rate this pair's cell measured last (its warm-up, or the previous repetition). */
export async function measure(cell: Cell, server: { address?: string }, ports: Ports, s: RunSettings, run: Runner, lastTps?: number): Promise<Measurement> {
    const t: TestSpec = cell.spec;
    const host = server.address!;
    switch (t.kind) {
        case "tcp":
        case "udp":
        case "pps":
            return measureIperf3(t, host, ports, s, run);
        case "icmp":
            return measurePing(t, host, run);
        case "flood":
            return measureFlood(t, host, run);
        case "latency":
            return measureLatency(t, host, ports, s, run);
        case "rr":
            return measureRr(t, host, ports, s, run, lastTps);
        case "load":
            return measureLoad(t, host, ports, s, run);
    }
}

async function measureIperf3(t: Spec<"tcp" | "udp" | "pps">, host: string, ports: Ports, s: RunSettings, run: Runner): Promise<Measurement> {
    const udp = t.kind !== "tcp";
    const argv = iperf3Argv({
        server: host,
        port: ports.iperf3,
        duration: s.duration,
        parallel: t.kind === "tcp" ? t.streams : 1,
        reverse: t.kind === "tcp" ? t.reverse : false,
        bidir: t.kind === "tcp" ? t.bidir : false,
        udp,
        bitrate: t.kind === "udp" && t.rateMbps !== "max" ? `${t.rateMbps}M` : udp ? "0" : undefined,
        length: t.kind === "udp" ? t.size : t.kind === "pps" ? t.sizes[0] : undefined,
    });
    const { out, raw } = await runParsed(run, argv, s.duration + SLACK, parseIperf3);
    const metrics: Record<string, number> = { gbps: out.bitsPerSecond / 1e9 };
    if (out.bidir) {
        metrics.gbpsForward = out.bidir.forwardBitsPerSecond / 1e9;
        metrics.gbpsReverse = out.bidir.reverseBitsPerSecond / 1e9;
    }
    if (!udp) metrics.retransmits = out.retransmits ?? 0;
    else {
        metrics.pps = out.packetsPerSecond ?? 0;
        metrics.lossPct = out.lostPercent ?? 0;
        if (out.jitterMs !== undefined) metrics.jitterMs = out.jitterMs;
    }
    // Delivered datagrams: the rate over the receiver's seconds, back to a count.
    const packets = out.packetsPerSecond !== undefined ? out.packetsPerSecond * out.seconds : undefined;
    return { metrics, raw, ext: "json", volume: { kb: out.bytes / 1024, ...(packets !== undefined ? { packets } : {}) } };
}

async function measurePing(t: Spec<"icmp">, host: string, run: Runner): Promise<Measurement> {
    const argv = pingArgv({ target: host, count: t.count, interval: t.interval, size: t.size });
    const r = await run(argv, Math.ceil(t.count * t.interval) + SLACK);
    let p: ReturnType<typeof parsePing>;
    try {
        p = parsePing(r.stdout);
    } catch (err) {
        return fail(argv, r, (err as Error).message);
    }
    const rtts = p.rtts.map((x) => x.ms);
    if (rtts.length === 0) fail(argv, r, `got no echo reply from ${host}`);
    const metrics: Record<string, number> = Object.fromEntries(ICMP_PERCENTILES.map((q) => [`p${q}ms`, percentile(rtts, q)]));
    Object.assign(metrics, { minms: Math.min(...rtts), maxms: Math.max(...rtts), lossPct: p.lossPercent });
    return { metrics, raw: r.stdout, ext: "txt", rttMs: rtts };
}

async function measureFlood(t: Spec<"flood">, host: string, run: Runner): Promise<Measurement> {
    const argv = floodArgv({ target: host, count: t.count, rate: t.rate, size: t.size });
    const { out, raw } = await runParsed(run, argv, Math.ceil(t.count / t.rate) + SLACK, parseFlood);
    if (!out.rtt) fail(argv, { code: 1, stdout: raw, stderr: "" }, `got no echo reply from ${host} (${out.transmitted} sent, ${out.errors} errors)`);
    const metrics = {
        sentPps: out.timeMs > 0 ? (out.transmitted * 1000) / out.timeMs : out.transmitted,
        lossPct: out.lossPercent,
        avgms: out.rtt.avg,
        minms: out.rtt.min,
        maxms: out.rtt.max,
        mdevms: out.rtt.mdev,
    };
    return { metrics, raw, ext: "txt", volume: { transactions: out.received } };
}

async function measureLatency(t: Spec<"latency">, host: string, ports: Ports, s: RunSettings, run: Runner): Promise<Measurement> {
    const argv = sockperfArgv({
        mode: "ping-pong",
        server: host,
        port: ports.sockperf,
        duration: s.duration,
        tcp: t.protocol === "tcp",
        messageSize: t.size,
    });
    const { out, raw } = await runParsed(run, argv, s.duration + SLACK, parseSockperf);
    return { metrics: { p50us: out.p50, p99us: out.p99, p999us: out.p999, avgus: out.avg, minus: out.min, maxus: out.max }, raw, ext: "txt" };
}

async function measureRr(t: Spec<"rr">, host: string, ports: Ports, s: RunSettings, run: Runner, lastTps?: number): Promise<Measurement> {
    const transactions = crrTransactions(t, s.duration, lastTps);
    const argv = netperfArgv({
        server: host,
        port: ports.netserver,
        test: t.test,
        duration: s.duration,
        requestSize: t.size,
        responseSize: t.size,
        transactions,
    });
    const { out, raw } = await runParsed(run, argv, s.duration + SLACK, parseNetperf);
    const metrics: Record<string, number> = { tps: out.transactionsPerSecond };
    for (const [k, v] of [
        ["localSdUsPerTr", out.localServiceDemand],
        ["remoteSdUsPerTr", out.remoteServiceDemand],
        ["p50us", out.p50LatencyUs],
        ["p99us", out.p99LatencyUs],
    ] as const) {
        if (v !== undefined && Number.isFinite(v)) metrics[k] = v;
    }
    // Counted: exactly that many. Timed: the rate times netperf's own elapsed time (not the nominal
    // duration), so CPU sampled around the command is divided by the transactions made in it.
    const made = transactions ?? out.transactionsPerSecond * (out.elapsedSeconds ?? s.duration);
    return { metrics, raw, ext: "txt", volume: { transactions: made } };
}

/** A sockperf under-load sweep: one run per message rate, metrics keyed by the rate. */
async function measureLoad(t: Spec<"load">, host: string, ports: Ports, s: RunSettings, run: Runner): Promise<Measurement> {
    const sweep: NonNullable<Measurement["sweep"]> = [];
    const raws: string[] = [];
    const metrics: Record<string, number> = {};
    for (const mps of t.mps) {
        const argv = sockperfArgv({
            mode: "under-load",
            server: host,
            port: ports.sockperf,
            duration: s.duration,
            tcp: t.protocol === "tcp",
            messageSize: t.size,
            mps,
        });
        const { out, raw } = await runParsed(run, argv, s.duration + SLACK, parseSockperf);
        sweep.push({ mps, p50us: out.p50, p99us: out.p99 });
        metrics[`p50us@${mps}`] = out.p50;
        metrics[`p99us@${mps}`] = out.p99;
        raws.push(`### mps=${mps}\n${raw}`);
    }
    return { metrics, raw: raws.join("\n"), ext: "txt", sweep };
}
