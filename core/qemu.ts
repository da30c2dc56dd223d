// QEMU argv for a microVM: q35 with virtio-net-pci (reliable under TCG), or the microvm machine
// with virtio-mmio devices (hangs at timer calibration in some TCG boots: shared/NOTES.md). Pure.
import { CONSOLE_WORDS } from "./guestinit";
import { busyPollUsProblem } from "./notification";

interface QemuNic {
    /** A tap device name (virtio, vhost-net) ... */
    tap?: string;
    /** ... or a file descriptor number the VMM inherits (macvtap's character device). */
    fd?: number;
    mac: string;
    vhost: boolean;
    queues?: number;
    /** vhost-net busy polling: µs the vhost worker polls before it waits for a notification (QEMU's poll-us). */
    pollUs?: number;
}

export const QEMU_MACHINES = ["q35", "microvm"] as const;
export type QemuMachine = (typeof QEMU_MACHINES)[number];

export interface QemuSpec {
    binary?: string;
    /** Default q35. */
    machine?: QemuMachine;
    accel: "kvm" | "tcg";
    cpus: number;
    memoryMiB: number;
    kernel: string;
    initrd: string;
    /** Kernel command line words after the console setup. */
    cmdline: readonly string[];
    nics: readonly QemuNic[];
    /** QMP unix socket path. */
    qmp?: string;
    /** A name for the process; with it, QEMU names its vCPU threads "CPU n/TCG|KVM" (used for pinning). */
    name?: string;
}

export function qemuArgv(s: QemuSpec): string[] {
    for (const p of [s.kernel, s.initrd, s.qmp ?? "", s.name ?? ""]) {
        if (p.includes(",")) throw new Error(`'${p}' cannot appear in a QEMU option (it contains ',')`);
    }
    // biome-ignore format: options and their values read as pairs
    const argv = [
        s.binary ?? "qemu-system-x86_64",
        // microvm: no PCI, no firmware option ROMs; its ISA serial port is the console.
        "-M", s.machine === "microvm" ? "microvm,x-option-roms=off,isa-serial=on,rtc=on" : "q35",
        "-accel", s.accel,
        "-cpu", s.accel === "kvm" ? "host" : "max",
        "-smp", String(s.cpus),
        "-m", String(s.memoryMiB),
        "-nodefaults", "-no-user-config",
        // The serial console is stdin/stdout: the launcher connects them to a FIFO and a log.
        "-nographic", "-serial", "stdio",
        ...(s.name ? ["-name", `${s.name},debug-threads=on`] : []),
        "-kernel", s.kernel,
        "-initrd", s.initrd,
        "-append", [...CONSOLE_WORDS, ...s.cmdline].join(" "),
        "-no-reboot",
    ];
    s.nics.forEach((n, i) => {
        // QEMU splits options at ',': a name or MAC with one would inject options.
        for (const v of [n.tap ?? "", n.mac]) if (/[,=\s]/.test(v)) throw new Error(`NIC ${i}: '${v}' cannot appear in a QEMU option`);
        const q = n.queues && n.queues > 1 ? `,queues=${n.queues}` : "";
        const poll = pollOption(n, i);
        const backend = n.fd !== undefined ? `tap,id=n${i},fd=${n.fd}` : `tap,id=n${i},ifname=${n.tap},script=no,downscript=no`;
        argv.push("-netdev", `${backend},vhost=${n.vhost ? "on" : "off"}${poll}${q}`);
        const mq = n.queues && n.queues > 1 ? `,mq=on,vectors=${2 * n.queues + 2}` : "";
        argv.push(
            "-device",
            s.machine === "microvm"
                ? `virtio-net-device,netdev=n${i},mac=${n.mac}${n.queues && n.queues > 1 ? ",mq=on" : ""}`
                : `virtio-net-pci,netdev=n${i},mac=${n.mac},romfile=${mq}`,
        );
    });
    if (s.qmp) argv.push("-qmp", `unix:${s.qmp},server=on,wait=off`);
    return argv;
}

/** The tap netdev's `poll-us` for vhost-net busy polling ("" without it). */
function pollOption(n: QemuNic, i: number): string {
    if (!n.pollUs) return "";
    const p = busyPollUsProblem(n.pollUs);
    if (p) throw new Error(`NIC ${i}: poll-us ${p}`);
    if (!n.vhost) throw new Error(`NIC ${i}: poll-us busy-polls the vhost-net worker, and this NIC has vhost off`);
    return `,poll-us=${n.pollUs}`;
}
