import { z } from "zod";
import type { HostProbe } from "../core/probe";
import { SERVERS, type Server } from "../core/guestinit";
import { cidrProblem, ipProblem } from "../core/net";
import { type BusyPoll, busyPollUsProblem } from "../core/notification";
import { machineLabel, machineOf } from "../core/placement";
import { QEMU_MACHINES } from "../core/qemu";
import { DRIVER_MODELS, type DriverModel, VMM_DRIVERS, templateProblem } from "../core/vmm";
import type { Nic, VmInputs } from "../core/vmspec";
import { IfnameSchema, MacSchema, hostPath, observedList, observedObject, refineWith } from "./common";
import { HostConnectionSchema } from "./host";
import type { IrqApplied } from "./tuning";

/** A path the VMM takes inside an option value: a host path without ',' (QEMU's separator) or whitespace. */
const VmPath = hostPath().refine((p) => !/[,\s]/.test(p), "must not contain ',' or spaces (they would split the VMM's option)");
/** A host CPU number (NR_CPUS caps it even where the host's count is not known yet). */
const Cpu = z.number().int().min(0).max(8191);
/** A busy-polling time in µs (0: off), bounded by core/notification's MAX_BUSY_POLL_US. */
const BusyPollUs = z.number().superRefine((us, ctx) => {
    const problem = busyPollUsProblem(us);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${us} ${problem}` });
});

export const NIC_BACKENDS = ["virtio", "vhost-net", "macvtap"] as const;

const NicSchema = z
    .object({
        /**
         * `virtio`: a tap, device model in the VMM (QEMU vhost=off); `vhost-net`: the same tap with the
         * kernel's vhost worker (refused where the host has no /dev/vhost-net); `macvtap`: a
         * MacvtapLink's device handed to the VMM as a file descriptor.
         */
        backend: z.enum(NIC_BACKENDS, { errorMap: () => ({ message: `must be one of ${NIC_BACKENDS.join(", ")}` }) }),
        /** For virtio and vhost-net: the tap's name on the host (a Tap's `name`). */
        tap: IfnameSchema.optional(),
        /** For virtio and vhost-net, instead of `tap`: a bridge on the host; the VM makes its own tap there (removed with it). */
        bridge: IfnameSchema.optional(),
        /** For macvtap: the MacvtapLink's name, device node and MAC (the SDK fills them from the resource). */
        macvtap: IfnameSchema.optional(),
        macvtapDevice: VmPath.optional(),
        macvtapMac: MacSchema.optional(),
        /** Guest MAC. Default: derived from the VM and NIC index (macvtap: the link's MAC, which it must equal). */
        mac: MacSchema.optional(),
        /** Guest address with prefix length. */
        address: z.string().superRefine(refineWith(cidrProblem)),
        gateway: z.string().superRefine(refineWith(ipProblem)).optional(),
        mtu: z.number().int().min(68).max(65535).optional(),
        /** virtio-net queues (needs a multi-queue tap when > 1). Default 1. */
        queues: z.number().int().min(1).max(64).default(1),
        /**
         * vhost-net busy polling: µs the host's vhost worker polls the NIC's rings before it waits for
         * a notification (QEMU's tap `poll-us`). Only backend 'vhost-net' under driver 'qemu'.
         */
        vhostPollUs: BusyPollUs.optional(),
    })
    .strict();

/** A when A and B have the same fields, each of the same type; else never. */
type Same<A, B> = [A, keyof A] extends [B, keyof B] ? ([B, keyof B] extends [A, keyof A] ? A : never) : never;

/**
 * A NIC as this schema parses it, which is the NIC core renders from (core/vmspec.ts Nic): a field
 * added, renamed or retyped on one side only makes this never, and the checks below stop compiling.
 */
export type MicroVmNic = Same<z.output<typeof NicSchema>, Nic>;

/** What a MicroVm takes from its SecurityProfile (the SDK fills it from the resource). */
const VmSecuritySchema = z
    .object({
        /** The profile's resource name. */
        profile: z.string(),
        /** Its wrapper: the argv prefix ending with netbed-confine's "--". */
        wrapper: z.array(z.string()).min(2),
        /** Whether the profile applies Landlock (the VM then adds the paths it needs) and the host's ABI. */
        landlock: z.object({ enabled: z.boolean(), abi: z.number().int().min(0) }).strict(),
        filterSha256: z.string().optional(),
        /** The uid, gid and supplementary groups the VMM runs as. */
        user: z.number().int().min(0).optional(),
        group: z.number().int().min(0).optional(),
        groups: z.array(z.number().int().min(0)).optional(),
        /** Which machine the profile's files are on (core/placement's machineOf: netns and local hosts share this one). */
        machine: z.string(),
        /** That machine as a person reads it (absent in states written before it was recorded). */
        machineLabel: z.string().optional(),
    })
    .strict();

const MicroVmFieldsSchema = z
    .object({
        host: HostConnectionSchema,
        /**
         * The VMM: "qemu" (default); "firecracker" or "cloud-hypervisor" (KVM only, their binary on the
         * host's PATH or at `binary`); or "custom" with `custom.argv`, a template for a VMM netbed does
         * not know (placeholders {kernel} {initrd} {cmdline} {vcpus} {memoryMiB} {tapN} {macN} {fdN};
         * its serial console must be its stdin/stdout).
         */
        driver: z.enum(VMM_DRIVERS, { errorMap: () => ({ message: `must be one of ${VMM_DRIVERS.join(", ")}` }) }).default("qemu"),
        custom: z
            .object({ argv: z.array(z.string()) })
            .strict()
            .optional(),
        /** The VMM binary's absolute path on the host. Default: the driver's binary found on the host's PATH. */
        binary: VmPath.refine((p) => !p.endsWith("/"), "must be the path of a file, not a directory").optional(),
        /** QEMU's machine type: q35 (default; reliable under TCG) or microvm (virtio-mmio devices). */
        machine: z.enum(QEMU_MACHINES, { errorMap: () => ({ message: `must be one of ${QEMU_MACHINES.join(", ")}` }) }).default("q35"),
        vcpus: z.number().int().min(1, "must be at least 1").max(64).default(1),
        /** Guest memory in MiB. Default 256. */
        memoryMiB: z
            .number()
            .int()
            .min(32, "must be at least 32 MiB")
            .max(1 << 20)
            .default(256),
        /** The kernel image path (a Kernel's `path`). */
        kernel: VmPath,
        /** The initramfs path (a GuestImage's `path`) and size (checked against memory). */
        image: VmPath,
        imageSize: z.number().int().min(0).optional(),
        /** The kernel's release (a Kernel's `release`, filled by the SDK): recorded with benchmark results. */
        kernelRelease: z.string().max(200).optional(),
        /** Extra kernel command line words. */
        cmdline: z.array(z.string().max(4096, "must be at most 4096 characters").regex(/^\S+$/, "must be one word (no whitespace)")).max(256).default([]),
        nics: z.array(NicSchema).min(1, "give at least one NIC").max(8),
        /**
         * Guest-side busy polling, the notification model inside the guest: its init sets
         * net.core.busy_poll (`pollUs`: poll/select/epoll) and net.core.busy_read (`readUs`: socket
         * reads) to these µs before the servers start. Absent: the kernel's default, event-driven.
         */
        busyPoll: z
            .object({ pollUs: BusyPollUs.default(0), readUs: BusyPollUs.default(0) })
            .strict()
            .optional(),
        /**
         * What the guest starts at boot: benchmark servers and the agent that runs clients in it.
         * Default: all (iperf3, sockperf, netserver, agent); without the agent for drivers that
         * cannot give the guest its virtio-serial port (all but qemu).
         */
        servers: z.array(z.enum(SERVERS)).optional(),
        /** `kvm`, `tcg`, or `auto` (kvm where the host can run stock guests under KVM, else tcg with a warning). */
        accel: z.enum(["kvm", "tcg", "auto"]).default("auto"),
        /**
         * CPU placement: `vcpus` pins vCPU i to host CPU vcpus[i]; `other` confines the VMM's other
         * threads; `vhost` confines the kernel's vhost workers of its vhost-net NICs.
         */
        pinning: z
            .object({
                vcpus: z.array(Cpu).optional(),
                other: z.array(Cpu).min(1).optional(),
                vhost: z.array(Cpu).min(1).optional(),
            })
            .strict()
            .optional(),
        /**
         * IRQ affinity for the host NIC queues that feed the guest (the KVM criteria pin them with the
         * vCPUs): every IRQ whose /proc/interrupts name contains `match` is confined to `cpus` while the
         * VM exists, and restored when it is deleted. Skipped, with the reason in the output, where none
         * matches or the host refuses.
         */
        irqAffinity: z
            .array(
                z
                    .object({
                        match: z.string().regex(/^[A-Za-z0-9_.:@+-]+$/, "must be part of an IRQ name like eth0 or eth0-TxRx-0"),
                        cpus: z.array(Cpu).min(1),
                    })
                    .strict(),
            )
            .default([]),
        /** Run the VMM confined by a SecurityProfile (on the same machine). Changing it replaces the VM. */
        security: VmSecuritySchema.optional(),
        /** Give up waiting for the readiness line after this many seconds (default 180). */
        bootTimeoutSeconds: z.number().int().min(5).max(3600).default(180),
        /** What the host offers, from its probe (filled by the SDK): checked before anything is created. */
        hostCaps: z
            .object({
                cores: z.number().int(),
                vhostNet: z.boolean(),
                kvmUsable: z.boolean(),
                kvmReason: z.string().optional(),
                /** Tools found on the host's PATH by its probe (VMM binaries among them). */
                tools: z.array(z.string()).optional(),
                /** The host's TSC frequency in kHz, where its probe can tell it. */
                tscKhz: z.number().int().positive().optional(),
            })
            .strict()
            .optional(),
    })
    .strict();

type MicroVmFields = z.output<typeof MicroVmFieldsSchema>;

/** What the guest starts: the given servers, or the driver's default (the agent only where it gets its port). */
export function guestServers(v: Pick<MicroVmFields, "driver" | "servers">): Server[] {
    return v.servers ?? SERVERS.filter((s) => s !== "agent" || DRIVER_MODELS[v.driver].supports.agentPort);
}

type Issue = (path: (string | number)[], message: string) => void;

export const MicroVmArgsSchema = MicroVmFieldsSchema.superRefine((v, ctx) => {
    const issue: Issue = (path, message) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
    const model = DRIVER_MODELS[v.driver];
    checkCustomDriver(v, issue);
    checkDriverSupport(v, model, issue);
    if (v.servers?.includes("agent") && !model.supports.agentPort)
        issue(
            ["servers"],
            `the guest agent is reached over a virtio-serial port on a host socket, which driver '${v.driver}' does not give the guest here: drop 'agent' from servers (the guest can still serve), or use driver 'qemu'`,
        );
    checkMicrovmClock(v, issue);
    if (v.pinning?.vhost && !v.nics.some((n) => n.backend === "vhost-net"))
        issue(["pinning", "vhost"], "pins vhost workers, but no NIC uses backend 'vhost-net'");
    checkNics(v, model, issue);
    if (v.accel === "kvm" && v.hostCaps && !v.hostCaps.kvmUsable) {
        issue(["accel"], `host '${v.host.name}' cannot run stock guests under KVM (${v.hostCaps.kvmReason ?? "no usable /dev/kvm"}): use 'tcg' or 'auto'`);
    }
    if (v.pinning?.vcpus && v.pinning.vcpus.length !== v.vcpus) {
        issue(["pinning", "vcpus"], `gives ${v.pinning.vcpus.length} CPUs for ${v.vcpus} vCPUs: give one host CPU per vCPU`);
    }
    if (v.hostCaps) checkCpusExist(v, v.hostCaps.cores, issue);
    checkSecurityPlacement(v, issue);
    checkMemoryFitsImage(v, issue);
});

function checkCustomDriver(v: MicroVmFields, issue: Issue): void {
    if (v.driver === "custom") {
        if (!v.custom) issue(["custom"], "the custom driver needs custom.argv, the VMM's argv template");
        else {
            const p = templateProblem(v.custom.argv, v.nics.length);
            if (p) issue(["custom", "argv"], p);
        }
        if (v.accel !== "auto") issue(["accel"], "a custom VMM chooses its own acceleration: leave accel unset");
        if (v.binary) issue(["binary"], "the custom driver's binary is the first word of custom.argv");
    } else if (v.custom) issue(["custom"], "only applies to driver 'custom'");
}

/** What the driver cannot do that the VM asks for: pinning, machine types, TCG, its binary on the host. */
function checkDriverSupport(v: MicroVmFields, model: DriverModel, issue: Issue): void {
    const driverName = `driver '${v.driver}'`;
    if (!model.supports.vcpuPinning && v.pinning?.vcpus)
        issue(
            ["pinning", "vcpus"],
            `vCPU pinning needs a driver whose vCPU threads netbed can find (qemu, firecracker, cloud-hypervisor); use pinning.other for a custom VMM`,
        );
    if (!model.supports.machineTypes && v.machine !== "q35") issue(["machine"], `only applies to driver 'qemu'`);
    if (!model.supports.tcg) {
        if (v.accel === "tcg") issue(["accel"], `${driverName} runs guests under KVM only: use 'kvm' or 'auto', or driver 'qemu' for TCG`);
        else if (v.hostCaps && !v.hostCaps.kvmUsable)
            issue(
                ["driver"],
                `${driverName} needs KVM, and host '${v.host.name}' cannot run stock guests under it (${v.hostCaps.kvmReason ?? "no usable /dev/kvm"}): use driver 'qemu' (TCG)`,
            );
    }
    if (model.defaultBinary && !v.binary && v.hostCaps?.tools && !v.hostCaps.tools.includes(model.defaultBinary)) {
        issue(
            ["binary"],
            `${driverName} needs ${model.defaultBinary}, which is not on host '${v.host.name}''s PATH: install it there or give its absolute path in \`binary\``,
        );
    }
}

