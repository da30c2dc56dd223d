// Firecracker's configuration file for a microVM (`firecracker --no-api --config-file F`), following
// its documented JSON (boot-source, machine-config, network-interfaces). Pure.
import { CONSOLE_WORDS } from "./guestinit";
import type { VmSpec, VmmNic } from "./vmspec";

/** The config file of a VM spec (core/vmspec.ts): Firecracker opens its taps by name. */
export function firecrackerConfig(
    s: Pick<VmSpec, "kernel" | "initrdPath" | "cmdline" | "vcpus" | "memoryMiB"> & { nics: readonly Pick<VmmNic, "tap" | "mac">[] },
): Record<string, unknown> {
    // reboot=k: a reboot is what ends a Firecracker VM (it has no ACPI power-off); pci=off: it has no PCI bus.
    const bootArgs = [...CONSOLE_WORDS, "reboot=k", "pci=off", ...s.cmdline].join(" ");
    return {
        "boot-source": { kernel_image_path: s.kernel, initrd_path: s.initrdPath, boot_args: bootArgs },
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
