import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { LinkObserved } from "../schema/common";
import type { TapArgsSchema } from "../schema/tap";
import type { Bridge } from "./bridge";
import type { Host } from "./host";
import { type ArgsOf, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type TapArgs = ArgsOf<Omit<z.input<typeof TapArgsSchema>, "host" | "bridge">> & {
    host: Host;
    /** A Bridge resource (or a bridge's name) on the same host. */
    bridge?: Bridge | pulumi.Input<string>;
};

/** A tap device on a host: the host end of a guest's virtio or vhost-net NIC. */
export class Tap extends pulumi.CustomResource {
    public readonly name!: pulumi.Output<string>;
    public readonly bridge!: pulumi.Output<string | undefined>;
    public readonly ifindex!: pulumi.Output<number>;
    public readonly multiQueue!: pulumi.Output<boolean>;
    public readonly queues!: pulumi.Output<number>;
    public readonly vnetHdr!: pulumi.Output<boolean>;
    public readonly observed!: pulumi.Output<LinkObserved>;

    constructor(name: string, args: TapArgs, opts?: pulumi.CustomResourceOptions) {
        const bridge =
            args.bridge && pulumi.CustomResource.isInstance(args.bridge) ? (args.bridge as Bridge).name : (args.bridge as pulumi.Input<string> | undefined);
        super(TOKENS.Tap, name, { ...args, host: args.host.placement, bridge, ifindex: undefined, observed: undefined }, withHost(opts, args.host));
    }
}
