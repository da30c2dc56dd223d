// QEMU argv for a microVM: q35 with virtio-net-pci, or the microvm machine with virtio-mmio
// devices. Pure.
import { AGENT_PORT_NAME } from "./agent";
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
    /** The guest agent's unix socket path: a virtio-serial port named for the agent (core/agent.ts). */
    agentSocket?: string;
    /** A name for the process; with it, QEMU names its vCPU threads "CPU n/TCG|KVM" (used for pinning). */
    name?: string;
    /** The host's TSC frequency in kHz: required by the microvm machine under TCG (tscWords). */
    tscKhz?: number;
}

/**
 * Kernel words that let a TCG guest on the microvm machine boot every time. Its kernel calibrates
 * the TSC against the PIT, which fails under TCG whenever an emulated port read is slow; q35 then
 * falls back to its HPET or ACPI PM timer, but microvm has neither, so the kernel is left without a
 * TSC frequency and hangs setting up its timers (3 boots in 4 here). A TCG guest reads the host's
 * TSC, so the host's frequency is the right one; `tsc=reliable` keeps the kernel's watchdog from
 * trading the TSC for jiffies, whose ticks drift under emulation.
 */
export function tscWords(s: Pick<QemuSpec, "machine" | "accel" | "tscKhz">): string[] {
    if (s.machine !== "microvm" || s.accel !== "tcg") return [];
    if (!s.tscKhz) throw new Error("machine 'microvm' under TCG needs the host's TSC frequency (tscKhz) for the guest kernel");
    return [`tsc_early_khz=${s.tscKhz}`, "tsc=reliable"];
}

/**
 * QEMU's -smp. A TCG guest with one vCPU gets a second CPU slot, never plugged: before 8.1, QEMU
 * drops a guest's memory barriers when no other vCPU could run beside it (fixed by "tcg: Do not
 * elide memory barriers for !CF_PARALLEL in system mode"), yet its virtio devices run in another
 * host thread. The guest's "post a buffer, then read whether to notify" and the device's "ask for a
 * notification, then look for buffers" can then both miss the other's write: the notification is
 * lost, and with event indexes the guest never sends another, so the queue stops for good (seen
 * as a transmit stall under netperf TCP_CRR). With a second slot QEMU translates the guest's code
 * for parallel CPUs, barriers kept. A guest under KVM runs on real CPUs, with real barriers.
 */
export function smpOption(s: Pick<QemuSpec, "accel" | "cpus">): string {
    return s.accel === "tcg" && s.cpus === 1 ? "1,maxcpus=2" : String(s.cpus);
}

export function qemuArgv(s: QemuSpec): string[] {
    for (const p of [s.kernel, s.initrd, s.qmp ?? "", s.agentSocket ?? "", s.name ?? ""]) {
        if (p.includes(",")) throw new Error(`'${p}' cannot appear in a QEMU option (it contains ',')`);
    }
    // biome-ignore format: options and their values read as pairs
    const argv = [
        s.binary ?? "qemu-system-x86_64",
        // microvm: no PCI, no firmware option ROMs; its ISA serial port is the console.
        "-M", s.machine === "microvm" ? "microvm,x-option-roms=off,isa-serial=on,rtc=on" : "q35",
        "-accel", s.accel,
        "-cpu", s.accel === "kvm" ? "host" : "max",
        "-smp", smpOption(s),
        "-m", String(s.memoryMiB),
        "-nodefaults", "-no-user-config",
        // The serial console is stdin/stdout: the launcher connects them to a FIFO and a log.
        "-nographic", "-serial", "stdio",
        ...(s.name ? ["-name", `${s.name},debug-threads=on`] : []),
        "-kernel", s.kernel,
        "-initrd", s.initrd,
        "-append", [...CONSOLE_WORDS, ...tscWords(s), ...s.cmdline].join(" "),
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
    if (s.agentSocket) argv.push(...agentPortArgs(s.machine, s.agentSocket));
    return argv;
}

/** A virtio-serial controller with one port, named for the guest's agent, on a listening unix socket. */
export function agentPortArgs(machine: QemuMachine | undefined, socket: string): string[] {
    // biome-ignore format: options and their values read as pairs
    return [
        "-device", machine === "microvm" ? "virtio-serial-device" : "virtio-serial-pci",
        "-chardev", `socket,id=agent,path=${socket},server=on,wait=off`,
        "-device", `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`,
    ];
}

/** The tap netdev's `poll-us` for vhost-net busy polling ("" without it). */
function pollOption(n: QemuNic, i: number): string {
    if (!n.pollUs) return "";
    const p = busyPollUsProblem(n.pollUs);
    if (p) throw new Error(`NIC ${i}: poll-us ${p}`);
    if (!n.vhost) throw new Error(`NIC ${i}: poll-us busy-polls the vhost-net worker, and this NIC has vhost off`);
    return `,poll-us=${n.pollUs}`;
}
