// The CPU cost of one measurement from samples taken before and after it: /proc/stat per machine,
// /proc/<pid>/stat of each VMM and vhost worker. Pure.
import type { Cpu } from "./results";
import { cpuSeconds, processCpuSeconds } from "../procstat";

/** One machine's /proc/stat, and the /proc/<pid>/stat line of each accounted process on it. */
export interface Sample {
    stat: string;
    pids: Record<number, string>;
}

/** A guest whose VMM is accounted: the machine (key of the samples) it runs on, its pid and NIC backend. */
export interface AccountedVm {
    machine: string;
    pid: number;
    backend: string;
}

/** What is known of the guests' vhost workers: their thread ids, and why a figure cannot be had. */
export interface VhostWorkers {
    vhost: ReadonlyMap<string, number[]>;
    unmeasured: Record<string, string>;
}

export function cpuDelta(before: Map<string, Sample>, after: Map<string, Sample>, vmPids: Map<string, AccountedVm>, gs: VhostWorkers): Cpu {
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

export function withExits(cpu: Cpu, exits: { value: number | null; why?: string }): Cpu {
    if (exits.value !== null) return { ...cpu, vmExitsPerSecond: exits.value };
    return { ...cpu, vmExitsPerSecond: null, unmeasured: { ...cpu.unmeasured, vmExitsPerSecond: exits.why ?? "not measured" } };
}
