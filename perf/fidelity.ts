// Harness fidelity: for one netns-to-netns veth path, netbed's BenchmarkRun result next to the same
// tool run by hand with the same parameters, interleaved (netbed, hand, netbed, hand, ...), 5 pairs:
// iperf3 TCP throughput, sockperf ping-pong P50/P99, 64-byte UDP packets per second, and netperf
// TCP_CRR (netbed counts its transactions after a warm-up; by hand it is timed).
// Run: npm run bench -- fidelity
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { iperf3Argv, netperfArgv, parseIperf3, parseNetperf, parseSockperf, sockperfArgv } from "../core/bench/parse";
import { median } from "../core/bench/stats";
import { sleep } from "../core/sleep";
import { benchmarkHandler } from "../providers/benchmark";
import { MemoryLogger } from "../providers/runtime/log";
import { BenchmarkRunArgsSchema, type BenchmarkRunInputs } from "../schema/benchmark";
import { must } from "../test/helpers";
import { cleanUp, machine } from "./machine";

function inNs(ns: string, argv: string[], timeoutS: number): string {
    const r = spawnSync("ip", ["netns", "exec", ns, "timeout", String(timeoutS), ...argv], { encoding: "utf8" });
    return r.stdout;
}

export async function main(pairs = 5, duration = 3): Promise<Record<string, unknown>> {
    console.log(machine());
    const id = process.pid.toString(36);
    const [a, b] = [`nbb-fa-${id}`, `nbb-fb-${id}`];
    const results = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-fidelity-"));
    const servers: number[] = [];
    try {
        vethPath(a, b);
        startHandServers(a, servers);
        await sleep(1000);
        const { inputs, crrInputs } = runInputs(a, b, duration, results);
        const nb = emptySeries();
        const hand = emptySeries();
        let netbedWall = 0;
        for (let i = 0; i < pairs; i++) netbedWall += await onePair(i, b, duration, inputs, crrInputs, nb, hand);
        console.log(`${pairs} interleaved pairs, ${duration} s per measurement, veth between two namespaces`);
        const summary = summarize(nb, hand, netbedWall / pairs, duration);
        console.log(`netbed run wall time ${summary.netbedRunSeconds.toFixed(2)} s for ${summary.measuredSecondsPerRun} s of measuring`);
        return { ...summary, raw: { netbed: nb, byHand: hand } };
    } finally {
        cleanUp(servers, [a, b]);
        fs.rmSync(results, { recursive: true, force: true });
    }
}

