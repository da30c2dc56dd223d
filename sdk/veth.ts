import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { VethEndObserved, VethEndSchema } from "../schema/veth";
import type { Host } from "./host";
import { type ArgsOf, withHost } from "./types";
import { TOKENS } from "../core/tokens";

type EndArgs = ArgsOf<Omit<z.input<typeof VethEndSchema>, "host">> & { host: Host };
export interface VethPairArgs {
    a: EndArgs;
    b: EndArgs;
    mtu?: pulumi.Input<number>;
}

/** A veth pair: the wire between two hosts on one machine (the local stack's stand-in for a 10GbE link). */
export class VethPair extends pulumi.CustomResource {
    public readonly a!: pulumi.Output<unknown>;
    public readonly b!: pulumi.Output<unknown>;
    public readonly observed!: pulumi.Output<{ a: VethEndObserved; b: VethEndObserved }>;

    constructor(name: string, args: VethPairArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            TOKENS.VethPair,
            name,
            {
                a: { ...args.a, host: args.a.host.placement },
                b: { ...args.b, host: args.b.host.placement },
                mtu: args.mtu,
                observed: undefined,
            },
            withHost(withHost(opts, args.a.host), args.b.host),
        );
    }
}
