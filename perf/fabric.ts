// Fabric provisioning (figure 2): `pulumi up` / `pulumi destroy` of a host, a bridge and N taps,
// against a plain sequential script issuing the same ip commands, measured side by side in one run,
// with where netbed's time goes: the provider's own trace (NETBED_TRACE, providers/runtime/trace.ts) gives
// the plugin's start, every provider call and every process it spawned; a no-op `up` gives the
// engine's floor for the stack; an `up` with PULUMI_SKIP_CHECKPOINTS=true (a measurement only: it
// gives up crash safety) gives what the file backend's per-step snapshot rewrites cost.
// Run: npm run bench -- fabric   (or: npm run bench -- provisioning)
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { procStatCpu } from "../core/procstat";
import { type TraceSummary, parseTrace, summarizeTrace } from "../core/provtrace";
import { openStack } from "../scripts/engine";
import { machine } from "./machine";

/** CPU ms of this process (the inline program and the Automation API) and of its waited-for children (the CLI, and through it the plugin and its processes). */
function cpuNow(): { selfMs: number; childrenMs: number } {
    return procStatCpu(fs.readFileSync("/proc/self/stat", "utf8"));
}

function ip(args: string[]): void {
    const r = spawnSync("ip", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

/** The same kernel work netbed does for the stack, as a plain script would do it (no observation). */
function rawScript(ns: string, n: number): { upMs: number; downMs: number; spawns: number; upCpuMs: number } {
    const c0 = cpuNow();
    const t0 = Date.now();
    ip(["netns", "add", ns]);
    ip(["-n", ns, "link", "set", "lo", "up"]);
    ip(["-n", ns, "link", "add", "name", "br0", "type", "bridge", "stp_state", "0"]);
    ip(["-n", ns, "link", "set", "br0", "up"]);
    for (let i = 0; i < n; i++) {
        ip(["-n", ns, "tuntap", "add", "dev", `tap${i}`, "mode", "tap", "vnet_hdr"]);
        ip(["-n", ns, "link", "set", "dev", `tap${i}`, "master", "br0", "up"]);
    }
    const upMs = Date.now() - t0;
    const c1 = cpuNow();
    const t1 = Date.now();
    for (let i = 0; i < n; i++) ip(["-n", ns, "link", "del", `tap${i}`]);
    ip(["-n", ns, "link", "del", "br0"]);
    ip(["netns", "del", ns]);
    return { upMs, downMs: Date.now() - t1, spawns: 4 + 2 * n, upCpuMs: c1.childrenMs - c0.childrenMs + c1.selfMs - c0.selfMs };
}

interface Timed {
    ms: number;
    trace: TraceSummary;
    /** CPU ms spent by the engine CLI (children minus the plugin's share), the plugin, its processes, and this process (the program). */
    cpu: { engineMs?: number; pluginMs?: number; pluginProcessesMs?: number; programMs: number };
}

async function netbed(ns: string, n: number, backend: string): Promise<{ up: Timed; noop: Timed; down: Timed; upNoCheckpoint: Timed; upParallel: Timed }> {
    process.env.PULUMI_BACKEND_URL = `file://${backend}`;
    process.env.PULUMI_CONFIG_PASSPHRASE = "bench";
    const traceFile = path.join(backend, `trace-${n}.jsonl`);
    // The engine passes its environment to the plugin it starts.
    process.env.NETBED_TRACE = traceFile;
    const dir = path.join(__dirname, "fixtures", "taps");
    const name = `b${n}x${process.pid}`;
    const stack = await openStack({ stack: name, dir });
    const timed = async (f: () => Promise<unknown>): Promise<Timed> => {
        fs.rmSync(traceFile, { force: true });
        const c0 = cpuNow();
        const t0 = Date.now();
        await f();
        const t1 = Date.now();
        const c1 = cpuNow();
        const events = fs.existsSync(traceFile) ? parseTrace(fs.readFileSync(traceFile, "utf8")) : [];
        const trace = summarizeTrace(events, t0, t1);
        const plugin = trace.pluginCpuMs === undefined ? undefined : trace.pluginCpuMs + (trace.pluginChildCpuMs ?? 0);
        const children = c1.childrenMs - c0.childrenMs;
        return {
            ms: t1 - t0,
            trace,
            cpu: {
                engineMs: plugin === undefined ? undefined : children - plugin,
                pluginMs: trace.pluginCpuMs,
                pluginProcessesMs: trace.pluginChildCpuMs,
                programMs: c1.selfMs - c0.selfMs,
            },
        };
    };
    try {
        await stack.setConfig("namespace", { value: ns });
        await stack.setConfig("taps", { value: String(n) });
        const up = await timed(() => stack.up({ color: "never" }));
        const noop = await timed(() => stack.up({ color: "never" }));
        const down = await timed(() => stack.destroy({ color: "never" }));
        // Measurement only: without checkpoints a crash mid-up loses what was created.
        process.env.PULUMI_SKIP_CHECKPOINTS = "true";
        let upNoCheckpoint: Timed;
        try {
            upNoCheckpoint = await timed(() => stack.up({ color: "never" }));
        } finally {
            delete process.env.PULUMI_SKIP_CHECKPOINTS;
        }
        await stack.destroy({ color: "never" });
        // The engine's default is 4 operations per CPU (8 here); every create at once instead.
        const upParallel = await timed(() => stack.up({ color: "never", parallel: n + 2 }));
        await stack.destroy({ color: "never" });
        await stack.workspace.removeStack(name);
        return { up, noop, down, upNoCheckpoint, upParallel };
    } finally {
        delete process.env.NETBED_TRACE;
        delete process.env.PULUMI_SKIP_CHECKPOINTS;
        fs.rmSync(path.join(dir, `Pulumi.${name}.yaml`), { force: true });
        spawnSync("ip", ["netns", "del", ns]);
    }
}

const s = (ms: number | undefined) => (ms === undefined ? "-" : (ms / 1000).toFixed(1));

export async function main(sizes = [8, 16, 32, 64]): Promise<Record<string, unknown>> {
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-bench-"));
    const rows: Record<string, unknown>[] = [];
    console.log(machine());
    try {
        for (const n of sizes) rows.push(await sizeRow(n, backend));
    } finally {
        fs.rmSync(backend, { recursive: true, force: true });
    }
    printTable(rows as unknown as Row[]);
    const first = rows[0] as any;
    const last = rows[rows.length - 1] as any;
    const growth = (last.netbedUpMs - first.netbedUpMs) / (last.taps - first.taps);
    const rawGrowth = (last.rawUpMs - first.rawUpMs) / (last.taps - first.taps);
    console.log(
        `netbed up grows ${growth.toFixed(0)} ms per extra tap between ${first.taps} and ${last.taps} taps (x${(last.netbedUpMs / first.netbedUpMs).toFixed(2)} time for x${last.taps / first.taps} taps); the raw script ${rawGrowth.toFixed(1)} ms per tap`,
    );
    console.log(
        `at ${last.taps} taps netbed's up is ${(last.netbedUpMs / last.rawUpMs).toFixed(2)} x the raw script (target <= 2); ` +
            `minus the engine's floor (its no-op up of the same stack) ${last.upMinusNoopRatio} x; the provider's calls were running for ${s(last.up.providerBusyMs)} s of ${s(last.netbedUpMs)} s`,
    );
    return { rows, msPerExtraTap: growth, rawMsPerExtraTap: rawGrowth };
}

/** netbed and the raw script with `n` taps: their times side by side, printed on one line. */
async function sizeRow(n: number, backend: string) {
    // The script runs before and after netbed; its mean is the reference, so load that
    // changes during netbed's run weighs on both sides alike.
    const rawBefore = rawScript(`nbb-raw-${process.pid}`, n);
    const nb = await netbed(`nbb-nb-${process.pid}`, n, backend);
    const rawAfter = rawScript(`nbb-raw-${process.pid}`, n);
    const rawUpMs = (rawBefore.upMs + rawAfter.upMs) / 2;
    const row = {
        taps: n,
        resources: n + 2,
        rawUpMs,
        rawUpMsEach: [rawBefore.upMs, rawAfter.upMs],
        rawDestroyMs: (rawBefore.downMs + rawAfter.downMs) / 2,
        rawSpawns: rawBefore.spawns,
        rawUpCpuMs: (rawBefore.upCpuMs + rawAfter.upCpuMs) / 2,
        upCpu: nb.up.cpu,
        noopCpu: nb.noop.cpu,
        netbedUpMs: nb.up.ms,
        netbedNoopUpMs: nb.noop.ms,
        netbedDestroyMs: nb.down.ms,
        netbedUpNoCheckpointMs: nb.upNoCheckpoint.ms,
        netbedUpParallelMs: nb.upParallel.ms,
        upRatio: +(nb.up.ms / rawUpMs).toFixed(2),
        upMinusNoopRatio: +((nb.up.ms - nb.noop.ms) / rawUpMs).toFixed(2),
        up: nb.up.trace,
        noop: nb.noop.trace,
        destroy: nb.down.trace,
        upParallel: nb.upParallel.trace,
    };
    printSize(n, nb, rawBefore.upMs, rawAfter.upMs, row);
    return row;
}

function printSize(
    n: number,
    nb: Awaited<ReturnType<typeof netbed>>,
    rawBeforeMs: number,
    rawAfterMs: number,
    row: { rawDestroyMs: number; rawSpawns: number },
): void {
    const t = nb.up.trace;
    const create = t.ops.create ?? { count: 0, sumMs: 0, busyMs: 0, maxMs: 0, maxInFlight: 0 };
    console.log(
        `taps=${n}: netbed up ${s(nb.up.ms)} s (no-op up ${s(nb.noop.ms)} s, up without checkpoints ${s(nb.upNoCheckpoint.ms)} s, up --parallel ${n + 2} ${s(nb.upParallel.ms)} s), destroy ${s(nb.down.ms)} s; ` +
            `raw script up ${rawBeforeMs}/${rawAfterMs} ms (before/after), teardown ${row.rawDestroyMs} ms; ` +
            `up: plugin ready at ${s(t.pluginReadyMs)} s, first call at ${s(t.beforeFirstCallMs)} s, last call ended ${s(t.afterLastCallMs)} s before the end; ` +
            `provider busy ${s(t.providerBusyMs)} s, creates ${create.count} (sum ${s(create.sumMs)} s, busy ${s(create.busyMs)} s, max ${create.maxMs.toFixed(0)} ms, ${create.maxInFlight} at once); ` +
            `spawns ${t.spawns} (${Object.entries(t.spawnsByCommand)
                .map(([k, v]) => `${k} ${v}`)
                .join(
                    ", ",
                )}; ${t.ipBatches} ip batches of ${t.ipBatches ? (t.ipBatchLines / t.ipBatches).toFixed(1) : 0} commands), raw script ${row.rawSpawns}`,
    );
}

interface Row {
    taps: number;
    rawUpMs: number;
    rawUpCpuMs: number;
    rawSpawns: number;
    netbedUpMs: number;
    netbedNoopUpMs: number;
    netbedUpNoCheckpointMs: number;
    netbedUpParallelMs: number;
    up: TraceSummary;
    upCpu: Timed["cpu"];
}

/** The breakdown of each `up`, in seconds: where netbed's wall and CPU time went next to the script's. */
function printTable(rows: Row[]): void {
    const head = [
        "taps",
        "raw up",
        "netbed up",
        "ratio",
        "no-op up",
        "no ckpt",
        "parallel",
        "plugin ready",
        "1st call",
        "provider busy",
        "engine only",
        "in flight",
        "spawns",
        "raw",
        "batches",
        "cpu engine",
        "plugin",
        "its procs",
        "program",
        "raw cpu",
    ];
    const body = rows.map((r) => [
        String(r.taps),
        s(r.rawUpMs),
        s(r.netbedUpMs),
        (r.netbedUpMs / r.rawUpMs).toFixed(2),
        s(r.netbedNoopUpMs),
        s(r.netbedUpNoCheckpointMs),
        s(r.netbedUpParallelMs),
        s(r.up.pluginReadyMs),
        s(r.up.beforeFirstCallMs),
        s(r.up.providerBusyMs),
        s(r.up.engineOnlyMs),
        String(r.up.ops.create?.maxInFlight ?? 0),
        String(r.up.spawns),
        String(r.rawSpawns),
        String(r.up.ipBatches),
        s(r.upCpu.engineMs),
        s(r.upCpu.pluginMs),
        s(r.upCpu.pluginProcessesMs),
        s(r.upCpu.programMs),
        s(r.rawUpCpuMs),
    ]);
    const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k].length)));
    console.log(
        "\nup breakdown, s: no-op up = the engine's floor for the stack; no ckpt = up with PULUMI_SKIP_CHECKPOINTS=true; parallel = up --parallel taps+2;\n" +
            "plugin ready / 1st call = from the up's start; engine only = wall time with no provider call running; in flight = most creates at once;\n" +
            "spawns = processes the provider started (raw = the script's); cpu: the engine CLI, the plugin, its processes, this process (the program)",
    );
    for (const line of [head, ...body]) console.log(line.map((c, k) => c.padStart(w[k])).join("  "));
}
