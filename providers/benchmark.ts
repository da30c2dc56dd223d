// BenchmarkRun: runs the test matrix over client/server pairs, interleaved, with CPU accounting;
// writes each measurement's raw output as soon as it exists, resumes an interrupted run, and
// exports the typed results document.
import { createHash } from "crypto";
import { promises as fs } from "fs";
import * as path from "path";
import { AGENT_PORT, agentRequest, parseAgentReply } from "../core/agent";
import { writeReport } from "./report";
import { Cell, Step, expandCells, schedule } from "../core/bench/spec";
import { CellResult, Cpu, RESULTS_VERSION, ResultsDoc, summarizeResults } from "../core/bench/results";
import { measure, Measurement, nominalSeconds, serverPorts, SERVER_ARGV, ServerName, serversFor, GUEST_PORTS, Ports } from "../core/bench/measure";
import { cpuSeconds, processCpuSeconds, summarize, knee } from "../core/bench/stats";
import { kernelLabel } from "../core/bench/results";
import { exitsPerSecond, GuestStats, probeGuestStats, sampleExits } from "./guest-stats";
import { OverheadStep, overheadReport } from "../core/bench/overhead";
import type { HostConnection } from "../schema/host";
import { BenchmarkRunArgsSchema, BenchmarkRunInputs, Endpoint } from "../schema/benchmark";
import { machineOf } from "../core/placement";
import { probeHost } from "./host";
import { Ctx, ResourceHandler } from "./resource";
import { RunResult, Transport, hostTransport } from "./transport";

// Runs in one provider process never overlap: two runs at once would measure each other.
let queue: Promise<unknown> = Promise.resolve();
function exclusive<T>(f: () => Promise<T>): Promise<T> {
    const next = queue.then(f, f);
    queue = next.catch(() => undefined);
    return next;
}

export function endpointLabel(e: Endpoint): string {
    return e.kind === "vm" ? e.name : e.host.name;
}

/** Runs a client program at an endpoint: on a host through its transport, in a guest through its agent. */
async function runAt(ctx: Ctx, e: Endpoint, argv: string[], timeoutSeconds: number): Promise<RunResult> {
    if (e.kind === "host") return hostTransport(ctx, e.host).run(argv, { timeoutMs: timeoutSeconds * 1000, check: false });
    const via = hostTransport(ctx, e.via);
    // The agent bounds the program; the connection gets a little longer to deliver the reply.
    const r = await via.run(["busybox", "nc", "-w", "10", e.address, String(AGENT_PORT)], {
        stdin: agentRequest(argv, Math.ceil(timeoutSeconds)),
        timeoutMs: (timeoutSeconds + 20) * 1000,
        check: false,
    });
    try {
        return parseAgentReply(Buffer.from(r.stdout));
    } catch (err) {
        throw new Error(`guest ${e.name} (${e.address}, reached from host ${e.via.name}): ${(err as Error).message}${r.stderr.trim() ? `; nc: ${r.stderr.trim()}` : ""}`);
    }
}

interface RunningServer {
    name: ServerName;
    done: Promise<RunResult>;
}

