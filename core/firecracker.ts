// Firecracker's configuration file for a microVM (`firecracker --no-api --config-file F`), following
// its documented JSON (boot-source, machine-config, network-interfaces). Pure.

interface FirecrackerNic {
    tap: string;
    mac: string;
}

export interface FirecrackerSpec {
    kernel: string;
    initrd: string;
    /** The whole kernel command line. */
    bootArgs: string;
    vcpus: number;
    memoryMiB: number;
    nics: readonly FirecrackerNic[];
}

export function firecrackerConfig(s: FirecrackerSpec): Record<string, unknown> {
    return {
        "boot-source": { kernel_image_path: s.kernel, initrd_path: s.initrd, boot_args: s.bootArgs },
        drives: [],
        "machine-config": { vcpu_count: s.vcpus, mem_size_mib: s.memoryMiB, smt: false },
        "network-interfaces": s.nics.map((n, i) => ({ iface_id: `eth${i}`, guest_mac: n.mac, host_dev_name: n.tap })),
    };
}

/** Firecracker names its vCPU threads "fc_vcpu N". */
export function firecrackerVcpu(threadName: string): number | undefined {
    const m = /^fc_vcpu (\d+)$/.exec(threadName);
    return m ? Number(m[1]) : undefined;
}