/** QEMU's microvm machine under TCG boots only when told the host's TSC frequency (core/qemu.ts tscWords). */
function checkMicrovmClock(v: MicroVmFields, issue: Issue): void {
    if (v.driver !== "qemu" || v.machine !== "microvm" || !v.hostCaps || v.hostCaps.tscKhz) return;
    const tcg = v.accel === "tcg" || (v.accel === "auto" && !v.hostCaps.kvmUsable);
    if (tcg)
        issue(
            ["machine"],
            `'microvm' under TCG needs the TSC frequency of host '${v.host.name}' for the guest kernel (it has no timer to calibrate against), ` +
                "and the host's /proc/cpuinfo does not state it (a cpufreq driver or APERF/MPERF makes its 'cpu MHz' a core's current clock): use machine 'q35'",
        );
}

function checkNics(v: MicroVmFields, model: DriverModel, issue: Issue): void {
    const macs = new Map<string, number>();
    v.nics.forEach((n, i) => {
        const nicIssue: Issue = (path, message) => issue(["nics", i, ...path], message);
        checkNicBackend(v, n, model, nicIssue);
        const mac = n.mac ?? n.macvtapMac;
        if (mac) {
            if (macs.has(mac)) nicIssue(["mac"], `MAC ${mac} is also nics[${macs.get(mac)}]'s`);
            macs.set(mac, i);
        }
    });
}

