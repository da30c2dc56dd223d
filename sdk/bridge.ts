import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type BridgeArgsSchema, type BridgeOutputs, BridgeOutputsSchema, type BridgeState } from "../schema/bridge";
import type { Host } from "./host";
import { type ArgsOf, type Outputs, outputSlots, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type BridgeArgs = ArgsOf<Omit<z.input<typeof BridgeArgsSchema>, "host">> & { host: Host };

/** The Bridge's outputs: its name and host, the ifindex and the link as observed. */
export interface Bridge extends Outputs<Pick<BridgeState, "name" | "host" | keyof BridgeOutputs>> {}

/** A Linux bridge on a host: the switch bridged guests' taps plug into. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields are the outputs registerResource sets on each instance, typed from the schema
export class Bridge extends pulumi.CustomResource {
    constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
        super(TOKENS.Bridge, name, { ...outputSlots(BridgeOutputsSchema), ...args, host: args.host.placement }, withHost(opts, args.host));
    }
}
