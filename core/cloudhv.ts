// Cloud Hypervisor's argv for a microVM (its documented command line: --kernel, --initramfs,
// --cmdline, --cpus, --memory, --net tap=|fd=, --serial tty, --api-socket). Pure.
import { CONSOLE_WORDS } from "./guestinit";
import type { VmSpec, VmmNic } from "./vmspec";

/** What Cloud Hypervisor's argv reads of a VM spec (core/vmspec.ts), and where its API socket is. */
export type CloudHvSpec = Pick<VmSpec, "binary" | "kernel" | "initrdPath" | "cmdline" | "vcpus" | "memoryMiB"> & {
    nics: readonly Pick<VmmNic, "tap" | "fd" | "mac" | "queues">[];
    /** Its REST API socket ... */
    api: string;
    /** ... or the fd of a socket already listening there. */
    apiFd?: number;
};

export function cloudHvArgv(s: CloudHvSpec): string[] {
    for (const p of [s.kernel, s.initrdPath, s.api])
        if (/[,\s]/.test(p)) throw new Error(`'${p}' cannot appear in a Cloud Hypervisor option (it contains ',' or a space)`);
    // biome-ignore format: options and their values read as pairs
    const argv = [
        s.binary,
        "--api-socket", s.apiFd !== undefined ? `fd=${s.apiFd}` : `path=${s.api}`,
        "--kernel", s.kernel,
        "--initramfs", s.initrdPath,
        "--cmdline", [...CONSOLE_WORDS, ...s.cmdline].join(" "),
        "--cpus", `boot=${s.vcpus}`,
        "--memory", `size=${s.memoryMiB}M`,
        // The serial port is the console, on the VMM's stdin/stdout like QEMU's.
        "--serial", "tty",
        "--console", "off",
    ];
    s.nics.forEach((n, i) => {
        for (const v of [n.tap ?? "", n.mac]) if (/[,=\s]/.test(v)) throw new Error(`NIC ${i}: '${v}' cannot appear in a Cloud Hypervisor option`);
        // num_queues counts RX and TX queues: two per queue pair.
        const q = n.queues > 1 ? `,num_queues=${2 * n.queues}` : "";
        argv.push("--net", `${n.fd !== undefined ? `fd=${n.fd}` : `tap=${n.tap}`},mac=${n.mac}${q}`);
    });
    return argv;
}

/** Cloud Hypervisor names its vCPU threads "vcpuN". */
export function cloudHvVcpu(threadName: string): number | undefined {
    const m = /^vcpu(\d+)$/.exec(threadName);
    return m ? Number(m[1]) : undefined;
}
