// Reads a provider trace (providers/runtime/trace.ts: one JSON event per line) into where an engine
// operation's wall time went: plugin start, provider calls, processes spawned, and the time no
// provider call was running (the engine's own work). Pure.

export interface TraceEvent {
    ev: "start" | "call" | "spawn" | "ipbatch";
    pid: number;
    /** ms since the epoch */
    t0: number;
    t1: number;
    op?: string;
    urn?: string;
    argv?: string[];
    stdinLines?: number;
    ok?: boolean;
    /** On calls: the plugin's CPU time so far, its own and its finished children's (ms). */
    cpuMs?: number;
    childCpuMs?: number;
}

export function parseTrace(text: string): TraceEvent[] {
    return text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l, k) => {
            try {
                return JSON.parse(l) as TraceEvent;
            } catch (e) {
                throw new Error(`provider trace line ${k + 1} is not JSON (${(e as Error).message}): ${l.slice(0, 120)}`);
            }
        });
}

/** Total length covered by a set of [start, end] intervals (overlaps counted once). */
export function unionMs(intervals: readonly (readonly [number, number])[]): number {
    const s = [...intervals].filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
    let total = 0;
    let cur: [number, number] | undefined;
    for (const [a, b] of s) {
        if (!cur || a > cur[1]) {
            if (cur) total += cur[1] - cur[0];
            cur = [a, b];
        } else cur[1] = Math.max(cur[1], b);
    }
    return cur ? total + cur[1] - cur[0] : total;
}

/** The most intervals open at one time. */
export function maxOverlap(intervals: readonly (readonly [number, number])[]): number {
    const edges = intervals.flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const]).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    let open = 0;
    let max = 0;
    for (const [, d] of edges) max = Math.max(max, (open += d));
    return max;
}

interface OpStats {
    count: number;
    /** Sum of the calls' durations (concurrent calls each count in full). */
    sumMs: number;
    /** Time at least one such call was running. */
    busyMs: number;
    maxMs: number;
    maxInFlight: number;
}

export interface TraceSummary {
    /** The operation's wall time: `to - from`. */
    wallMs: number;
    /** From `from` until the (first) plugin process started, and until it was ready to serve. */
    pluginSpawnMs?: number;
    pluginReadyMs?: number;
    /** From `from` to the first provider call's start; from the last call's end to `to`. */
    beforeFirstCallMs?: number;
    afterLastCallMs?: number;
    ops: Record<string, OpStats>;
    /** Time at least one provider call was running, between `from` and `to`. */
    providerBusyMs: number;
    /** Wall time with no provider call running: the engine's own work (and program, plugin start). */
    engineOnlyMs: number;
    spawns: number;
    /** Time at least one spawned process was running. */
    spawnBusyMs: number;
    /** `ip ... -batch -` processes and the command lines they carried (each with its sentinel line). */
    ipBatches: number;
    ipBatchLines: number;
    /** Spawns by their command (argv[0], or the command after `ip netns exec NS`). */
    spawnsByCommand: Record<string, number>;
    /** The plugin's CPU time up to its last call inside the operation: its own, and its processes'. */
    pluginCpuMs?: number;
    pluginChildCpuMs?: number;
}

function stats(iv: [number, number][]): OpStats {
    const d = iv.map(([a, b]) => b - a);
    return { count: iv.length, sumMs: d.reduce((a, b) => a + b, 0), busyMs: unionMs(iv), maxMs: d.length ? Math.max(...d) : 0, maxInFlight: maxOverlap(iv) };
}

function commandOf(argv: readonly string[]): string {
    if (argv[0] === "setpriv") return commandOf(argv.slice(argv.indexOf("--") + 1));
    if (argv[0] === "ip" && argv[1] === "netns" && argv[2] === "exec") return argv[4] ?? "ip netns exec";
    if (argv[0] === "ip") return argv.includes("-batch") ? "ip -batch" : "ip";
    return argv[0] ?? "";
}

/** Where the wall time between `from` and `to` (ms since the epoch) went, from the events inside it. */
export function summarizeTrace(events: readonly TraceEvent[], from: number, to: number): TraceSummary {
    const inside = events.filter((e) => e.t1 >= from && e.t0 <= to);
    const clip = (e: TraceEvent): [number, number] => [Math.max(e.t0, from), Math.min(e.t1, to)];
    const calls = inside.filter((e) => e.ev === "call");
    const spawns = inside.filter((e) => e.ev === "spawn");
    const starts = inside.filter((e) => e.ev === "start").sort((a, b) => a.t0 - b.t0);
    const byOp = new Map<string, [number, number][]>();
    for (const c of calls) byOp.set(c.op ?? "?", [...(byOp.get(c.op ?? "?") ?? []), clip(c)]);
    const spawnsByCommand: Record<string, number> = {};
    for (const s of spawns) {
        const c = commandOf(s.argv ?? []);
        spawnsByCommand[c] = (spawnsByCommand[c] ?? 0) + 1;
    }
    // A batch is an `ip -batch` process given its lines at start, or one written to a long-lived one.
    const batches = [...spawns.filter((s) => (s.argv ?? []).includes("-batch") && (s.stdinLines ?? 0) > 0), ...inside.filter((e) => e.ev === "ipbatch")];
    const providerBusyMs = unionMs(calls.map(clip));
    // Cumulative per plugin process: the last call of each process has its total.
    const lastByPid = new Map<number, TraceEvent>();
    for (const c of calls) if (c.cpuMs !== undefined && (lastByPid.get(c.pid)?.t1 ?? -Infinity) < c.t1) lastByPid.set(c.pid, c);
    const cpu = (k: "cpuMs" | "childCpuMs") => (lastByPid.size ? [...lastByPid.values()].reduce((a, c) => a + (c[k] ?? 0), 0) : undefined);
    return {
        wallMs: to - from,
        pluginSpawnMs: starts.length ? starts[0].t0 - from : undefined,
        pluginReadyMs: starts.length ? starts[0].t1 - from : undefined,
        beforeFirstCallMs: calls.length ? Math.min(...calls.map((c) => c.t0)) - from : undefined,
        afterLastCallMs: calls.length ? to - Math.max(...calls.map((c) => c.t1)) : undefined,
        ops: Object.fromEntries([...byOp].map(([op, iv]) => [op, stats(iv)])),
        providerBusyMs,
        engineOnlyMs: to - from - providerBusyMs,
        spawns: spawns.length,
        spawnBusyMs: unionMs(spawns.map(clip)),
        ipBatches: batches.length,
        // Every command line is followed by its sentinel line (core/ipbatch.ts).
        ipBatchLines: batches.reduce((a, s) => a + (s.stdinLines ?? 0) / 2, 0),
        spawnsByCommand,
        pluginCpuMs: cpu("cpuMs"),
        pluginChildCpuMs: cpu("childCpuMs"),
    };
}
