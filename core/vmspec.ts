// What a MicroVm's inputs tell its VMM: the NICs with the fds it inherits, the acceleration and the
// VM spec a driver model renders. Pure: the handler (providers/resources/microvm.ts) makes the taps
// named here and does the I/O.
import { type Server, guestCmdline } from "./guestinit";
import { sha256Hex } from "./hash";
import { deriveMac } from "./net";
import type { BusyPoll } from "./notification";
import type { QemuMachine } from "./qemu";
import type { VmmDriverName } from "./vmm";

/**
 * A MicroVm NIC: the schema's parsed NIC (schema/microvm.ts checks at compile time that its NicSchema
 * parses to exactly this type), so a field has the schema's name from the program to the VMM's argv.
 */
export interface Nic {
    backend: "virtio" | "vhost-net" | "macvtap";
    tap?: string;
    bridge?: string;
    macvtap?: string;
    macvtapDevice?: string;
    macvtapMac?: string;
    mac?: string;
    address: string;
    gateway?: string;
    mtu?: number;
    queues: number;
    vhostPollUs?: number;
}

/** A NIC as its VMM takes it: the schema's, with what the VM's boot decides for it (nicsOf, the one place). */
export interface VmmNic extends Nic {
    /** The guest MAC: the given one, the macvtap link's, or one derived from the VM and the NIC's index. */
    mac: string;
    /** Whether the kernel's vhost worker serves the NIC (backend vhost-net). */
    vhost: boolean;
    /** A macvtap's character device, as a file descriptor the VMM inherits ... */
    fd?: number;
    /** ... or the tap the launcher opened, one fd per queue. */
    fds?: number[];
    /** vhost-net fds, one per queue, opened before the VMM starts (it then opens no /dev/vhost-net). */
    vhostFds?: number[];
}

/** What the spec reads of a MicroVm's inputs (the schema's MicroVmInputs, field for field). */
export interface VmInputs {
    driver: VmmDriverName;
    machine: QemuMachine;
    accel: "kvm" | "tcg" | "auto";
    vcpus: number;
    memoryMiB: number;
    kernel: string;
    image: string;
    cmdline: readonly string[];
    nics: readonly Nic[];
    busyPoll?: BusyPoll;
    custom?: { argv: readonly string[] };
    hostCaps?: { kvmUsable: boolean; kvmReason?: string; tscKhz?: number };
}

/** The inputs the VMM is given as they are: the spec takes them under the same names. */
const SPEC_INPUTS = ["driver", "machine", "vcpus", "memoryMiB", "kernel", "image", "custom"] as const;

/** What a VMM is told: a MicroVm's inputs under their own names, and what its boot decided. */
export interface VmSpec extends Pick<VmInputs, (typeof SPEC_INPUTS)[number]> {
    /** The VMM binary: an absolute path, or a name looked up on the host's PATH. */
    binary: string;
    accel: "kvm" | "tcg";
    /**
     * The initramfs the VMM loads: `image` itself, or, where the guest runs the agent, the VM's own
     * copy in its run directory with the agent's key appended (so the key never shows on the kernel
     * command line, and the image other VMs share is never written).
     */
    initrdPath: string;
    /** The whole guest kernel command line after the driver's console setup: the NICs', servers' and busy-poll words, then the inputs' `cmdline`. */
    cmdline: readonly string[];
    nics: readonly VmmNic[];
    /** The VM's run directory on its host (sockets, config files, console log). */
    dir: string;
    /** The VM's name (QEMU names its process and threads after it). */
    name: string;
    /** The host's TSC frequency in kHz (its `hostCaps.tscKhz`), where its probe knows it: QEMU's microvm machine under TCG needs it. */
    tscKhz?: number;
    /** Fds of the sockets in Launch.listen, by name, already listening (made by the launcher): the VMM then binds nothing. */
    listenFds?: Readonly<Record<string, number>>;
    /** Whether the guest gets the agent's virtio-serial port (only drivers with supports.agentPort). */
    agent: boolean;
}

/** Freezes a spec and everything in it: what was validated is what is rendered. */
export function freezeSpec(s: VmSpec): Readonly<VmSpec> {
    const deep = <T>(o: T): T => {
        if (o && typeof o === "object") {
            for (const v of Object.values(o)) deep(v);
            Object.freeze(o);
        }
        return o;
    };
    return deep(structuredClone(s));
}

export interface VmNics {
    vm: VmmNic[];
    /** The host interface of each NIC (tap name or macvtap device). */
    hostIf: string[];
    /** Device files opened as fds 3, 4, ... before the VMM starts. */
    devices: string[];
    /** The launcher's `--tap NAME=FD` arguments. */
    taps: string[];
}

