// What a MicroVm's inputs tell its VMM: the NICs with the fds it inherits, the acceleration and the
// VM spec a driver model renders. Pure: the handler (providers/resources/microvm.ts) supplies the
// inputs after its taps exist and does the I/O.
import { type GuestNic, type Server, guestCmdline } from "./guestinit";
import { deriveMac } from "./net";
import type { BusyPoll } from "./notification";
import type { QemuMachine } from "./qemu";
import { type VmNic, type VmSpec, type VmmDriverName, freezeSpec } from "./vmm";

/** A MicroVm NIC as the schema gives it, once a bridge NIC has its own tap. */
export interface NicInputs extends Omit<GuestNic, "mac"> {
    backend: "virtio" | "vhost-net" | "macvtap";
    tap?: string;
    macvtap?: string;
    macvtapDevice?: string;
    macvtapMac?: string;
    mac?: string;
    queues: number;
    vhostPollUs?: number;
}

/** What the spec reads of a MicroVm's inputs (the schema's MicroVmInputs has these fields). */
export interface VmInputs {
    driver: VmmDriverName;
    machine: QemuMachine;
    accel: "kvm" | "tcg" | "auto";
    vcpus: number;
    memoryMiB: number;
    kernel: string;
    image: string;
    cmdline: readonly string[];
    nics: readonly NicInputs[];
    busyPoll?: BusyPoll;
    custom?: { argv: readonly string[] };
    hostCaps?: { kvmUsable: boolean; kvmReason?: string; tscKhz?: number };
}

export interface VmNics {
    vm: VmNic[];
    /** The host interface of each NIC (tap name or macvtap device). */
    hostIf: string[];
    /** Device files opened as fds 3, 4, ... before the VMM starts. */
    devices: string[];
    /** The launcher's `--tap NAME=FD` arguments. */
    taps: string[];
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
    const vm = i.nics.map((n, k): VmNic => {
        const mac = n.mac ?? n.macvtapMac ?? deriveMac(`${urn}#nic${k}`);
        if (n.backend === "macvtap") {
            if (!n.macvtapDevice || !n.macvtapMac) throw new Error(`nics[${k}]: macvtap link '${n.macvtap}' has no device or MAC (was it created?)`);
            return { fd: open(n.macvtapDevice), mac, vhost: false, queues: n.queues };
        }
        const vhost = n.backend === "vhost-net";
        const vhostFds = tapFds && vhost ? Array.from({ length: n.queues }, () => open("/dev/vhost-net")) : undefined;
        return { tap: n.tap!, mac, vhost, queues: n.queues, pollUs: n.vhostPollUs, vhostFds };
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
    const hostIf = i.nics.map((n) => (n.backend === "macvtap" ? n.macvtapDevice! : n.tap!));
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

/** What the VMM is told: the machine, the guest kernel and its command line (with the NICs' settings), the NICs. */
export function vmSpec(i: VmInputs, nics: VmNic[], at: VmPlace): Readonly<VmSpec> {
    const agent = at.servers.includes("agent");
    return freezeSpec({
        driver: i.driver,
        binary: at.binary,
        machine: i.machine,
        accel: at.accel,
        vcpus: i.vcpus,
        memoryMiB: i.memoryMiB,
        kernel: i.kernel,
        initrd: agent ? `${at.dir}/initrd` : i.image,
        cmdline: [
            ...guestCmdline(
                i.nics.map((n, k) => ({ mac: nics[k].mac, address: n.address, gateway: n.gateway, mtu: n.mtu })),
                at.servers,
                i.busyPoll,
            ),
            ...i.cmdline,
        ],
        nics,
        dir: at.dir,
        name: at.name,
        template: i.custom?.argv,
        tscKhz: i.hostCaps?.tscKhz,
        agent,
    });
}
