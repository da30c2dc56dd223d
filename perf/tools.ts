// Where the benchmark tools' own start and finish time goes (figure 7 of docs/performance.md), on
// two network namespaces joined by a veth (bare metal: no guest, no agent): each tool's wall time
// against its nominal duration, sockperf's phases from the times its lines appear, netperf with and
// without CPU measurement (-c -C), and TCP_CRR timed (-l D) against counted (-l -N, N = the timed
// rate x D, what BenchmarkRun runs after a cell's first measurement), interleaved, with their rates.
// Run: npm run bench -- tools
import { spawn } from "node:child_process";
import { iperf3Argv, netperfArgv, parseNetperf, pingArgv, sockperfArgv } from "../core/bench/parse";
import { median } from "../core/bench/stats";
import { sleep } from "../core/sleep";
import { must } from "../test/helpers";
import { cleanUp, machine } from "./machine";

/** Runs argv in a namespace; returns its wall seconds, its output, and when (s from the start) each stdout line appeared. */
function timed(ns: string, argv: string[], timeoutS = 60): Promise<{ wall: number; out: string; lines: { t: number; line: string }[] }> {
    return new Promise((resolve, reject) => {
        const t0 = process.hrtime.bigint();
        const since = () => Number(process.hrtime.bigint() - t0) / 1e9;
        const p = spawn("ip", ["netns", "exec", ns, "timeout", String(timeoutS), ...argv], { stdio: ["ignore", "pipe", "pipe"] });
        const lines: { t: number; line: string }[] = [];
        let out = "";
        let partial = "";
        p.stdout.setEncoding("utf8").on("data", (d: string) => {
            out += d;
            const parts = (partial + d).split("\n");
            partial = parts.pop()!;
            for (const line of parts) lines.push({ t: since(), line });
        });
        let err = "";
        p.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
        p.on("close", (code) => (code === 0 ? resolve({ wall: since(), out, lines }) : reject(new Error(`${argv.join(" ")} exited ${code}: ${err.trim()}`))));
    });
}

/** sockperf's phases: process start to its first line, warm-up (its warm-up messages and a fixed sleep(2)), the test, the report. */
function sockperfPhases(lines: { t: number; line: string }[], wall: number): Record<string, number> {
    const at = (re: RegExp) => lines.find((l) => re.test(l.line))?.t ?? NaN;
    const first = lines[0]?.t ?? NaN;
    const warm = at(/Warmup stage/);
    const start = at(/Starting test/);
    const end = at(/Test ended/);
    return { startToFirstLine: first, setup: warm - first, warmupAndSleep: start - warm, test: end - start, report: wall - end };
}

export async function main(runs = 5, duration = 2): Promise<Record<string, unknown>> {
    console.log(machine());
    const id = process.pid.toString(36);
    const [a, b] = [`nbb-ta-${id}`, `nbb-tb-${id}`];
    const srv = "10.254.91.1";
    const servers: number[] = [];
    try {
        vethPath(a, b, srv);
        for (const argv of [
            ["iperf3", "-s", "-B", srv, "-p", "5998"],
            ["sockperf", "server", "--tcp", "-i", srv, "-p", "11998"],
            ["netserver", "-D", "-L", srv, "-p", "12998"],
        ]) {
            servers.push(spawn("ip", ["netns", "exec", a, "timeout", "1800", ...argv], { stdio: "ignore" }).pid!);
        }
        await sleep(1000);
        const samples: Samples = {
            walls: {},
            phases: [],
            crr: { timed: [], counted: [], timedRemoteCpu: [], countedRemoteCpu: [] },
        };
        for (let i = 0; i < runs; i++) await oneRun(b, srv, duration, samples);
        return report(samples, runs, duration);
    } finally {
        cleanUp(servers, [a, b]);
    }
}

/** Server namespace `a` (at `srv`) and client namespace `b`, joined by a veth. */
function vethPath(a: string, b: string, srv: string): void {
    for (const ns of [a, b]) must(["ip", "netns", "add", ns]);
    must(["ip", "link", "add", "nbta0", "netns", a, "type", "veth", "peer", "name", "nbtb0", "netns", b]);
    must(["ip", "-n", a, "addr", "add", `${srv}/24`, "dev", "nbta0"]);
    must(["ip", "-n", b, "addr", "add", "10.254.91.2/24", "dev", "nbtb0"]);
    for (const [ns, dev] of [
        [a, "nbta0"],
        [b, "nbtb0"],
    ])
        for (const d of [dev, "lo"]) must(["ip", "-n", ns, "link", "set", d, "up"]);
}