/** One NIC against its backend: what the driver and host support, and the link that backend takes. */
function checkNicBackend(v: MicroVmFields, n: MicroVmNic, model: DriverModel, issue: Issue): void {
    const driverName = `driver '${v.driver}'`;
    if (n.backend === "macvtap" && !model.supports.macvtap)
        issue(["backend"], `${driverName} cannot take a macvtap device (it opens taps by name): use backend 'virtio' with a tap or bridge`);
    if (n.backend === "vhost-net" && !model.supports.vhostNet)
        issue(["backend"], `${driverName} has no vhost-net backend: use 'virtio', or driver 'qemu' for vhost-net`);
    if (n.queues > 1 && (!model.supports.multiQueue || n.backend === "macvtap")) {
        issue(
            ["queues"],
            n.backend === "macvtap" ? "a macvtap NIC has one queue here (netbed opens its device once)" : `${driverName} takes one queue per NIC`,
        );
    }
    if (n.backend === "macvtap") {
        if (n.tap !== undefined) issue(["tap"], "a macvtap NIC takes a MacvtapLink, not a tap: use backend 'virtio' for a tap");
        if (!n.macvtap) issue(["macvtap"], "a macvtap NIC needs a MacvtapLink (pass `macvtap: link`)");
        if (n.mac && n.macvtapMac && n.mac !== n.macvtapMac) issue(["mac"], `must equal the macvtap link's MAC ${n.macvtapMac} (or be left out)`);
    } else {
        if ((n.tap === undefined) === (n.bridge === undefined))
            issue(["tap"], `a ${n.backend} NIC needs either a tap (a Tap) or a bridge (the VM then makes its own tap)`);
        if (n.macvtapDevice !== undefined) issue(["macvtapDevice"], `a ${n.backend} NIC cannot use a macvtap device: set backend 'macvtap'`);
    }
    if (n.vhostPollUs !== undefined && n.backend !== "vhost-net")
        issue(
            ["vhostPollUs"],
            `busy-polls the host's vhost-net worker (QEMU's poll-us), and this NIC's backend is '${n.backend}': use backend 'vhost-net', or busyPoll for polling inside the guest`,
        );
    else if (n.vhostPollUs !== undefined && v.driver !== "qemu") issue(["vhostPollUs"], `is QEMU's tap poll-us: only with driver 'qemu'`);
    if (n.backend === "vhost-net" && v.hostCaps && !v.hostCaps.vhostNet) {
        issue(
            ["backend"],
            `vhost-net backend needs /dev/vhost-net on host '${v.host.name}', which it does not have; use 'virtio' (netbed never downgrades silently)`,
        );
    }
}

