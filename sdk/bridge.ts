import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { LinkObserved } from "../schema/common";
import type { BridgeArgsSchema } from "../schema/bridge";
import type { Host } from "./host";
import { type ArgsOf, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type BridgeArgs = ArgsOf<Omit<z.input<typeof BridgeArgsSchema>, "host">> & { host: Host };

/** A Linux bridge on a host: the switch bridged guests' taps plug into. */
export class Bridge extends pulumi.CustomResource {
    public readonly name!: pulumi.Output<string>;
    public readonly host!: pulumi.Output<unknown>;
    public readonly ifindex!: pulumi.Output<number>;
    /** MTU, state, addresses, txqueuelen and offloads as read back from the host. */
    public readonly observed!: pulumi.Output<LinkObserved>;

    constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
        super(TOKENS.Bridge, name, { ...args, host: args.host.placement, ifindex: undefined, observed: undefined }, withHost(opts, args.host));
    }
}
