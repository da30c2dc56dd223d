import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { HostTuningArgsSchema, TuningApplied } from "../schema/tuning";
import type { Host } from "./host";
import { type ArgsOf, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type HostTuningArgs = ArgsOf<Omit<z.input<typeof HostTuningArgsSchema>, "host">> & { host: Host };

/**
 * Host settings for stable numbers, applied on create and restored on delete. Each one the host
 * does not offer (no cpufreq in a VM, a sysctl another namespace owns) is skipped with the reason in
 * `applied` and the log, never failed silently.
 */
export class HostTuning extends pulumi.CustomResource {
    public readonly applied!: pulumi.Output<TuningApplied[]>;
    /** IRQs confined, with the affinity they had before, or why a match was skipped. */
    public readonly irqs!: pulumi.Output<{ irq?: number; name?: string; before?: string; after?: string; match: string; skipped?: string }[]>;
    /** Settings whose current value differs from what was applied (read on refresh). */
    public readonly drift!: pulumi.Output<string[]>;

    constructor(name: string, args: HostTuningArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            TOKENS.HostTuning,
            name,
            { ...args, host: args.host.placement, applied: undefined, irqs: undefined, drift: undefined },
            withHost(opts, args.host),
        );
    }
}