/** Every pinned CPU and IRQ affinity CPU is one of the host's `cores`. */
function checkCpusExist(v: MicroVmFields, cores: number, issue: Issue): void {
    const missing = (c: number) => `CPU ${c} does not exist on host '${v.host.name}' (it has CPUs 0-${cores - 1})`;
    for (const [k, list] of [
        ["vcpus", v.pinning?.vcpus],
        ["other", v.pinning?.other],
        ["vhost", v.pinning?.vhost],
    ] as const) {
        (list ?? []).forEach((c, i) => {
            if (c >= cores) issue(["pinning", k, i], missing(c));
        });
    }
    v.irqAffinity.forEach((a, k) => {
        a.cpus.forEach((c, i) => {
            if (c >= cores) issue(["irqAffinity", k, "cpus", i], missing(c));
        });
    });
}

function checkSecurityPlacement(v: MicroVmFields, issue: Issue): void {
    // States written before `machine` was core/placement's machineOf hold its label instead.
    if (v.security && v.security.machine !== machineOf(v.host) && v.security.machine !== machineLabel(v.host)) {
        issue(
            ["security"],
            `SecurityProfile '${v.security.profile}' is on ${v.security.machineLabel ?? v.security.machine}, host '${v.host.name}' on ${machineLabel(v.host)}: place the profile on the VM's machine`,
        );
    }
}

