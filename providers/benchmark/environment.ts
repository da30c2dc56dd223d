// The results document's environment: each machine's CPU, memory, kernel and tool versions, each
// guest's VMM and configuration; machines that share one kernel are accounted once.
import type { ResultsDoc } from "../../core/bench/results";
import { kernelLabel } from "../../core/bench/results";
import { machineOf } from "../../core/placement";
import { probeHost } from "../hostops/probe";
import { hostTransport } from "../transport";
import type { Ctx } from "../runtime/resource";
import type { Accounting } from "./cpu";
import type { Pair } from "./endpoints";

/** Probes every machine; folds a machine that shares another's kernel (same boot id) into that one's account. */
export async function probeEnvironment(ctx: Ctx, pairs: readonly Pair[], acct: Accounting): Promise<ResultsDoc["environment"]> {
    const environment: ResultsDoc["environment"] = { machines: {}, guests: {} };
    const kernels = new Map<string, string>();
    for (const [key, m] of [...acct.machines]) {
        const probe = await probeHost(hostTransport(ctx, m.host));
        const tools: Record<string, string> = {};
        for (const [name, info] of Object.entries(probe.tools)) if (info.version) tools[name] = info.version;
        const sharesKernelWith = probe.bootId ? kernels.get(probe.bootId) : undefined;
        environment.machines[key] = {
            cpu: probe.cpuModel,
            cores: probe.cores,
            memoryMiB: probe.memoryMiB,
            kernel: probe.kernelRelease,
            tools,
            ...(sharesKernelWith ? { sharesKernelWith } : {}),
        };
        if (sharesKernelWith) {
            // One kernel's /proc/stat read twice would count the same CPU-seconds twice: its VMMs
            // are sampled with the machine that owns the kernel's account.
            acct.machines.get(sharesKernelWith)!.pids.push(...m.pids);
            for (const v of acct.vmPids.values()) if (v.machine === key) v.machine = sharesKernelWith;
            acct.machines.delete(key);
        } else if (probe.bootId) kernels.set(probe.bootId, key);
        for (const p of pairs) {
            for (const e of [p.client, p.server]) {
                if (e.kind !== "vm" || machineOf(e.host) !== key) continue;
                const version = e.driver === "qemu" ? `qemu ${probe.tools["qemu-system-x86_64"]?.version ?? "unknown"}` : e.driver;
                environment.guests[e.name] = {
                    vmm: version,
                    accel: e.accel,
                    kernel: kernelLabel(e.kernel),
                    vcpus: e.vcpus,
                    memoryMiB: e.memoryMiB,
                    backend: e.backend,
                };
            }
        }
    }
    return environment;
}
