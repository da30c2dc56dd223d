// The hardware path's cost, phase by phase: the same short Volt matrix (the sim stack's benchmark
// section: 3 tests, 2 repetitions of 1 s, 3 pairs) on two testbeds, one after the other in one run:
//  - local: the local stack's testbed (namespaces on this machine, no SSH);
//  - sim: sim-e2288g, two simulated machines reached over SSH only (`netbed sim up --e2288g`).
// Per phase (probe, fabric, tuning, security profile, kernel, image, boot, matrix) the wall time
// from the engine's resource events, then destroy; for the sim, what each machine's sshd logged
// during the up (connections, command sessions, sftp sessions). The kernel and image are cache
// hits where a run before built them (the note says which). The simulated machines are left as
// they were found.
// Run: npm run bench -- hardware
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import type { OverheadReport } from "../core/bench/overhead";
import { overheadPath } from "../core/bench/overhead";
import { planMachine } from "../core/sim";
import { ROOT, openStack } from "../scripts/engine";
import { main as sim, simStackYaml } from "../scripts/sim";
import { dropNetns, writeDefaultProject } from "../test/helpers";
import { machine } from "./machine";
import { PHASES } from "./phases";

// js-yaml comes with @pulumi/pulumi; the stack files are YAML.
const yaml = require("js-yaml") as { load(s: string): any; dump(o: unknown): string };

/** Start and end (ms) of each resource's step, from the engine's events as they arrive. */
class StepClock {
    readonly spans = new Map<string, { type: string; start: number; end?: number }>();
    onEvent = (e: EngineEvent) => {
        const pre = e.resourcePreEvent?.metadata;
        const done = e.resOutputsEvent?.metadata ?? e.resOpFailedEvent?.metadata;
        if (pre && pre.op !== "same") this.spans.set(pre.urn, { type: pre.type.split(":").pop()!, start: Date.now() });
        if (done) {
            const s = this.spans.get(done.urn);
            if (s) s.end = Date.now();
        }
    };
    /** Per phase: the wall span from its first start to its last end, and how many steps. */
    phases(): Record<string, { seconds: number; steps: number }> {
        const out: Record<string, { first: number; last: number; steps: number }> = {};
        for (const s of this.spans.values()) {
            const phase = PHASES[s.type];
            if (!phase || s.end === undefined) continue;
            const p = (out[phase] ??= { first: s.start, last: s.end, steps: 0 });
            p.first = Math.min(p.first, s.start);
            p.last = Math.max(p.last, s.end);
            p.steps++;
        }
        return Object.fromEntries(Object.entries(out).map(([k, p]) => [k, { seconds: (p.last - p.first) / 1000, steps: p.steps }]));
    }
}

/** The local stack's testbed on namespaces of this run, with the sim stack's benchmark section's tests and settings. */
function localYaml(id: string, simBench: Record<string, any>, results: string): string {
    const local = yaml.load(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), "utf8")).config;
    for (const h of Object.keys(local["testbed:hosts"])) local["testbed:hosts"][h] = { kind: "netns", namespace: `nbhw-${id}-${h}` };
    local["testbed:benchmark"] = { ...local["testbed:benchmark"], settings: simBench.settings, tests: simBench.tests, resultsDir: results };
    return yaml.dump({ config: local });
}

function simYaml(results: string): { text: string; bench: Record<string, any> } {
    const doc = yaml.load(simStackYaml(ROOT, { short: true }));
    doc.config["testbed:benchmark"].resultsDir = results;
    return { text: yaml.dump(doc), bench: doc.config["testbed:benchmark"] };
}

/** A project running the checkout's default program with one stack file. */
function project(stack: string, text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-bench-hw-"));
    fs.mkdirSync(path.join(dir, "stacks"));
    writeDefaultProject(dir);
    fs.writeFileSync(path.join(dir, "stacks", `Pulumi.${stack}.yaml`), text);
    return dir;
}

/** Lines of each simulated machine's sshd log, so the up's own lines can be counted. */
function sshdLogs(): Record<string, string> {
    return Object.fromEntries(
        ["m1", "m2"].map((m) => {
            const f = `/var/lib/netbed-sim/${m}/sshd.log`;
            return [m, fs.existsSync(f) ? fs.readFileSync(f, "utf8") : ""];
        }),
    );
}

function sshCounts(before: Record<string, string>, after: Record<string, string>): Record<string, { connections: number; commands: number; sftp: number }> {
    const count = (s: string, re: RegExp) => s.split("\n").filter((l) => re.test(l)).length;
    return Object.fromEntries(
        Object.keys(after).map((m) => {
            const added = after[m].slice(before[m].length);
            return [
                m,
                {
                    connections: count(added, /Accepted publickey/),
                    commands: count(added, /Starting session: command/),
                    sftp: count(added, /subsystem 'sftp'/),
                },
            ];
        }),
    );
}