function checkMemoryFitsImage(v: MicroVmFields, issue: Issue): void {
    // The (uncompressed) initramfs and the files unpacked from it are both in RAM until the kernel
    // frees the archive; the rest is the kernel and the tools. An 18.3 MiB image boots in 64 MiB.
    if (v.imageSize !== undefined) {
        const need = 32 + Math.ceil((2 * v.imageSize) / 2 ** 20);
        if (v.memoryMiB < need)
            issue(["memoryMiB"], `${v.memoryMiB} MiB is too small for a ${(v.imageSize / 2 ** 20).toFixed(1)} MiB image: give at least ${need} MiB`);
    }
}

/**
 * The validated MicroVm arguments. The VM spec reads them under their names (core/vmspec.ts
 * VmInputs): should a field it reads leave this schema or change type, this is never and nothing compiles.
 */
export type MicroVmInputs = SpecReadsInputs extends true ? MicroVmOutput : never;
type MicroVmOutput = z.output<typeof MicroVmArgsSchema>;
type SpecReadsInputs = [keyof VmInputs] extends [keyof MicroVmOutput] ? ([MicroVmOutput] extends [VmInputs] ? true : false) : false;

/** What a MicroVm's check needs to know of its host (its `hostCaps` input). */
export function microVmHostCaps(p: HostProbe): NonNullable<MicroVmInputs["hostCaps"]> {
    return {
        cores: p.cores,
        vhostNet: p.vhostNet,
        kvmUsable: p.kvm.usable,
        kvmReason: p.kvm.reason,
        tscKhz: p.tscKhz,
        tools: Object.entries(p.tools ?? {})
            .filter(([, t]) => t.path)
            .map(([name]) => name),
    };
}

