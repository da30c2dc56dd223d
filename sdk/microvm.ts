import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type MicroVmArgsSchema, type MicroVmOutputs, MicroVmOutputsSchema, type MicroVmState, microVmHostCaps } from "../schema/microvm";
import { vmSecurityOf } from "../schema/security";
import type { Bridge } from "./bridge";
import type { Host } from "./host";
import type { GuestImage } from "./image";
import type { Kernel } from "./kernel";
import type { MacvtapLink } from "./macvtap";
import type { SecurityProfile } from "./security";
import type { Tap } from "./tap";
import { type ArgsOf, type Outputs, outputSlots, withHost } from "./types";
import { TOKENS } from "../core/tokens";

/** A NIC as the schema takes it, with the Tap, Bridge or MacvtapLink itself where the schema takes its name (and a macvtap's device and MAC). */
export type NicArgs = ArgsOf<Omit<z.input<typeof MicroVmArgsSchema>["nics"][number], "tap" | "bridge" | "macvtap" | "macvtapDevice" | "macvtapMac">> & {
    /** For virtio and vhost-net: a Tap ... */
    tap?: Tap;
    /** ... or a Bridge the VM makes its own tap on. */
    bridge?: Bridge;
    /** For macvtap. */
    macvtap?: MacvtapLink;
};

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

/**
 * The MicroVm's outputs: where it runs (its host's connection), its driver, machine, kernel (path and
 * release), vCPUs, memory, pinning and SecurityProfile as validated, and what it observed at boot
 * (see MicroVmOutputsSchema): the VMM's pid, acceleration, boot time, sockets, the agent's key (a
 * secret), NICs, thread placement, argv, confinement, busy polling, notification model and IRQs.
 */
export interface MicroVm
    extends Outputs<
        Pick<
            MicroVmState,
            | "host"
            | "driver"
            | "machine"
            | "kernel"
            | "kernelRelease"
            | "vcpus"
            | "memoryMiB"
            | "pinning"
            | "security"
            | Exclude<keyof MicroVmOutputs, "startTime">
        >
    > {}

/** A microVM: a VMM process booting a Kernel and GuestImage with NICs on taps or macvtaps. */
export class MicroVm extends pulumi.CustomResource {
    constructor(name: string, args: MicroVmArgs, opts?: pulumi.CustomResourceOptions) {
        const nics = args.nics.map(({ tap, bridge, macvtap, ...n }) => ({
            ...n,
            tap: tap?.name,
            bridge: bridge?.name,
            macvtap: macvtap?.name,
            macvtapDevice: macvtap?.device,
            macvtapMac: macvtap?.mac,
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
                ...outputSlots(MicroVmOutputsSchema),
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