/** Starts the servers a host endpoint needs, waits until they listen, returns a stopper. */
async function startServers(ctx: Ctx, e: Endpoint & { kind: "host" }, ports: Ports, names: ServerName[]): Promise<() => Promise<void>> {
    const t = hostTransport(ctx, e.host);
    const ctl = new AbortController();
    const running: RunningServer[] = [];
    const stop = async () => {
        ctl.abort();
        await Promise.all(running.map((s) => s.done.catch(() => undefined)));
    };
    try {
        const busy = await listening(t);
        for (const n of names) {
            const port = ports[n];
            if (busy.has(port)) throw new Error(`on host ${t.label}: port ${port} for the ${n} server is already in use`);
        }
        for (const n of names) {
            for (const argv of SERVER_ARGV[n](e.address!, ports[n])) {
                // Bounded: a server outlives no run by more than a day even if this process dies.
                const done = t.run(["timeout", "86400", ...argv], { signal: ctl.signal, timeoutMs: 86_400_000, check: false });
                running.push({ name: n, done });
            }
        }
        const deadline = Date.now() + 15_000;
        for (;;) {
            const open = await listening(t);
            const missing = names.filter((n) => !open.has(ports[n]));
            if (missing.length === 0) break;
            const exited = await Promise.race([Promise.all(running.map((s) => s.done)).then(() => true), sleep(200).then(() => false)]);
            if (exited || Date.now() > deadline) {
                const outs = await Promise.all(running.map(async (s) => ({ s, r: await Promise.race([s.done, sleep(10).then(() => undefined)]) })));
                const why = outs.filter((o) => o.r && missing.includes(o.s.name)).map((o) => `${o.s.name}: ${(o.r!.stderr || o.r!.stdout).trim().slice(-300)}`);
                throw new Error(`on host ${t.label}: ${missing.join(", ")} server(s) did not start listening${why.length ? ` (${why.join("; ")})` : ""}`);
            }
        }
        return stop;
    } catch (err) {
        await stop();
        throw err;
    }
}

async function listening(t: Transport): Promise<Set<number>> {
    const r = await t.run(["ss", "-Htuln"], { timeoutMs: 10_000 });
    const ports = new Set<number>();
    for (const line of r.stdout.split("\n")) {
        const m = /:(\d+)\s/.exec(line.split(/\s+/).slice(4, 5).join(" ") + " ");
        if (m) ports.add(Number(m[1]));
    }
    return ports;
}

function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

interface Sample {
    stat: string;
    pids: Record<number, string>;
}