interface Samples {
    /** Wall seconds per tool invocation, keyed in the order they run. */
    walls: Record<string, number[]>;
    phases: Record<string, number>[];
    crr: { timed: number[]; counted: number[]; timedRemoteCpu: number[]; countedRemoteCpu: number[] };
}

/** One run of every tool from namespace `b`, its times added to `samples`. */
async function oneRun(b: string, srv: string, duration: number, { walls, phases, crr }: Samples): Promise<void> {
    const np = (test: "TCP_RR" | "TCP_CRR" | "UDP_RR", transactions?: number) =>
        netperfArgv({ server: srv, port: 12998, test, duration, requestSize: 1, responseSize: 1, transactions });
    const noCpu = (argv: string[]) => argv.filter((w) => w !== "-c" && w !== "-C");
    const add = (k: string, v: number) => (walls[k] ??= []).push(v);
    add("iperf3 TCP", (await timed(b, iperf3Argv({ server: srv, port: 5998, duration }))).wall);
    add("ping 100 x 10 ms", (await timed(b, pingArgv({ target: srv, count: 100, interval: 0.01, size: 56 }))).wall);
    const s = await timed(b, sockperfArgv({ mode: "ping-pong", server: srv, port: 11998, duration, tcp: true, messageSize: 64 }));
    add("sockperf ping-pong TCP", s.wall);
    phases.push(sockperfPhases(s.lines, s.wall));
    add("netperf TCP_RR -c -C", (await timed(b, np("TCP_RR"))).wall);
    add("netperf TCP_RR", (await timed(b, noCpu(np("TCP_RR")))).wall);
    add("netperf UDP_RR -c -C", (await timed(b, np("UDP_RR"))).wall);
    const t = await timed(b, np("TCP_CRR"));
    add("netperf TCP_CRR timed", t.wall);
    const tr = parseNetperf(t.out);
    crr.timed.push(tr.transactionsPerSecond);
    crr.timedRemoteCpu.push(tr.remoteCpuPercent ?? NaN);
    const c = await timed(b, np("TCP_CRR", Math.round(tr.transactionsPerSecond * duration)));
    add("netperf TCP_CRR counted", c.wall);
    const cr = parseNetperf(c.out);
    crr.counted.push(cr.transactionsPerSecond);
    crr.countedRemoteCpu.push(cr.remoteCpuPercent ?? NaN);
}

/** Prints each tool's wall time beyond nominal, sockperf's phases and TCP_CRR counted against timed; returns the figures. */
function report({ walls, phases, crr }: Samples, runs: number, duration: number): Record<string, unknown> {
    console.log(`\n${runs} runs each, nominal ${duration} s (ping: 1 s), two namespaces over a veth; wall seconds, median [all]`);
    const overhead: Record<string, number> = {};
    for (const [k, v] of Object.entries(walls)) {
        const nominal = k.startsWith("ping") ? 1 : duration;
        overhead[k] = +(median(v) - nominal).toFixed(3);
        console.log(
            `${k.padEnd(26)} ${median(v).toFixed(2).padStart(6)}  beyond nominal ${overhead[k].toFixed(2).padStart(5)}  [${v.map((x) => x.toFixed(2)).join(", ")}]`,
        );
    }
    const ph = Object.fromEntries(Object.keys(phases[0]).map((k) => [k, +median(phases.map((p) => p[k])).toFixed(3)]));
    console.log(
        `sockperf phases, median s: ${Object.entries(ph)
            .map(([k, v]) => `${k} ${v.toFixed(2)}`)
            .join(", ")}`,
    );
    const ratio = median(crr.counted) / median(crr.timed);
    console.log(
        `TCP_CRR rate, counted / timed: ${ratio.toFixed(3)} (medians ${median(crr.counted).toFixed(0)} / ${median(crr.timed).toFixed(0)} Trans/s; pairs ${crr.counted.map((x, k) => (x / crr.timed[k]).toFixed(3)).join(", ")})`,
    );
    console.log(
        `TCP_CRR remote CPU %, timed [${crr.timedRemoteCpu.map((x) => x.toFixed(0)).join(", ")}], counted [${crr.countedRemoteCpu.map((x) => x.toFixed(0)).join(", ")}]`,
    );
    return { runs, duration, wallSeconds: walls, overheadSeconds: overhead, sockperfPhases: ph, crr: { ...crr, countedOverTimed: ratio } };
}
