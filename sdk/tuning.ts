import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type HostTuningArgsSchema, type HostTuningOutputs, HostTuningOutputsSchema } from "../schema/tuning";
import type { Host } from "./host";
import { type ArgsOf, type Outputs, outputSlots, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type HostTuningArgs = ArgsOf<Omit<z.input<typeof HostTuningArgsSchema>, "host">> & { host: Host };

/** The HostTuning's outputs: each setting as applied, the IRQs confined, and drift (see HostTuningOutputsSchema). */
export interface HostTuning extends Outputs<HostTuningOutputs> {}

/**
 * Host settings for stable numbers, applied on create and restored on delete. Each one the host
 * does not offer (no cpufreq in a VM, a sysctl another namespace owns) is skipped with the reason in
 * `applied` and the log, never failed silently.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields are the outputs registerResource sets on each instance, typed from the schema
export class HostTuning extends pulumi.CustomResource {
    constructor(name: string, args: HostTuningArgs, opts?: pulumi.CustomResourceOptions) {
        super(TOKENS.HostTuning, name, { ...outputSlots(HostTuningOutputsSchema), ...args, host: args.host.placement }, withHost(opts, args.host));
    }
}