/** /proc/stat per machine and /proc/<pid>/stat of each VMM, read in one command per machine. */
async function sampleCpu(ctx: Ctx, machines: Map<string, { host: HostConnection; pids: number[] }>): Promise<Map<string, Sample>> {
    const out = new Map<string, Sample>();
    await Promise.all(
        [...machines].map(async ([key, m]) => {
            const pids: Record<number, string> = {};
            if (m.host.kind !== "ssh") {
                // This machine (its namespaces share /proc/stat and the pid space): read the files
                // directly instead of starting a process on each side of every measurement.
                const read = (f: string) => fs.readFile(f, "utf8").catch(() => undefined);
                const [stat, ...per] = await Promise.all([read("/proc/stat"), ...m.pids.map((p) => read(`/proc/${p}/stat`))]);
                m.pids.forEach((p, k) => {
                    if (per[k]) pids[p] = per[k]!.trim();
                });
                out.set(key, { stat: stat ?? "", pids });
                return;
            }
            const r = await hostTransport(ctx, m.host).run(["cat", "/proc/stat", ...m.pids.map((p) => `/proc/${p}/stat`)], { check: false, timeoutMs: 10_000 });
            for (const line of r.stdout.split("\n")) {
                const p = /^(\d+) \(/.exec(line);
                if (p && m.pids.includes(Number(p[1]))) pids[Number(p[1])] = line;
            }
            out.set(key, { stat: r.stdout, pids });
        }),
    );
    return out;
}

function cpuDelta(before: Map<string, Sample>, after: Map<string, Sample>, vmPids: Map<string, { machine: string; pid: number; backend: string }>, gs: GuestStats): Cpu {
    const machines: Cpu["machines"] = {};
    for (const [k, b] of before) {
        const a = after.get(k);
        if (a) machines[k] = cpuSeconds(b.stat, a.stat);
    }
    const vmm: Cpu["vmm"] = {};
    const vhost: Cpu["vhost"] = {};
    const unmeasured: Record<string, string> = {};
    for (const [name, v] of vmPids) {
        const b = before.get(v.machine)?.pids[v.pid];
        const a = after.get(v.machine)?.pids[v.pid];
        if (a && b) vmm[name] = processCpuSeconds(b, a);
        if (v.backend !== "vhost-net") continue;
        // vhost workers (threads of the VMM since Linux 6.4, kthreads before): their own CPU.
        const tids = gs.vhost.get(name) ?? [];
        const pairs = tids.map((t) => [before.get(v.machine)?.pids[t], after.get(v.machine)?.pids[t]]);
        vhost[name] = tids.length > 0 && pairs.every(([x, y]) => x && y) ? pairs.reduce((sum, [x, y]) => sum + processCpuSeconds(x!, y!), 0) : null;
        if (vhost[name] === null) unmeasured[`vhost:${name}`] = gs.unmeasured[`vhost:${name}`] ?? `a vhost worker of ${name} exited during the measurement`;
    }
    return { machines, vmm, vhost, vmExitsPerSecond: null, ...(Object.keys(unmeasured).length ? { unmeasured } : {}) };
}

function withExits(cpu: Cpu, exits: { value: number | null; why?: string }): Cpu {
    if (exits.value !== null) return { ...cpu, vmExitsPerSecond: exits.value };
    return { ...cpu, vmExitsPerSecond: null, unmeasured: { ...cpu.unmeasured, vmExitsPerSecond: exits.why ?? "not measured" } };
}

function sha256(s: string): string {
    return createHash("sha256").update(s).digest("hex");
}

/** Writes a file atomically without following a link planted at its name. */
async function writeFileSafe(file: string, data: string): Promise<void> {
    const tmp = `${file}.tmp-${process.pid}`;
    try {
        await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
        await fs.rm(tmp, { force: true });
        await fs.writeFile(tmp, data, { flag: "wx", mode: 0o644 });
        await fs.rename(tmp, file);
    } catch (e) {
        // A full disk leaves half a temporary file: remove it, and say which file failed.
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw new Error(`could not write ${file}: ${(e as Error).message}`);
    }
}

async function readJson<T>(file: string): Promise<T | undefined> {
    try {
        return JSON.parse(await fs.readFile(file, "utf8")) as T;
    } catch {
        return undefined;
    }
}

interface RepRecord {
    index: number;
    warmup: boolean;
    metrics: Record<string, number>;
    cpu?: Cpu;
    raw: string;
    seconds: number;
    nominal: number;
    /** Latency sweep steps (load test). */
    sweep?: { mps: number; p50us: number; p99us: number }[];
    /** Bytes moved or transactions made, for service demand. */
    volume?: { kb?: number; transactions?: number };
}

function stepKey(s: Step, pairLabel: string): string {
    return `${pairLabel}/${s.cell.id}/${s.warmup ? `warmup-${-s.repetition}` : `rep-${s.repetition + 1}`}`;
}

/** The server end as its client sees it: a guest behind a NAT or on its own loopback is reached at its peer address. */
function served(e: Endpoint): Endpoint {
    return e.kind === "vm" && e.peerAddress ? { ...e, address: e.peerAddress } : e;
}

function defaultTopology(p: BenchmarkRunInputs["pairs"][number]): string {
    const kind = (e: Endpoint) => (e.kind === "vm" ? "guest" : "host");
    return `${kind(p.client)}-${kind(p.server)}`;
}

async function runBenchmark(ctx: Ctx, i: BenchmarkRunInputs): Promise<Record<string, unknown>> {
    const startedAt = Date.now();
    const cells = expandCells(i.tests);
    const steps = schedule(i.pairs.length, cells, i.settings);
    const hash = sha256(JSON.stringify({ pairs: i.pairs, tests: i.tests, settings: i.settings, triggers: i.triggers }));
    const progressFile = path.join(i.resultsDir, "runs", `${ctx.name}.progress.json`);
    const prior = await readJson<{ hash: string; timestamp: string }>(progressFile);
    const resumed = prior?.hash === hash;
    const timestamp = resumed ? prior!.timestamp : new Date(startedAt).toISOString().replace(/[:.]/g, "-");
    if (!resumed) await writeFileSafe(progressFile, JSON.stringify({ hash, timestamp }, null, 2));
    const topo = i.pairs.map((p) => p.topology ?? defaultTopology(p));
    const pairDir = i.pairs.map((p, k) => path.join(topo[k], p.label, timestamp));

    // Every machine involved, and the VMMs whose CPU is accounted.
    const machines = new Map<string, { host: HostConnection; pids: number[] }>();
    const vmPids = new Map<string, { machine: string; pid: number; backend: string }>();
    for (const p of i.pairs) {
        for (const e of [p.client, p.server]) {
            const key = machineOf(e.host);
            const m = machines.get(key) ?? { host: e.host, pids: [] };
            if (e.kind === "vm" && !m.pids.includes(e.pid)) {
                m.pids.push(e.pid);
                vmPids.set(e.name, { machine: key, pid: e.pid, backend: e.backend });
            }
            machines.set(key, m);
        }
    }
    const vmEndpoints = i.pairs.flatMap((p) => [p.client, p.server]).filter((e): e is Endpoint & { kind: "vm" } => e.kind === "vm");
    const guestStats = await probeGuestStats(
        ctx,
        [...new Map(vmEndpoints.map((e) => [e.name, e])).values()].map((e) => ({ name: e.name, host: e.host, pid: e.pid, backend: e.backend, accel: e.accel, driver: e.driver, qmpSocket: e.qmpSocket })),
    );
    for (const [name, tids] of guestStats.vhost) machines.get(vmPids.get(name)!.machine)!.pids.push(...tids);
    const guestsOf = (p: BenchmarkRunInputs["pairs"][number]) => [p.client, p.server].filter((e) => e.kind === "vm").map((e) => (e as { name: string }).name);
    // Where the wall time goes besides measuring (the overhead file next to the document).
    const since = (t0: number) => (Date.now() - t0) / 1000;
    const spent: OverheadStep[] = [];
    let serverSeconds = 0;
    const environmentStarted = Date.now();
    const environment: ResultsDoc["environment"] = { machines: {}, guests: {} };
    const kernels = new Map<string, string>();
    for (const [key, m] of [...machines]) {
        const probe = await probeHost(hostTransport(ctx, m.host));
        const tools: Record<string, string> = {};
        for (const [name, info] of Object.entries(probe.tools)) if (info.version) tools[name] = info.version;
        const sharesKernelWith = probe.bootId ? kernels.get(probe.bootId) : undefined;
        environment.machines[key] = { cpu: probe.cpuModel, cores: probe.cores, memoryMiB: probe.memoryMiB, kernel: probe.kernelRelease, tools, ...(sharesKernelWith ? { sharesKernelWith } : {}) };
        if (sharesKernelWith) {
            // One kernel's /proc/stat read twice would count the same CPU-seconds twice: its VMMs
            // are sampled with the machine that owns the kernel's account.
            machines.get(sharesKernelWith)!.pids.push(...m.pids);
            for (const v of vmPids.values()) if (v.machine === key) v.machine = sharesKernelWith;
            machines.delete(key);
        } else if (probe.bootId) kernels.set(probe.bootId, key);
        for (const p of i.pairs) {
            for (const e of [p.client, p.server]) {
                if (e.kind !== "vm" || machineOf(e.host) !== key) continue;
                const version = e.driver === "qemu" ? `qemu ${probe.tools["qemu-system-x86_64"]?.version ?? "unknown"}` : e.driver;
                environment.guests[e.name] = { vmm: version, accel: e.accel, kernel: kernelLabel(e.kernel), vcpus: e.vcpus, memoryMiB: e.memoryMiB, backend: e.backend };
            }
        }
    }

    const environmentSeconds = since(environmentStarted);

    // Host-side servers, one set per (host, address), on ports of their own.
    const serverPortsOf = new Map<string, Ports>();
    const stops: (() => Promise<void>)[] = [];
    const records = new Map<string, RepRecord>();
    // The rate each pair's cell measured last: a TCP_CRR measurement counts transactions from it (core/bench/measure.ts).
    const lastTps = new Map<string, number>();
    const failed = new Map<string, string>();
    // Pairs whose guest stopped answering on the network: their remaining cells are not attempted.
    const stalled = new Map<string, string>();
    try {
        for (const [k, p] of i.pairs.entries()) {
            if (p.server.kind !== "host") continue;
            const key = `${p.server.host.name}/${p.server.address}`;
            if (serverPortsOf.has(key)) continue;
            const ports = serverPorts(`${ctx.urn}#${key}`);
            serverPortsOf.set(key, ports);
            const names = serversFor(cells);
            ctx.log.info(ctx.urn, `starting ${names.join(", ")} on host ${p.server.host.name} (${p.server.address}) for pair ${p.label} (${k + 1}/${i.pairs.length})`);
            const t0 = Date.now();
            stops.push(await startServers(ctx, p.server, ports, names));
            serverSeconds += since(t0);
        }
        const portsFor = (p: BenchmarkRunInputs["pairs"][number]): Ports =>
            p.server.kind === "host" ? serverPortsOf.get(`${p.server.host.name}/${p.server.address}`)! : GUEST_PORTS;

        let n = 0;
        for (const s of steps) {
            n++;
            const p = i.pairs[s.pair];
            const key = stepKey(s, p.label);
            const cellKey = `${p.label}/${s.cell.id}`;
            if (failed.has(cellKey)) continue;
            if (stalled.has(p.label)) {
                failed.set(cellKey, stalled.get(p.label)!);
                continue;
            }
            const metaFile = path.join(i.resultsDir, pairDir[s.pair], s.cell.id, `${path.basename(key)}.meta.json`);
            const done = resumed ? await readJson<RepRecord>(metaFile) : undefined;
            if (done) {
                records.set(key, done);
                if (done.metrics.tps) lastTps.set(cellKey, done.metrics.tps);
                continue;
            }
            ctx.log.status(ctx.urn, `[${n}/${steps.length}] ${p.label} ${s.cell.id} ${s.warmup ? "warm-up" : `repetition ${s.repetition + 1}/${i.settings.repetitions}`}`);
            let rec: RepRecord | undefined;
            let lastErr: Error | undefined;
            // One retry: a single lost control connection should not cost a cell.
            for (let attempt = 0; attempt < 2 && !rec; attempt++) {
                try {
                    const s0 = Date.now();
                    const before = await sampleCpu(ctx, machines);
                    const exits0 = await sampleExits(ctx, guestStats, guestsOf(p));
                    const t0 = Date.now();
                    const m: Measurement = await measure(s.cell, served(p.server), portsFor(p), i.settings, (argv, secs) => runAt(ctx, p.client, argv, secs), lastTps.get(cellKey));
                    const seconds = (Date.now() - t0) / 1000;
                    const s1 = Date.now();
                    const after = await sampleCpu(ctx, machines);
                    const exits = exitsPerSecond(guestStats, guestsOf(p), exits0, await sampleExits(ctx, guestStats, guestsOf(p)), seconds);
                    const sampling = (t0 - s0) / 1000 + since(s1);
                    const w0 = Date.now();
                    const rawName = `${path.basename(key)}.${m.ext}`;
                    await writeFileSafe(path.join(i.resultsDir, pairDir[s.pair], s.cell.id, rawName), m.raw);
                    rec = {
                        index: s.repetition,
                        warmup: s.warmup,
                        metrics: m.metrics,
                        cpu: withExits(cpuDelta(before, after, vmPids, guestStats), exits),
                        raw: path.join(pairDir[s.pair], s.cell.id, rawName),
                        seconds,
                        nominal: nominalSeconds(s.cell, i.settings),
                        sweep: m.sweep,
                        volume: m.volume,
                    };
                    await writeFileSafe(metaFile, JSON.stringify(rec, null, 1));
                    spent.push({ test: s.cell.test, warmup: s.warmup, seconds, nominal: rec.nominal, cpuSampling: sampling, fileWrites: since(w0) });
                } catch (err) {
                    lastErr = err as Error;
                    const dead = await deadGuests(ctx, p);
                    if (dead.length > 0) {
                        throw new Error(`benchmark ${ctx.name}: ${dead.join(", ")} during cell ${s.cell.id} of pair ${p.label}; finished cells are kept under ${i.resultsDir}: ${lastErr.message}`);
                    }
                }
            }
            if (!rec) {
                failed.set(cellKey, lastErr!.message);
                ctx.log.warn(ctx.urn, `cell ${s.cell.id} of pair ${p.label} failed: ${lastErr!.message}`);
                const silent = await silentGuests(ctx, p);
                if (silent.length > 0) {
                    const why = `${silent.join(", ")} after cell ${s.cell.id} (its VMM is alive: the guest's network stalled); replace the guest to measure this pair`;
                    stalled.set(p.label, why);
                    ctx.log.warn(ctx.urn, `pair ${p.label} skipped from here: ${why}`);
                }
                continue;
            }
            records.set(key, rec);
            if (rec.metrics.tps) lastTps.set(cellKey, rec.metrics.tps);
            if (!s.warmup) ctx.log.info(ctx.urn, `${p.label} ${s.cell.id} rep ${s.repetition + 1}: ${headline(rec.metrics)}`);
        }
    } finally {
        const t0 = Date.now();
        for (const stop of stops) await stop();
        serverSeconds += since(t0);
    }

    const finished = Date.now();
    const results: CellResult[] = [];
    const warnings: string[] = [];
    let measuredSeconds = 0;
    for (const [k, p] of i.pairs.entries()) {
        for (const cell of cells) {
            const cellKey = `${p.label}/${cell.id}`;
            const reps = steps
                .filter((s) => s.pair === k && s.cell.id === cell.id && !s.warmup)
                .map((s) => records.get(stepKey(s, p.label)))
                .filter((r): r is RepRecord => r !== undefined);
            measuredSeconds += reps.reduce((a, r) => a + r.nominal, 0);
            const r = aggregate(p, topo[k], cell, reps, path.join(pairDir[k], cell.id), failed.get(cellKey));
            results.push(r);
            for (const [metric, st] of Object.entries(r.metrics)) {
                if (st.n >= 3 && st.cv > 0.1 && !metric.startsWith("loss") && !metric.startsWith("retransmits")) warnings.push(`${p.label} ${cell.id}: ${metric} varies a lot (CV ${(st.cv * 100).toFixed(1)}%): add repetitions or quiet the machine`);
            }
            const loss = r.metrics.lossPct?.median;
            if (loss !== undefined && loss > 1 && cell.test !== "pps") warnings.push(`${p.label} ${cell.id}: ${loss.toFixed(1)}% packet loss`);
        }
    }
    for (const [name, g] of Object.entries(environment.guests)) {
        if (g.accel === "tcg") warnings.push(`guest ${name} runs under TCG (software emulation): its numbers are not comparable with KVM numbers`);
    }
    for (const [key, m] of Object.entries(environment.machines)) {
        if (m.sharesKernelWith) warnings.push(`machines ${m.sharesKernelWith} and ${key} share one kernel (the same boot id): their CPU time is counted once, under ${m.sharesKernelWith}`);
    }
    for (const [cellKey, why] of failed) warnings.push(`cell ${cellKey} failed: ${why}`);

    const doc: ResultsDoc = {
        version: RESULTS_VERSION,
        run: {
            name: ctx.name,
            started: new Date(startedAt).toISOString(),
            finished: new Date(finished).toISOString(),
            wallSeconds: (finished - startedAt) / 1000,
            measuredSeconds,
            resultsDir: i.resultsDir,
            settings: i.settings,
            order: "interleaved",
        },
        environment,
        cells: results,
        warnings,
    };
    const resultsPath = path.join(i.resultsDir, "runs", `${ctx.name}-${timestamp}.json`);
    await writeFileSafe(resultsPath, JSON.stringify(doc, null, 1));
    // Measurements resumed from an earlier attempt are not in `spent`: the breakdown covers this attempt.
    const overhead = overheadReport(doc.run.wallSeconds, spent, serverSeconds, environmentSeconds);
    await writeFileSafe(overheadPath(resultsPath), JSON.stringify(overhead, null, 1));
    // The report beside the document, also for a partial run (it lists the failed cells). A report
    // that cannot be rendered costs a warning, never the measurements.
    let reportPath = "";
    try {
        reportPath = (await writeReport(doc, { docFile: resultsPath, out: resultsPath.replace(/\.json$/, "-report") })).markdown;
        ctx.log.info(ctx.urn, `report: ${reportPath} (and report.html, SVG charts)`);
    } catch (e) {
        ctx.log.warn(ctx.urn, `the report could not be written (${(e as Error).message}); the results are in ${resultsPath}`);
    }
    if (failed.size > 0 && !i.allowFailedCells) {
        throw new Error(
            `benchmark ${ctx.name}: ${failed.size} cell(s) failed (${[...failed].map(([k, v]) => `${k}: ${v}`).join("; ")}); the other cells are in ${resultsPath}; set allowFailedCells to accept a partial run`,
        );
    }
    await fs.rm(progressFile, { force: true });
    const parts = Object.entries(overhead.seconds).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(", ");
    ctx.log.info(ctx.urn, `benchmark ${ctx.name} finished in ${doc.run.wallSeconds.toFixed(1)} s (${measuredSeconds.toFixed(1)} s measured; ${parts}): ${resultsPath}`);
    return { ...i, results: doc, summary: summarizeResults(doc), resultsPath, reportPath, wallSeconds: doc.run.wallSeconds };
}

/** The overhead breakdown of a run, beside its results document. */
export function overheadPath(resultsPath: string): string {
    return resultsPath.replace(/\.json$/, ".overhead.json");
}

function headline(m: Record<string, number>): string {
    return Object.entries(m)
        .slice(0, 3)
        .map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`)
        .join(" ");
}

async function deadGuests(ctx: Ctx, p: BenchmarkRunInputs["pairs"][number]): Promise<string[]> {
    const dead: string[] = [];
    for (const e of [p.client, p.server]) {
        if (e.kind !== "vm") continue;
        const r = await hostTransport(ctx, e.host).run(["cat", `/proc/${e.pid}/stat`], { check: false, timeoutMs: 10_000 });
        // A zombie (state Z) is dead too: a daemonized VMM's parent may not have reaped it yet.
        const state = /\) (\S)/.exec(r.stdout)?.[1];
        if (r.code !== 0 || state === "Z") dead.push(`guest ${e.name}'s VMM (pid ${e.pid}) died`);
    }
    return dead;
}

