import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { BusyPoll } from "../core/notification";
import type { QEMU_MACHINES } from "../core/qemu";
import type { VMM_DRIVERS } from "../core/vmm";
import type { HostConnection } from "../schema/host";
import { type BootTime, type MicroVmArgsSchema, type NIC_BACKENDS, type Placement, microVmHostCaps } from "../schema/microvm";
import { vmSecurityOf } from "../schema/security";
import type { Bridge } from "./bridge";
import type { Host } from "./host";
import type { GuestImage } from "./image";
import type { Kernel } from "./kernel";
import type { MacvtapLink } from "./macvtap";
import type { SecurityProfile } from "./security";
import type { Tap } from "./tap";
import { type ArgsOf, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export interface NicArgs {
    backend: pulumi.Input<(typeof NIC_BACKENDS)[number]>;
    /** For virtio and vhost-net: a Tap ... */
    tap?: Tap;
    /** ... or a Bridge the VM makes its own tap on. */
    bridge?: Bridge;
    /** For macvtap. */
    macvtap?: MacvtapLink;
    mac?: pulumi.Input<string>;
    address: pulumi.Input<string>;
    gateway?: pulumi.Input<string>;
    mtu?: pulumi.Input<number>;
    queues?: pulumi.Input<number>;
    /** vhost-net busy polling in µs (QEMU's tap poll-us): backend 'vhost-net' under QEMU only. */
    vhostPollUs?: pulumi.Input<number>;
}

export type MicroVmArgs = ArgsOf<
    Omit<z.input<typeof MicroVmArgsSchema>, "host" | "kernel" | "kernelRelease" | "image" | "imageSize" | "nics" | "hostCaps" | "security">
> & {
    host: Host;
    kernel: Kernel;
    image: GuestImage;
    nics: NicArgs[];
    /** Confine the VMM: seccomp, Landlock (plus the paths this VM needs), capabilities, rlimits. */
    security?: SecurityProfile;
};

/** A microVM: a VMM process booting a Kernel and GuestImage with NICs on taps or macvtaps. */
export class MicroVm extends pulumi.CustomResource {
    /** Where the VM runs (its host's connection). */
    public readonly host!: pulumi.Output<HostConnection>;
    public readonly driver!: pulumi.Output<(typeof VMM_DRIVERS)[number]>;
    /** QEMU's machine type (q35 for other drivers). */
    public readonly machine!: pulumi.Output<(typeof QEMU_MACHINES)[number]>;
    /** The kernel image path it boots. */
    public readonly kernel!: pulumi.Output<string>;
    /** That kernel's release (uname -r in the guest). */
    public readonly kernelRelease!: pulumi.Output<string | undefined>;
    public readonly vcpus!: pulumi.Output<number>;
    public readonly memoryMiB!: pulumi.Output<number>;
    public readonly pinning!: pulumi.Output<{ vcpus?: number[]; other?: number[]; vhost?: number[] } | undefined>;
    public readonly pid!: pulumi.Output<number>;
    public readonly accelUsed!: pulumi.Output<"kvm" | "tcg" | "vmm's own">;
    /** Set when the numbers of this VM are not comparable with KVM ones (TCG). */
    public readonly accelWarning!: pulumi.Output<string | undefined>;
    public readonly bootTime!: pulumi.Output<BootTime>;
    public readonly qmpSocket!: pulumi.Output<string>;
    /** The guest agent's unix socket on the VM's host ("" without the agent). */
    public readonly agentSocket!: pulumi.Output<string>;
    /** The key every agent request carries, fresh for each VM (a secret; "" without the agent). */
    public readonly agentKey!: pulumi.Output<string>;
    public readonly consoleLog!: pulumi.Output<string>;
    /** Per NIC: host-side interface, guest MAC and address. */
    public readonly interfaces!: pulumi.Output<{ host: string; mac: string; address: string; backend: string }[]>;
    /** Which host CPUs each thread may run on, read back after pinning (vCPU thread ids from QMP query-cpus-fast under QEMU). */
    public readonly placement!: pulumi.Output<Placement>;
    public readonly argv!: pulumi.Output<string[]>;
    /** The SecurityProfile the VMM runs under: its name, filter hash and the host's Landlock ABI (undefined: unconfined). */
    public readonly security!: pulumi.Output<{ profile: string; filterSha256?: string; landlock: { enabled: boolean; abi: number } } | undefined>;
    /** The confinement argv the VMM ran under: the profile's wrapper with this VM's own Landlock paths. */
    public readonly wrapper!: pulumi.Output<string[] | undefined>;
    /** The SecurityProfile's name the VMM runs under, or "none". */
    public readonly confinement!: pulumi.Output<string>;
    /** net.core.busy_poll and busy_read as the guest's init read them back at boot (null: it reported none). */
    public readonly guestBusyPoll!: pulumi.Output<BusyPoll | null>;
    /** The notification model in effect: "event-driven", or the guest's and the vhost workers' busy polling. */
    public readonly notification!: pulumi.Output<string>;
    /** IRQs confined for this VM (with the affinity they had before), or why a match was skipped. */
    public readonly irqs!: pulumi.Output<{ irq?: number; name?: string; before?: string; after?: string; match: string; skipped?: string }[]>;

    constructor(name: string, args: MicroVmArgs, opts?: pulumi.CustomResourceOptions) {
        const nics = args.nics.map((n) => ({
            backend: n.backend,
            tap: n.tap?.name,
            bridge: n.bridge?.name,
            macvtap: n.macvtap?.name,
            macvtapDevice: n.macvtap?.device,
            macvtapMac: n.macvtap?.mac,
            mac: n.mac,
            address: n.address,
            gateway: n.gateway,
            mtu: n.mtu,
            queues: n.queues,
            vhostPollUs: n.vhostPollUs,
        }));
        const hostCaps = args.host.probe.apply(microVmHostCaps);
        const p = args.security;
        const security = p
            ? pulumi
                  .all([p.name, p.wrapper, p.rules, p.landlockAbi, p.filterSha256, p.placement])
                  .apply(([name, wrapper, rules, landlockAbi, filterSha256, host]) => vmSecurityOf({ name, wrapper, rules, landlockAbi, filterSha256, host }))
            : undefined;
        const deps = [
            ...args.nics.map((n) => n.tap ?? n.macvtap ?? n.bridge).filter((x): x is Tap | MacvtapLink | Bridge => x !== undefined),
            args.kernel,
            args.image,
            ...(p ? [p] : []),
        ];
        super(
            TOKENS.MicroVm,
            name,
            {
                ...args,
                host: args.host.placement,
                kernel: args.kernel.path,
                image: args.image.path,
                imageSize: args.image.size,
                kernelRelease: args.kernel.release,
                nics,
                hostCaps,
                security,
                // Named so they come back as outputs (with their defaults) even when not given.
                driver: args.driver,
                machine: args.machine,
                vcpus: args.vcpus,
                memoryMiB: args.memoryMiB,
                // {} for none: an output absent from state reads as unknown in a preview.
                pinning: args.pinning ?? {},
                pid: undefined,
                accelUsed: undefined,
                accelWarning: undefined,
                bootTime: undefined,
                qmpSocket: undefined,
                agentSocket: undefined,
                agentKey: undefined,
                consoleLog: undefined,
                interfaces: undefined,
                placement: undefined,
                argv: undefined,
                wrapper: undefined,
                confinement: undefined,
                guestBusyPoll: undefined,
                notification: undefined,
                irqs: undefined,
            },
            withHost(
                {
                    ...opts,
                    additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "agentKey"],
                    dependsOn: [...(Array.isArray(opts?.dependsOn) ? opts!.dependsOn : opts?.dependsOn ? [opts.dependsOn] : []), ...deps] as any,
                },
                args.host,
            ),
        );
    }
}