/** Server namespace `a` (10.254.90.1) and client namespace `b` (.2), joined by a veth. */
function vethPath(a: string, b: string): void {
    for (const ns of [a, b]) must(["ip", "netns", "add", ns]);
    must(["ip", "link", "add", "nbfa0", "netns", a, "type", "veth", "peer", "name", "nbfb0", "netns", b]);
    must(["ip", "-n", a, "addr", "add", "10.254.90.1/24", "dev", "nbfa0"]);
    must(["ip", "-n", b, "addr", "add", "10.254.90.2/24", "dev", "nbfb0"]);
    for (const [ns, dev] of [
        [a, "nbfa0"],
        [b, "nbfb0"],
    ]) {
        must(["ip", "-n", ns, "link", "set", dev, "up"]);
        must(["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
}

/** The hand-run side's servers, on their own ports in the server namespace; their pids go to `servers`. */
function startHandServers(ns: string, servers: number[]): void {
    for (const argv of [
        ["iperf3", "-s", "-B", "10.254.90.1", "-p", "5999"],
        ["sockperf", "server", "-i", "10.254.90.1", "-p", "11999"],
        ["netserver", "-D", "-L", "10.254.90.1", "-p", "12999"],
    ]) {
        const p = require("node:child_process").spawn("ip", ["netns", "exec", ns, "timeout", "3600", ...argv], { stdio: "ignore" });
        servers.push(p.pid);
    }
}

/** netbed's two BenchmarkRuns: TCP, UDP latency and 64-byte PPS; and TCP_CRR on its own. */
function runInputs(a: string, b: string, duration: number, results: string) {
    const host = (ns: string, name: string) => ({ kind: "netns" as const, name, namespace: ns });
    const inputs = BenchmarkRunArgsSchema.parse({
        pairs: [{ label: "veth", client: { kind: "host", host: host(b, "b") }, server: { kind: "host", host: host(a, "a"), address: "10.254.90.1" } }],
        tests: [{ kind: "tcp" }, { kind: "latency", protocol: "udp" }, { kind: "pps", sizes: [64] }],
        settings: { duration, repetitions: 1, warmup: 0 },
        resultsDir: results,
    });
    // TCP_CRR runs with a warm-up: its measurement then counts transactions at the warm-up's rate.
    const crrInputs = BenchmarkRunArgsSchema.parse({
        ...inputs,
        tests: [{ kind: "rr", test: "TCP_CRR", size: 1 }],
        settings: { duration, repetitions: 1, warmup: 1 },
    });
    return { inputs, crrInputs };
}

type Series = Record<"gbps" | "p50" | "p99" | "pps" | "crr", number[]>;

function emptySeries(): Series {
    return { gbps: [], p50: [], p99: [], pps: [], crr: [] };
}

/** One interleaved pair: netbed, then the same tools by hand from namespace `b`; returns netbed's first run's wall seconds. */
async function onePair(
    i: number,
    b: string,
    duration: number,
    inputs: BenchmarkRunInputs,
    crrInputs: BenchmarkRunInputs,
    nb: Series,
    hand: Series,
): Promise<number> {
    const t0 = Date.now();
    const r = await benchmarkHandler.create(
        { urn: `urn:pulumi:bench::fidelity::netbed:index:BenchmarkRun::f${i}`, name: `f${i}`, log: new MemoryLogger() },
        inputs,
    );
    const wall = (Date.now() - t0) / 1000;
    const cells = (r.outs.results as any).cells as any[];
    const m = (id: string, k: string) => cells.find((c) => c.cell === id).metrics[k].median;
    nb.gbps.push(m("tcp-1", "gbps"));
    nb.p50.push(m("latency-udp-64", "p50us"));
    nb.p99.push(m("latency-udp-64", "p99us"));
    nb.pps.push(m("pps-64", "pps"));
    const t = parseIperf3(inNs(b, iperf3Argv({ server: "10.254.90.1", port: 5999, duration }), duration + 30));
    hand.gbps.push(t.bitsPerSecond / 1e9);
    const s = parseSockperf(inNs(b, sockperfArgv({ mode: "ping-pong", server: "10.254.90.1", port: 11999, duration, messageSize: 64 }), duration + 30));
    hand.p50.push(s.p50);
    hand.p99.push(s.p99);
    const u = parseIperf3(inNs(b, iperf3Argv({ server: "10.254.90.1", port: 5999, duration, udp: true, bitrate: "0", length: 64 }), duration + 30));
    hand.pps.push(u.packetsPerSecond!);
    const c = await benchmarkHandler.create(
        { urn: `urn:pulumi:bench::fidelity::netbed:index:BenchmarkRun::c${i}`, name: `c${i}`, log: new MemoryLogger() },
        crrInputs,
    );
    nb.crr.push(((c.outs.results as any).cells as any[]).find((x) => x.cell === "tcp_crr-1").metrics.tps.median);
    const n = parseNetperf(
        inNs(b, netperfArgv({ server: "10.254.90.1", port: 12999, test: "TCP_CRR", duration, requestSize: 1, responseSize: 1 }), duration + 30),
    );
    hand.crr.push(n.transactionsPerSecond);
    return wall;
}

/** Prints netbed's median next to the hand-run one per metric, and returns their ratios. */
function summarize(nb: Series, hand: Series, netbedRunSeconds: number, duration: number) {
    const row = (name: string, k: keyof Series, unit: string, target: string) => {
        const ratio = median(nb[k]) / median(hand[k]);
        console.log(
            `${name.padEnd(22)} netbed ${median(nb[k]).toFixed(3).padStart(12)} ${unit}  by hand ${median(hand[k]).toFixed(3).padStart(12)} ${unit}  ratio ${ratio.toFixed(3)}  (target ${target})`,
        );
        console.log(`${"".padEnd(22)} netbed [${nb[k].map((x) => x.toFixed(3)).join(", ")}]  by hand [${hand[k].map((x) => x.toFixed(3)).join(", ")}]`);
        return ratio;
    };
    return {
        tcpThroughputRatio: row("iperf3 TCP", "gbps", "Gbit/s", ">= 0.98"),
        sockperfP50Ratio: row("sockperf UDP P50", "p50", "us", "within 3%"),
        sockperfP99Ratio: row("sockperf UDP P99", "p99", "us", "within 3%"),
        pps64Ratio: row("iperf3 UDP 64 B PPS", "pps", "pps", "~1"),
        tcpCrrRatio: row("netperf TCP_CRR", "crr", "Trans/s", "within 2%"),
        netbedRunSeconds,
        measuredSecondsPerRun: 3 * duration,
    };
}
