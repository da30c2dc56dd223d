// The I/O half of the VMM drivers (core/vmm.ts renders): find the binary on the host, and read back
// which thread runs which vCPU (QEMU's QMP query-cpus-fast, else the VMM's thread names).
import { parseCpusFast } from "../../core/qmp";
import { isVhostWorker, vhostWorkerName } from "../../core/procstat";
import type { DriverModel, Launch } from "../../core/vmm";
import type { Placement } from "../../schema/microvm";
import { qmp } from "./qmp";
import { type Transport, which } from "../transport";

/**
 * The VMM binary's absolute path on the host: `given` if it is an executable file there, else the
 * driver's binary on the host's PATH; a clear refusal when there is none.
 */
export async function resolveBinary(t: Transport, host: string, model: DriverModel, given: string | undefined): Promise<string> {
    if (given) {
        if ((await t.run(["test", "-f", given, "-a", "-x", given], { check: false })).code !== 0) {
            throw new Error(`on host '${host}': driver '${model.name}': binary ${given} is not an executable file there`);
        }
        return given;
    }
    const found = await which(t, model.defaultBinary!);
    if (!found)
        throw new Error(
            `on host '${host}': driver '${model.name}' needs ${model.defaultBinary}, which is not on the host's PATH: install it there or give its absolute path in \`binary\``,
        );
    return found;
}

interface ThreadInfo {
    tid: number;
    name: string;
    cpus: string;
}

/** Threads of a process with their names and allowed CPUs. */
async function threadsOf(t: Transport, pid: number, base = `/proc/${pid}/task`): Promise<ThreadInfo[]> {
    const ls = await t.run(["ls", base], { check: false });
    if (ls.code !== 0) return [];
    const out: ThreadInfo[] = [];
    for (const tid of ls.stdout.trim().split(/\s+/).filter(Boolean).map(Number)) {
        const st = await t.run(["cat", `${base}/${tid}/status`], { check: false });
        if (st.code !== 0) continue;
        out.push({ tid, name: /^Name:\s*(.*)$/m.exec(st.stdout)?.[1] ?? "", cpus: /^Cpus_allowed_list:\s*(.*)$/m.exec(st.stdout)?.[1] ?? "" });
    }
    return out;
}

/** vhost workers that are kernel threads (Linux before 6.4): found by name among all processes. */
async function kernelVhostWorkers(t: Transport, pid: number): Promise<ThreadInfo[]> {
    const r = await t.run(["pgrep", "-x", vhostWorkerName(pid)], { check: false });
    const pids = r.stdout.trim().split(/\s+/).filter(Boolean).map(Number);
    const out: ThreadInfo[] = [];
    for (const p of pids) out.push(...(await threadsOf(t, p)));
    return out;
}

/**
 * Which thread runs which vCPU, which other threads the VMM has, and its vhost workers, with the
 * CPUs each may run on now. QEMU's vCPU thread ids come from QMP; if QMP does not answer (a custom
 * QEMU build without it), the thread names serve and `source` says so.
 */
export async function placementOf(
    t: Transport,
    pid: number,
    model: DriverModel,
    launch: Pick<Launch, "api">,
    warn: (m: string) => void = () => undefined,
): Promise<Placement> {
    const ts = await threadsOf(t, pid);
    let source: Placement["source"] = "thread names";
    let vcpuTids = new Map<number, number>();
    if (launch.api?.kind === "qmp") {
        try {
            const [ret] = await qmp(t, launch.api.path, ["query-cpus-fast"]);
            vcpuTids = new Map(parseCpusFast(ret).map((c) => [c.thread, c.index]));
            source = "qmp";
        } catch (e) {
            warn(`QMP query-cpus-fast failed (${(e as Error).message}); vCPU threads found by their names instead`);
        }
    }
    if (source === "thread names") {
        for (const th of ts) {
            const k = model.vcpuOf(th.name);
            if (k !== undefined) vcpuTids.set(th.tid, k);
        }
    }
    const ownVhost = ts.filter((th) => isVhostWorker(th.name, pid));
    const vhost = [...ownVhost, ...(ownVhost.length === 0 ? await kernelVhostWorkers(t, pid) : [])];
    return {
        source,
        vcpus: ts
            .filter((th) => vcpuTids.has(th.tid))
            .map((th) => ({ index: vcpuTids.get(th.tid)!, thread: th.tid, cpus: th.cpus }))
            .sort((a, b) => a.index - b.index),
        other: ts.filter((th) => !vcpuTids.has(th.tid) && !isVhostWorker(th.name, pid)).map((th) => ({ thread: th.tid, name: th.name, cpus: th.cpus })),
        vhost: vhost.map((th) => ({ thread: th.tid, name: th.name, cpus: th.cpus })),
    };
}

/** Pins what `pinning` names and reads the placement back. */
export async function applyPinning(
    t: Transport,
    pid: number,
    model: DriverModel,
    launch: Pick<Launch, "api">,
    pinning: { vcpus?: number[]; other?: number[]; vhost?: number[] } | undefined,
    warn: (m: string) => void,
): Promise<Placement> {
    const before = await placementOf(t, pid, model, launch, warn);
    const pin = (cpus: number[], tid: number) => t.run(["taskset", "-p", "-c", cpus.join(","), String(tid)]);
    if (pinning?.vcpus) {
        if (before.vcpus.length !== pinning.vcpus.length)
            throw new Error(`found ${before.vcpus.length} vCPU threads (${before.source}) for ${pinning.vcpus.length} pinned vCPUs`);
        for (const v of before.vcpus) await pin([pinning.vcpus[v.index]], v.thread);
    }
    if (pinning?.other) for (const o of before.other) await pin(pinning.other, o.thread);
    if (pinning?.vhost) {
        if (before.vhost.length === 0) throw new Error("pinning.vhost: the VMM has no vhost worker threads (is vhost=on in effect?)");
        for (const o of before.vhost) await pin(pinning.vhost, o.thread);
    }
    return pinning?.vcpus || pinning?.other || pinning?.vhost ? cpusReadAgain(t, pid, before) : before;
}

/** The same threads with their CPUs read again after pinning: which thread is which was found once. */
async function cpusReadAgain(t: Transport, pid: number, p: Placement): Promise<Placement> {
    const now = new Map((await threadsOf(t, pid)).map((th) => [th.tid, th.cpus]));
    // Kernel-thread vhost workers (Linux before 6.4) are not among the VMM's own threads.
    for (const w of p.vhost) if (!now.has(w.thread)) for (const th of await threadsOf(t, w.thread)) now.set(th.tid, th.cpus);
    const cpus = <T extends { thread: number; cpus: string }>(x: T): T => ({ ...x, cpus: now.get(x.thread) ?? x.cpus });
    return { ...p, vcpus: p.vcpus.map(cpus), other: p.other.map(cpus), vhost: p.vhost.map(cpus) };
}
