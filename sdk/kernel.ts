import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type KernelArgsSchema, type KernelOutputs, KernelOutputsSchema, type KernelState } from "../schema/kernel";
import type { Host } from "./host";
import { type ArgsOf, type Outputs, outputSlots, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type KernelArgs = ArgsOf<Omit<z.input<typeof KernelArgsSchema>, "host">> & { host: Host };

/** The Kernel's outputs (see KernelOutputsSchema) and its host. */
export interface Kernel extends Outputs<Pick<KernelState, "host" | keyof KernelOutputs>> {}

/** A guest kernel: from a Debian package, a file, or built from source; cached by content on its host. */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields are the outputs registerResource sets on each instance, typed from the schema
export class Kernel extends pulumi.CustomResource {
    constructor(name: string, args: KernelArgs, opts?: pulumi.CustomResourceOptions) {
        super(TOKENS.Kernel, name, { ...outputSlots(KernelOutputsSchema), ...args, host: args.host.placement }, withHost(opts, args.host));
    }
}
