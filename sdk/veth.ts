import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type VethEndSchema, type VethPairOutputs, VethPairOutputsSchema, type VethPairState } from "../schema/veth";
import type { Host } from "./host";
import { type ArgsOf, type Outputs, outputSlots, withHost } from "./types";
import { TOKENS } from "../core/tokens";

type EndArgs = ArgsOf<Omit<z.input<typeof VethEndSchema>, "host">> & { host: Host };
export interface VethPairArgs {
    a: EndArgs;
    b: EndArgs;
    mtu?: pulumi.Input<number>;
}

/** The VethPair's outputs: both ends as declared and as observed. */
export interface VethPair extends Outputs<Pick<VethPairState, "a" | "b" | keyof VethPairOutputs>> {}

/** A veth pair: the wire between two hosts on one machine (the local stack's stand-in for a 10GbE link). */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields are the outputs registerResource sets on each instance, typed from the schema
export class VethPair extends pulumi.CustomResource {
    constructor(name: string, args: VethPairArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            TOKENS.VethPair,
            name,
            {
                ...outputSlots(VethPairOutputsSchema),
                a: { ...args.a, host: args.a.host.placement },
                b: { ...args.b, host: args.b.host.placement },
                mtu: args.mtu,
            },
            withHost(withHost(opts, args.a.host), args.b.host),
        );
    }
}
