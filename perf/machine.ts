// The machine a figure ran on, printed with every figure and stored in the JSON summary.
import * as fs from "node:fs";
import * as os from "node:os";
import { dropNetns } from "../test/helpers";

export interface MachineInfo {
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    kernel: string;
    /** What guests run under here: KVM only when /dev/kvm exists and is not PVM (see /work/shared/NOTES.md). */
    accel: "kvm" | "tcg";
    loadAverage: number[];
}

export function machineInfo(): MachineInfo {
    const kvm = fs.existsSync("/dev/kvm") && !fs.existsSync("/sys/module/kvm_pvm");
    return {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? "unknown",
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        kernel: os.release(),
        accel: kvm ? "kvm" : "tcg",
        loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    };
}

export function machine(): string {
    const m = machineInfo();
    return `machine: ${m.cpus} x ${m.cpuModel}, ${m.memoryGiB} GiB, kernel ${m.kernel}, guests under ${m.accel}, load average ${m.loadAverage.join(" ")}`;
}

/** Ends the tool servers a bench started (by pid) and drops its namespaces. */
export function cleanUp(serverPids: number[], namespaces: string[]): void {
    for (const pid of serverPids) {
        try {
            process.kill(pid, "SIGTERM");
        } catch {
            /* already gone */
        }
    }
    for (const ns of namespaces) dropNetns(ns);
}
