import * as pulumi from "./pulumi";
import { z } from "zod";
import { HostConnectionSchema, type Host } from "./host";
import { IfnameSchema, LinkObserved, linkFields, refineLink } from "./link";
import { ArgsOf, withHost } from "./types";

export const BridgeArgsSchema = z
    .object({
        /** The host the bridge lives on (a Host's `connection`). */
        host: HostConnectionSchema,
        ...linkFields,
        /** Spanning tree protocol (default off: a testbed bridge has no loops, and STP delays forwarding). */
        stp: z.boolean().default(false),
        /**
         * Existing interfaces to enslave, such as a physical NIC. netbed attaches them and on delete
         * detaches them; it never deletes or downs them.
         */
        members: z.array(IfnameSchema).default([]),
    })
    .strict()
    .superRefine((v, ctx) => {
        refineLink(v, ctx);
        v.members.forEach((m, i) => {
            if (m === v.name) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["members", i], message: "a bridge cannot be its own member" });
        });
    });

export type BridgeInputs = z.output<typeof BridgeArgsSchema>;
export type BridgeArgs = ArgsOf<Omit<z.input<typeof BridgeArgsSchema>, "host">> & { host: Host };

/** A Linux bridge on a host: the switch bridged guests' taps plug into. */
export class Bridge extends pulumi.CustomResource {
    public readonly name!: pulumi.Output<string>;
    public readonly host!: pulumi.Output<unknown>;
    public readonly ifindex!: pulumi.Output<number>;
    /** MTU, state, addresses, txqueuelen and offloads as read back from the host. */
    public readonly observed!: pulumi.Output<LinkObserved>;

    constructor(name: string, args: BridgeArgs, opts?: pulumi.CustomResourceOptions) {
        super("netbed:index:Bridge", name, { ...args, host: args.host.placement, ifindex: undefined, observed: undefined }, withHost(opts, args.host));
    }
}
