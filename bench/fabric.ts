// Fabric provisioning (figure 2): `pulumi up` / `pulumi destroy` of a host, a bridge and N taps,
// against a plain sequential script issuing the same ip commands, measured side by side in one run,
// with where netbed's time goes: the provider's own trace (NETBED_TRACE, providers/trace.ts) gives
// the plugin's start, every provider call and every process it spawned; a no-op `up` gives the
// engine's floor for the stack; an `up` with PULUMI_SKIP_CHECKPOINTS=true (a measurement only: it
// gives up crash safety) gives what the file backend's per-step snapshot rewrites cost.
// Run: npm run bench -- fabric   (or: npm run bench -- provisioning)
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TraceSummary, parseTrace, summarizeTrace } from "../core/provtrace";
import { openStack } from "../scripts/engine";
import { machine } from "./machine";

function ip(args: string[]): void {
    const r = spawnSync("ip", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

/** The same kernel work netbed does for the stack, as a plain script would do it (no observation). */
function rawScript(ns: string, n: number): { upMs: number; downMs: number; spawns: number } {
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
    const t1 = Date.now();
    for (let i = 0; i < n; i++) ip(["-n", ns, "link", "del", `tap${i}`]);
    ip(["-n", ns, "link", "del", "br0"]);
    ip(["netns", "del", ns]);
    return { upMs, downMs: Date.now() - t1, spawns: 4 + 2 * n };
}

interface Timed {
    ms: number;
    trace: TraceSummary;
}

async function netbed(ns: string, n: number, backend: string): Promise<{ up: Timed; noop: Timed; down: Timed; upNoCheckpointMs: number }> {
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
        const t0 = Date.now();
        await f();
        const t1 = Date.now();
        const events = fs.existsSync(traceFile) ? parseTrace(fs.readFileSync(traceFile, "utf8")) : [];
        return { ms: t1 - t0, trace: summarizeTrace(events, t0, t1) };
    };
    try {
        await stack.setConfig("namespace", { value: ns });
        await stack.setConfig("taps", { value: String(n) });
        const up = await timed(() => stack.up({ color: "never" }));
        const noop = await timed(() => stack.up({ color: "never" }));
        const down = await timed(() => stack.destroy({ color: "never" }));
        delete process.env.NETBED_TRACE;
        process.env.PULUMI_SKIP_CHECKPOINTS = "true";
        let upNoCheckpointMs: number;
        try {
            const t0 = Date.now();
            await stack.up({ color: "never" });
            upNoCheckpointMs = Date.now() - t0;
        } finally {
            delete process.env.PULUMI_SKIP_CHECKPOINTS;
        }
        await stack.destroy({ color: "never" });
        await stack.workspace.removeStack(name);
        return { up, noop, down, upNoCheckpointMs };
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
        for (const n of sizes) {
            // The script runs before and after netbed; its mean is the reference, so load that
            // changes during netbed's run weighs on both sides alike.
            const rawBefore = rawScript(`nbb-raw-${process.pid}`, n);
            const nb = await netbed(`nbb-nb-${process.pid}`, n, backend);
            const rawAfter = rawScript(`nbb-raw-${process.pid}`, n);
            const rawUpMs = (rawBefore.upMs + rawAfter.upMs) / 2;
            const t = nb.up.trace;
            const create = t.ops.create ?? { count: 0, sumMs: 0, busyMs: 0, maxMs: 0, maxInFlight: 0 };
            const row = {
                taps: n,
                resources: n + 2,
                rawUpMs,
                rawUpMsEach: [rawBefore.upMs, rawAfter.upMs],
                rawDestroyMs: (rawBefore.downMs + rawAfter.downMs) / 2,
                rawSpawns: rawBefore.spawns,
                netbedUpMs: nb.up.ms,
                netbedNoopUpMs: nb.noop.ms,
                netbedDestroyMs: nb.down.ms,
                netbedUpNoCheckpointMs: nb.upNoCheckpointMs,
                upRatio: +(nb.up.ms / rawUpMs).toFixed(2),
                upMinusNoopRatio: +((nb.up.ms - nb.noop.ms) / rawUpMs).toFixed(2),
                up: t,
                noop: nb.noop.trace,
                destroy: nb.down.trace,
            };
            rows.push(row);
            console.log(
                `taps=${n}: netbed up ${s(nb.up.ms)} s (no-op up ${s(nb.noop.ms)} s, up without checkpoints ${s(nb.upNoCheckpointMs)} s), destroy ${s(nb.down.ms)} s; ` +
                    `raw script up ${rawBefore.upMs}/${rawAfter.upMs} ms (before/after), teardown ${row.rawDestroyMs} ms; ` +
                    `up: plugin ready at ${s(t.pluginReadyMs)} s, first call at ${s(t.beforeFirstCallMs)} s, last call ended ${s(t.afterLastCallMs)} s before the end; ` +
                    `provider busy ${s(t.providerBusyMs)} s, creates ${create.count} (sum ${s(create.sumMs)} s, busy ${s(create.busyMs)} s, max ${create.maxMs.toFixed(0)} ms, ${create.maxInFlight} at once); ` +
                    `spawns ${t.spawns} (${Object.entries(t.spawnsByCommand).map(([k, v]) => `${k} ${v}`).join(", ")}; ${t.ipBatches} ip batches of ${t.ipBatches ? (t.ipBatchLines / t.ipBatches).toFixed(1) : 0} commands), raw script ${row.rawSpawns}`,
            );
        }
    } finally {
        fs.rmSync(backend, { recursive: true, force: true });
    }
    printTable(rows as any[]);
    const first = rows[0] as any;
    const last = rows[rows.length - 1] as any;
    const growth = (last.netbedUpMs - first.netbedUpMs) / (last.taps - first.taps);
    const rawGrowth = (last.rawUpMs - first.rawUpMs) / (last.taps - first.taps);
    console.log(`netbed up grows ${growth.toFixed(0)} ms per extra tap between ${first.taps} and ${last.taps} taps (x${(last.netbedUpMs / first.netbedUpMs).toFixed(2)} time for x${last.taps / first.taps} taps); the raw script ${rawGrowth.toFixed(1)} ms per tap`);
    console.log(
        `at ${last.taps} taps netbed's up is ${(last.netbedUpMs / last.rawUpMs).toFixed(2)} x the raw script (target <= 2); ` +
            `minus the engine's floor (its no-op up of the same stack) ${last.upMinusNoopRatio} x; the provider's calls were running for ${s(last.up.providerBusyMs)} s of ${s(last.netbedUpMs)} s`,
    );
    return { rows, msPerExtraTap: growth, rawMsPerExtraTap: rawGrowth };
}

/** The breakdown of each `up`, in seconds: where netbed's wall time went next to the script's. */
function printTable(rows: { taps: number; rawUpMs: number; rawSpawns: number; netbedUpMs: number; netbedNoopUpMs: number; netbedUpNoCheckpointMs: number; up: TraceSummary }[]): void {
    const head = ["taps", "raw up", "netbed up", "ratio", "no-op up", "up no ckpt", "plugin ready", "1st call", "provider busy", "engine only", "create sum", "in flight", "spawns", "raw spawns", "batches"];
    const body = rows.map((r) => [
        String(r.taps),
        s(r.rawUpMs),
        s(r.netbedUpMs),
        (r.netbedUpMs / r.rawUpMs).toFixed(2),
        s(r.netbedNoopUpMs),
        s(r.netbedUpNoCheckpointMs),
        s(r.up.pluginReadyMs),
        s(r.up.beforeFirstCallMs),
        s(r.up.providerBusyMs),
        s(r.up.engineOnlyMs),
        s(r.up.ops.create?.sumMs),
        String(r.up.ops.create?.maxInFlight ?? 0),
        String(r.up.spawns),
        String(r.rawSpawns),
        String(r.up.ipBatches),
    ]);
    const w = head.map((h, k) => Math.max(h.length, ...body.map((b) => b[k].length)));
    console.log("\nup breakdown (s; 'engine only' = wall time with no provider call running; 'in flight' = most creates at once)");
    for (const line of [head, ...body]) console.log(line.map((c, k) => c.padStart(w[k])).join("  "));
}