interface TestbedRun {
    upSeconds: number;
    destroySeconds: number;
    phases: Record<string, { seconds: number; steps: number }>;
    overhead: OverheadReport["seconds"] & { wall: number; measured: number };
    toolsByTest: OverheadReport["toolStartStopByTest"];
    ssh?: ReturnType<typeof sshCounts>;
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
    const t0 = Date.now();
    const r = await f();
    return [r, (Date.now() - t0) / 1000];
}

/** up (after a preview, as `netbed up` does) and destroy of one testbed, with its phases. */
async function measure(stack: Stack, countSsh: boolean): Promise<TestbedRun> {
    const log: string[] = [];
    const run = { color: "never", onOutput: (s: string) => log.push(s) } as const;
    const clock = new StepClock();
    await stack.preview(run);
    const before = sshdLogs();
    const [up, upSeconds] = await timed(() => stack.up({ ...run, onEvent: clock.onEvent })).catch(async (e) => {
        await stack.destroy(run).catch(() => undefined);
        throw new Error(`${(e as Error).message}\n${log.join("").slice(-3000)}`);
    });
    const ssh = countSsh ? sshCounts(before, sshdLogs()) : undefined;
    const oh = JSON.parse(fs.readFileSync(overheadPath(up.outputs.resultsPath.value as string), "utf8")) as OverheadReport;
    const [, destroySeconds] = await timed(() => stack.destroy(run));
    return {
        upSeconds,
        destroySeconds,
        phases: clock.phases(),
        overhead: { ...oh.seconds, wall: oh.wallSeconds, measured: oh.measuredSeconds },
        toolsByTest: oh.toolStartStopByTest,
        ssh,
    };
}

function print(local: TestbedRun, simRun: TestbedRun): void {
    const row = (name: string, l?: number, s?: number) =>
        console.log(
            `  ${name.padEnd(18)} ${l === undefined ? "-".padStart(8) : `${l.toFixed(1).padStart(7)}s`} ${s === undefined ? "-".padStart(8) : `${s.toFixed(1).padStart(7)}s`}  ${l && s ? `${(s / l).toFixed(2)}x` : ""}`,
        );
    console.log(`  ${"phase".padEnd(18)} ${"local".padStart(8)} ${"ssh".padStart(8)}  ssh/local`);
    for (const p of [...new Set(Object.values(PHASES))]) row(p, local.phases[p]?.seconds, simRun.phases[p]?.seconds);
    row("whole up", local.upSeconds, simRun.upSeconds);
    row("destroy", local.destroySeconds, simRun.destroySeconds);
    for (const k of ["measured", "wall", "cpuSampling", "servers", "toolStartStop"] as const) row(`matrix: ${k}`, local.overhead[k], simRun.overhead[k]);
    for (const [t, l] of Object.entries(local.toolsByTest))
        console.log(`  ${t}: beyond nominal per step ${l.meanSeconds.toFixed(2)} s local, ${simRun.toolsByTest[t]?.meanSeconds.toFixed(2)} s ssh`);
    for (const [m, c] of Object.entries(simRun.ssh ?? {}))
        console.log(`  ssh to ${m} during the up: ${c.connections} connections, ${c.commands} command sessions, ${c.sftp} sftp sessions`);
}

export async function main(): Promise<Record<string, unknown>> {
    console.log(machine());
    const id = process.pid.toString(36);
    const wasUp = fs.existsSync("/run/netbed-sim") && fs.existsSync(`/var/run/netns/${planMachine(1, 2).namespace}`);
    const saved = { ...process.env };
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-bench-hw-state-"));
    process.env.PULUMI_BACKEND_URL = `file://${tmp}`;
    process.env.PULUMI_CONFIG_PASSPHRASE = "bench";
    const dirs = [tmp];
    try {
        await sim(["up", "--e2288g"], ROOT);
        // Kept, so a slow step can be read from its raw files.
        const results = path.join(ROOT, "results", `bench-hardware-${new Date().toISOString().replace(/[:.]/g, "-")}`);
        console.log(`results: ${results}/{local,sim}`);
        const s = simYaml(path.join(results, "sim"));
        const localDir = project(`hwl${id}`, localYaml(id, s.bench, path.join(results, "local")));
        const simDir = project(`hws${id}`, s.text);
        dirs.push(localDir, simDir);
        const local = await measure(await openStack({ stack: `hwl${id}`, dir: localDir }), false);
        const simRun = await measure(await openStack({ stack: `hws${id}`, dir: simDir }), true);
        print(local, simRun);
        return { local, sim: simRun, simWasUp: wasUp };
    } finally {
        for (const h of ["server", "client", "external"]) dropNetns(`nbhw-${id}-${h}`);
        if (!wasUp) await sim(["down"], ROOT);
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
        process.env = saved;
    }
}
