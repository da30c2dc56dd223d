// CPU accounting of a run: the machines involved, the VMM (and vhost worker) processes whose CPU is
// counted, and their /proc samples taken around each measurement.
import { promises as fs } from "node:fs";
import type { AccountedVm, Sample } from "../../core/bench/cpu";
import { machineOf } from "../../core/placement";
import { parseProcStat } from "../../core/procstat";
import type { HostConnection } from "../../schema/host";
import type { Endpoint } from "../../schema/benchmark";
import { type GuestStats, probeGuestStats } from "./guest-stats";
import { hostTransport } from "../transport";
import type { Ctx } from "../runtime/resource";
import type { Pair } from "./endpoints";

export interface Accounting {
    /** Every machine involved (by machineOf), with the pids sampled on it. */
    machines: Map<string, { host: HostConnection; pids: number[] }>;
    /** The guests whose VMM's CPU is accounted. */
    vmPids: Map<string, AccountedVm>;
    guestStats: GuestStats;
}

export async function accounting(ctx: Ctx, pairs: readonly Pair[]): Promise<Accounting> {
    const machines = new Map<string, { host: HostConnection; pids: number[] }>();
    const vmPids = new Map<string, AccountedVm>();
    for (const p of pairs) {
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
    const vmEndpoints = pairs.flatMap((p) => [p.client, p.server]).filter((e): e is Endpoint & { kind: "vm" } => e.kind === "vm");
    const guestStats = await probeGuestStats(
        ctx,
        [...new Map(vmEndpoints.map((e) => [e.name, e])).values()].map((e) => ({
            name: e.name,
            host: e.host,
            pid: e.pid,
            backend: e.backend,
            accel: e.accel,
            driver: e.driver,
            qmpSocket: e.qmpSocket,
        })),
    );
    for (const [name, tids] of guestStats.vhost) machines.get(vmPids.get(name)!.machine)!.pids.push(...tids);
    return { machines, vmPids, guestStats };
}

/** /proc/stat per machine and /proc/<pid>/stat of each VMM, read in one command per machine. */
export async function sampleCpu(ctx: Ctx, machines: Map<string, { host: HostConnection; pids: number[] }>): Promise<Map<string, Sample>> {
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
                const pid = parseProcStat(line)?.pid;
                if (pid !== undefined && m.pids.includes(pid)) pids[pid] = line;
            }
            out.set(key, { stat: r.stdout, pids });
        }),
    );
    return out;
}