/** The tap a VM makes for a NIC given a bridge: "nbv" + a hash of the VM and NIC (15 bytes max). */
export function ownTapName(urn: string, nic: number): string {
    return `nbv${sha256Hex(`${urn}#${nic}`).slice(0, 10)}`;
}

/**
 * The NICs as the VMM sees them and the fds it inherits: device files the shell opens as root
 * (macvtap character devices; /dev/vhost-net per queue when the launcher opens the taps) as fds
 * 3, 4, ..., then the taps the launcher's root stage opens by name (`--tap NAME=FD`) right after
 * them. Without tapFds (no profile, or a VMM that opens taps itself) the VMM opens taps by name.
 */
export function nicsOf(i: Pick<VmInputs, "nics">, urn: string, tapFds: boolean): VmNics {
    const devices: string[] = [];
    const open = (path: string) => 3 + devices.push(path) - 1;
    const vm = i.nics.map((n, k): VmmNic => {
        const mac = n.mac ?? n.macvtapMac ?? deriveMac(`${urn}#nic${k}`);
        if (n.backend === "macvtap") {
            if (!n.macvtapDevice || !n.macvtapMac) throw new Error(`nics[${k}]: macvtap link '${n.macvtap}' has no device or MAC (was it created?)`);
            return { ...n, mac, vhost: false, fd: open(n.macvtapDevice) };
        }
        const vhost = n.backend === "vhost-net";
        const vhostFds = tapFds && vhost ? Array.from({ length: n.queues }, () => open("/dev/vhost-net")) : undefined;
        // A NIC on a bridge gets the VM's own tap there (the handler makes it under this name).
        return { ...n, tap: n.tap ?? ownTapName(urn, k), mac, vhost, vhostFds };
    });
    const taps: string[] = [];
    let next = 3 + devices.length;
    if (tapFds) {
        for (const n of vm) {
            if (n.tap === undefined) continue;
            n.fds = Array.from({ length: n.queues }, (_, q) => next + q);
            taps.push("--tap", `${n.tap}=${next}${n.queues > 1 ? `,queues=${n.queues}` : ""}`);
            next += n.queues;
        }
    }
    const hostIf = vm.map((n) => (n.backend === "macvtap" ? n.macvtapDevice! : n.tap!));
    return { vm, hostIf, devices, taps };
}

/** The first fd after the NICs' (where the launcher's listening sockets go). */
export const nextFd = (nics: Pick<VmNics, "devices" | "vm">) => 3 + nics.devices.length + nics.vm.reduce((a, n) => a + (n.fds?.length ?? 0), 0);

/** The acceleration the VMM runs with, and the warning a TCG guest's numbers carry. */
export function chooseAccel(i: Pick<VmInputs, "driver" | "accel" | "hostCaps">): { accel: "kvm" | "tcg"; accelWarning?: string } {
    // Firecracker and Cloud Hypervisor run under KVM only (the schema refused them elsewhere).
    const accel: "kvm" | "tcg" = i.driver !== "qemu" ? "kvm" : i.accel === "auto" ? (i.hostCaps?.kvmUsable ? "kvm" : "tcg") : i.accel;
    if (i.driver !== "qemu" || accel !== "tcg") return { accel };
    const accelWarning = `running under TCG (software emulation)${i.hostCaps?.kvmReason ? `: ${i.hostCaps.kvmReason}` : ""}; its numbers are not comparable with KVM numbers`;
    return { accel, accelWarning };
}

/** Where the VM runs and what it runs: the binary, the acceleration, its run directory and name, the servers its init starts. */
export interface VmPlace {
    name: string;
    binary: string;
    accel: "kvm" | "tcg";
    dir: string;
    servers: readonly Server[];
}

/** What the VMM is told: the inputs it takes as they are, the guest's command line (with the NICs' settings), the NICs. */
export function vmSpec(i: VmInputs, nics: VmmNic[], at: VmPlace): Readonly<VmSpec> {
    const agent = at.servers.includes("agent");
    return freezeSpec({
        ...(Object.fromEntries(SPEC_INPUTS.map((k) => [k, i[k]])) as Pick<VmInputs, (typeof SPEC_INPUTS)[number]>),
        binary: at.binary,
        accel: at.accel,
        initrdPath: agent ? `${at.dir}/initrd` : i.image,
        cmdline: [...guestCmdline(nics, at.servers, i.busyPoll), ...i.cmdline],
        nics,
        dir: at.dir,
        name: at.name,
        tscKhz: i.hostCaps?.tscKhz,
        agent,
    });
}