export interface Placement {
    /** Where the thread ids came from: QEMU's QMP query-cpus-fast, or the VMM's thread names. */
    source: "qmp" | "thread names";
    vcpus: { index: number; thread: number; cpus: string }[];
    other: { thread: number; name: string; cpus: string }[];
    /** vhost workers of the VM's vhost-net NICs (kernel threads, or the VMM's own on kernels >= 6.4). */
    vhost: { thread: number; name: string; cpus: string }[];
}

const BootTimeSchema = z.object({
    /** Guest uptime when its init printed the readiness line. */
    guestSeconds: z.number(),
    /** From starting the VMM to seeing the readiness line. */
    wallSeconds: z.number(),
});
export type BootTime = z.output<typeof BootTimeSchema>;

/** What create, read and update return besides the inputs. */
export const MicroVmOutputsSchema = z
    .object({
        pid: z.number().int(),
        /** The VMM's start time (/proc/<pid>/stat), so a reused pid never reads as the VMM alive. */
        startTime: z.string().optional(),
        accelUsed: z.enum(["kvm", "tcg", "vmm's own"]),
        /** Set when the numbers of this VM are not comparable with KVM ones (TCG). */
        accelWarning: z.string().optional(),
        bootTime: BootTimeSchema,
        /** QMP's socket ("" without QMP). */
        qmpSocket: z.string(),
        /** The guest agent's unix socket on the VM's host ("" without the agent). */
        agentSocket: z.string(),
        /** The key every agent request carries, fresh for each VM ("" without the agent). */
        agentKey: z.string(),
        consoleLog: z.string(),
        /** Per NIC: host-side interface, guest MAC and address. */
        interfaces: z.array(z.object({ host: z.string(), mac: z.string(), address: z.string(), backend: z.enum(NIC_BACKENDS) })),
        /** Which host CPUs each thread may run on, read back after pinning. */
        placement: observedObject<Placement>("the VM's thread placement"),
        argv: z.array(z.string()),
        /** The confinement argv the VMM ran under. */
        wrapper: z.array(z.string()).optional(),
        /** The SecurityProfile's name the VMM runs under, or "none". */
        confinement: z.string(),
        /** net.core.busy_poll and busy_read as the guest's init read them back (null: it reported none). */
        guestBusyPoll: observedObject<BusyPoll>("the guest's busy polling").nullable(),
        /** The notification model in effect. */
        notification: z.string(),
        /** IRQs confined for this VM ([] in state from versions that confined none). */
        irqs: observedList<IrqApplied>("IRQs as confined").default([]),
    })
    .strict();
export type MicroVmOutputs = z.output<typeof MicroVmOutputsSchema>;
export type MicroVmState = MicroVmInputs & MicroVmOutputs;