/** Guests of a pair whose agent no longer answers (checked after a failed cell). */
async function silentGuests(ctx: Ctx, p: BenchmarkRunInputs["pairs"][number]): Promise<string[]> {
    const silent: string[] = [];
    for (const e of [p.client, p.server]) {
        if (e.kind !== "vm") continue;
        const ok = await runAt(ctx, e, ["cat", "/proc/uptime"], 5).then(
            (r) => r.code === 0,
            () => false,
        );
        if (!ok) silent.push(`guest ${e.name} (${e.address}) stopped answering its agent from host ${e.via.name}`);
    }
    return silent;
}

function median(v: number[]): number {
    const s = [...v].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function aggregate(p: BenchmarkRunInputs["pairs"][number], topology: string, cell: Cell, reps: RepRecord[], rawDir: string, error: string | undefined): CellResult {
    const vm = p.client.kind === "vm" ? p.client : p.server.kind === "vm" ? p.server : undefined;
    const spec = cell.spec;
    const metrics: CellResult["metrics"] = {};
    const names = [...new Set(reps.flatMap((r) => Object.keys(r.metrics)))];
    for (const m of names) {
        const v = reps.map((r) => r.metrics[m]).filter((x) => Number.isFinite(x));
        if (v.length > 0) metrics[m] = summarize(v);
    }
    const withCpu = reps.filter((r) => r.cpu);
    const sum = (r: RepRecord, f: (x: Cpu["machines"][string]) => number) => Object.values(r.cpu!.machines).reduce((a, x) => a + f(x), 0);
    const cpu =
        withCpu.length > 0
            ? {
                  user: median(withCpu.map((r) => sum(r, (x) => x.user))),
                  system: median(withCpu.map((r) => sum(r, (x) => x.system))),
                  softirq: median(withCpu.map((r) => sum(r, (x) => x.softirq))),
                  guest: median(withCpu.map((r) => sum(r, (x) => x.guest))),
                  busy: median(withCpu.map((r) => sum(r, (x) => x.busy))),
                  vmm: vm && withCpu.every((r) => r.cpu!.vmm[vm.name] !== undefined) ? median(withCpu.map((r) => r.cpu!.vmm[vm.name])) : null,
              }
            : undefined;
    let serviceDemand: CellResult["serviceDemand"];
    const kb = reps.filter((r) => r.volume?.kb && r.cpu).map((r) => (sum(r, (x) => x.busy) * 1e6) / r.volume!.kb!);
    const tr = reps.filter((r) => r.volume?.transactions && r.cpu).map((r) => (sum(r, (x) => x.busy) * 1e6) / r.volume!.transactions!);
    if (kb.length > 0) serviceDemand = { unit: "us/KB", value: median(kb) };
    else if (tr.length > 0) serviceDemand = { unit: "us/tr", value: median(tr) };
    let sweep: CellResult["sweep"];
    let kneeAt: number | null | undefined;
    if (spec.kind === "load" && reps.length > 0) {
        sweep = spec.mps.map((mps) => {
            const at = reps.map((r) => r.sweep?.find((x) => x.mps === mps)).filter((x): x is NonNullable<typeof x> => x !== undefined);
            return { mps, p50us: median(at.map((x) => x.p50us)), p99us: median(at.map((x) => x.p99us)) };
        });
        kneeAt = knee(sweep.map((x) => ({ load: x.mps, p99: x.p99us })), spec.factor) ?? null;
    }
    const dims: CellResult["dimensions"] = {
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
        test: cell.test,
        size: cell.size,
        streams: spec.kind === "tcp" ? spec.streams : undefined,
        reverse: spec.kind === "tcp" ? spec.reverse : undefined,
        bidir: spec.kind === "tcp" && spec.bidir ? true : undefined,
        rate: spec.kind === "flood" ? spec.rate : undefined,
        protocol: spec.kind === "latency" || spec.kind === "load" ? spec.protocol : spec.kind === "rr" ? spec.test : undefined,
        load: spec.kind === "load" ? spec.mps : undefined,
    };
    return {
        pair: p.label,
        cell: cell.id,
        dimensions: JSON.parse(JSON.stringify(dims)),
        status: error === undefined && reps.length > 0 ? "ok" : "failed",
        error: error ?? (reps.length === 0 ? "no repetition finished" : undefined),
        metrics,
        serviceDemand,
        cpuSeconds: cpu,
        sweep,
        knee: kneeAt,
        repetitions: reps.map((r) => ({ index: r.index, metrics: r.metrics, cpu: r.cpu, raw: r.raw, seconds: r.seconds })),
        rawDir,
    };
}

export const benchmarkHandler: ResourceHandler<BenchmarkRunInputs> = {
    schema: BenchmarkRunArgsSchema,
    properties: ["pairs", "tests", "settings", "resultsDir", "triggers", "allowFailedCells"],
    // A changed run is a new measurement, but the old results stay on disk: update in place.
    replaceOn: [],
    async create(ctx, i) {
        const outs = await exclusive(() => runBenchmark(ctx, i));
        return { id: `${ctx.name}-${sha256(String(Date.now())).slice(0, 8)}`, outs };
    },
    async read(_ctx, _id, state) {
        // The results are history: nothing on a host to observe. The raw data stays on disk.
        return state;
    },
    async update(ctx, _id, _olds, news) {
        return exclusive(() => runBenchmark(ctx, news));
    },
    async delete() {
        // Measured results are never deleted: the raw data and documents stay under resultsDir.
    },
};
