import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type TapArgsSchema, type TapOutputs, TapOutputsSchema, type TapState } from "../schema/tap";
import type { Bridge } from "./bridge";
import type { Host } from "./host";
import { type ArgsOf, type Outputs, outputSlots, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type TapArgs = ArgsOf<Omit<z.input<typeof TapArgsSchema>, "host" | "bridge">> & {
    host: Host;
    /** A Bridge resource (or a bridge's name) on the same host. */
    bridge?: Bridge | pulumi.Input<string>;
};

/** The Tap's outputs: the inputs a VM's NIC needs, the ifindex and the link as observed. */
export interface Tap extends Outputs<Pick<TapState, "name" | "bridge" | "multiQueue" | "queues" | "vnetHdr" | keyof TapOutputs>> {}

/** A tap device on a host: the host end of a guest's virtio or vhost-net NIC. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields are the outputs registerResource sets on each instance, typed from the schema
export class Tap extends pulumi.CustomResource {
    constructor(name: string, args: TapArgs, opts?: pulumi.CustomResourceOptions) {
        const bridge =
            args.bridge && pulumi.CustomResource.isInstance(args.bridge) ? (args.bridge as Bridge).name : (args.bridge as pulumi.Input<string> | undefined);
        super(TOKENS.Tap, name, { ...outputSlots(TapOutputsSchema), ...args, host: args.host.placement, bridge }, withHost(opts, args.host));
    }
}
