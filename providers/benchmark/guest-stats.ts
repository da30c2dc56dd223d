// What a benchmark run can measure of its guests beyond the VMM's CPU: KVM exits (QEMU >= 7.1
// answers QMP query-stats with the vCPUs' exit counters where the accelerator is KVM) and the CPU of
// the vhost worker threads of a vhost-net guest. Probed once per run; where a figure cannot be
// measured it stays null and the reason is recorded.
import { KVM_EXITS_QUERY, parseKvmExits } from "../../core/qmp";
import { vhostThreadIds, vhostWorkerName } from "../../core/procstat";
import type { HostConnection } from "../../schema/host";
import { qmp } from "../hostops/qmp";
import type { Ctx } from "../runtime/resource";
import { hostTransport } from "../transport";

export interface GuestVm {
    name: string;
    host: HostConnection;
    pid: number;
    backend: string;
    accel: string;
    driver: string;
    qmpSocket?: string;
}

export interface GuestStats {
    /** Guests whose exit counters can be read: their QMP socket. */
    exits: Map<string, { host: HostConnection; socket: string }>;
    /** vhost-net guests' worker thread ids (empty: none found). */
    vhost: Map<string, number[]>;
    /** Why a figure is null, keyed "vmExitsPerSecond:<guest>" or "vhost:<guest>". */
    unmeasured: Record<string, string>;
}

export async function probeGuestStats(ctx: Ctx, vms: readonly GuestVm[]): Promise<GuestStats> {
    const gs: GuestStats = { exits: new Map(), vhost: new Map(), unmeasured: {} };
    for (const vm of vms) {
        const t = hostTransport(ctx, vm.host);
        if (!vm.qmpSocket)
            gs.unmeasured[`vmExitsPerSecond:${vm.name}`] =
                `the ${vm.driver} VMM of ${vm.name} has no QMP socket (KVM exit counters come from QEMU's query-stats)`;
        else {
            try {
                const [ret] = await qmp(t, vm.qmpSocket, [KVM_EXITS_QUERY]);
                if (parseKvmExits(ret) !== undefined) gs.exits.set(vm.name, { host: vm.host, socket: vm.qmpSocket });
                else
                    gs.unmeasured[`vmExitsPerSecond:${vm.name}`] =
                        `QMP query-stats on ${vm.name} returned no KVM exit counters (accelerator ${vm.accel}: only KVM has them)`;
            } catch (e) {
                gs.unmeasured[`vmExitsPerSecond:${vm.name}`] = `QMP query-stats on ${vm.name} failed (QEMU 7.1 or later answers it): ${(e as Error).message}`;
            }
        }
        if (vm.backend !== "vhost-net") continue;
        const ps = await t.run(["ps", "-eLo", "tid=,comm="], { check: false, timeoutMs: 10_000 });
        const tids = vhostThreadIds(ps.stdout, vm.pid);
        gs.vhost.set(vm.name, tids);
        if (tids.length === 0)
            gs.unmeasured[`vhost:${vm.name}`] =
                `no ${vhostWorkerName(vm.pid)} worker thread on host ${t.label} (ps: ${ps.code === 0 ? "none listed" : ps.stderr.trim()})`;
    }
    return gs;
}

/** The summed exit counters of the given guests, where measurable. */
export async function sampleExits(ctx: Ctx, gs: GuestStats, names: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    await Promise.all(
        names.map(async (n) => {
            const e = gs.exits.get(n);
            if (!e) return;
            // A counter that cannot be read costs this figure (null, with the reason), never the measurement.
            const v = await qmp(hostTransport(ctx, e.host), e.socket, [KVM_EXITS_QUERY]).then(
                ([ret]) => parseKvmExits(ret),
                () => undefined,
            );
            if (v !== undefined) out.set(n, v);
        }),
    );
    return out;
}

/** Exits per second over a measurement of the pair's guests; null with the reason where any is not measurable. */
export function exitsPerSecond(
    gs: GuestStats,
    names: readonly string[],
    before: Map<string, number>,
    after: Map<string, number>,
    seconds: number,
): { value: number | null; why?: string } {
    if (names.length === 0) return { value: null, why: "no guest in this pair" };
    let total = 0;
    for (const n of names) {
        const b = before.get(n);
        const a = after.get(n);
        if (b === undefined || a === undefined)
            return { value: null, why: gs.unmeasured[`vmExitsPerSecond:${n}`] ?? `the exit counters of ${n} could not be read around this measurement` };
        total += a - b;
    }
    return { value: seconds > 0 ? total / seconds : null };
}
