// QEMU argv for a microVM: q35 with virtio-net-pci, or the microvm machine with virtio-mmio
// devices. Pure.
import { AGENT_PORT_NAME } from "./agent";
import { CONSOLE_WORDS } from "./guestinit";
import { busyPollUsProblem } from "./notification";
import type { VmSpec, VmmNic } from "./vmspec";

export const QEMU_MACHINES = ["q35", "microvm"] as const;
export type QemuMachine = (typeof QEMU_MACHINES)[number];

/** What QEMU's argv reads of a VM spec (core/vmspec.ts), and where its sockets are. */
export type QemuSpec = Pick<VmSpec, "accel" | "vcpus" | "memoryMiB" | "kernel" | "initrdPath" | "cmdline"> &
    Partial<Pick<VmSpec, "binary" | "machine" | "tscKhz">> & {
        nics: readonly QemuNic[];
        /** QMP unix socket path ... */
        qmp?: string;
        /** ... or the fd of a socket already listening there (the launcher made it). */
        qmpFd?: number;
        /** The guest agent's unix socket path: a virtio-serial port named for the agent (core/agent.ts). */
        agentSocket?: string;
        /** ... or the fd of a socket already listening there. */
        agentFd?: number;
        /** A name for the process; with it, QEMU names its vCPU threads "CPU n/TCG|KVM" (used for pinning). */
        processName?: string;
    };

/** What QEMU's netdev and device options read of a NIC. */
type QemuNic = Pick<VmmNic, "tap" | "fd" | "fds" | "vhostFds" | "mac" | "vhost" | "queues" | "vhostPollUs">;

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
export function smpOption(s: Pick<QemuSpec, "accel" | "vcpus">): string {
    return s.accel === "tcg" && s.vcpus === 1 ? "1,maxcpus=2" : String(s.vcpus);
}

export function qemuArgv(s: QemuSpec): string[] {
    for (const p of [s.kernel, s.initrdPath, s.qmp ?? "", s.agentSocket ?? "", s.processName ?? ""]) {
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
        ...(s.processName ? ["-name", `${s.processName},debug-threads=on`] : []),
        "-kernel", s.kernel,
        "-initrd", s.initrdPath,
        "-append", [...CONSOLE_WORDS, ...tscWords(s), ...s.cmdline].join(" "),
        "-no-reboot",
    ];
    s.nics.forEach((n, i) => {
        // QEMU splits options at ',': a name or MAC with one would inject options.
        for (const v of [n.tap ?? "", n.mac]) if (/[,=\s]/.test(v)) throw new Error(`NIC ${i}: '${v}' cannot appear in a QEMU option`);
        const poll = pollOption(n, i);
        argv.push("-netdev", `${tapBackend(n, i)},vhost=${n.vhost ? "on" : "off"}${poll}`);
        const mq = n.queues > 1 ? `,mq=on,vectors=${2 * n.queues + 2}` : "";
        argv.push(
            "-device",
            s.machine === "microvm"
                ? `virtio-net-device,netdev=n${i},mac=${n.mac}${n.queues > 1 ? ",mq=on" : ""}`
                : `virtio-net-pci,netdev=n${i},mac=${n.mac},romfile=${mq}`,
        );
    });
    if (s.qmpFd !== undefined) argv.push("-chardev", `socket,id=qmp,fd=${s.qmpFd},server=on,wait=off`, "-mon", "chardev=qmp,mode=control");
    else if (s.qmp) argv.push("-qmp", `unix:${s.qmp},server=on,wait=off`);
    if (s.agentSocket) argv.push(...agentPortArgs(s.machine, s.agentSocket, s.agentFd));
    return argv;
}

/** A virtio-serial controller with one port, named for the guest's agent, on a listening unix socket (or its fd). */
export function agentPortArgs(machine: QemuMachine | undefined, socket: string, fd?: number): string[] {
    const chardev = fd !== undefined ? `socket,id=agent,fd=${fd},server=on,wait=off` : `socket,id=agent,path=${socket},server=on,wait=off`;
    // biome-ignore format: options and their values read as pairs
    return [
        "-device", machine === "microvm" ? "virtio-serial-device" : "virtio-serial-pci",
        "-chardev", chardev,
        "-device", `virtserialport,chardev=agent,name=${AGENT_PORT_NAME}`,
    ];
}

/**
 * A tap netdev: by fd(s) the VMM inherits (QEMU refuses queues= beside them: it counts the fds), or
 * by name, opened by QEMU itself (which needs CAP_NET_ADMIN or the tap's owner).
 */
function tapBackend(n: QemuNic, i: number): string {
    const vhost = n.vhostFds ?? [];
    if (n.vhostFds && n.vhostFds.length !== (n.fds?.length ?? 1)) throw new Error(`NIC ${i}: one vhost-net fd per queue`);
    if (n.fds && n.fds.length > 1) return `tap,id=n${i},fds=${n.fds.join(":")}${vhost.length ? `,vhostfds=${vhost.join(":")}` : ""}`;
    const fd = n.fds?.[0] ?? n.fd;
    if (fd !== undefined) return `tap,id=n${i},fd=${fd}${vhost.length ? `,vhostfd=${vhost[0]}` : ""}`;
    const q = n.queues > 1 ? `,queues=${n.queues}` : "";
    return `tap,id=n${i},ifname=${n.tap},script=no,downscript=no${q}`;
}

/** The tap netdev's `poll-us` for vhost-net busy polling ("" without it). */
function pollOption(n: QemuNic, i: number): string {
    if (!n.vhostPollUs) return "";
    const p = busyPollUsProblem(n.vhostPollUs);
    if (p) throw new Error(`NIC ${i}: poll-us ${p}`);
    if (!n.vhost) throw new Error(`NIC ${i}: poll-us busy-polls the vhost-net worker, and this NIC has vhost off`);
    return `,poll-us=${n.vhostPollUs}`;
}
