import * as pulumi from "./pulumi";
import { z } from "zod";
import { machineLabel, machineOf } from "../core/placement";
import { HostConnectionSchema, type Host } from "./host";
import { LinkObserved, MacSchema, linkFields, refineLink } from "./link";
import { ArgsOf, withHost } from "./types";

const { mtu: _mtu, ...endFields } = linkFields;

export const VethEndSchema = z
    .object({
        host: HostConnectionSchema,
        ...endFields,
        /** MAC of this end. Default: the kernel's random one. */
        mac: MacSchema.optional(),
    })
    .strict();

export const VethPairArgsSchema = z
    .object({
        /** One end (on the seeds' testbeds: the server side of the wire). */
        a: VethEndSchema,
        /** The other end (the client or external side). */
        b: VethEndSchema,
        /** MTU of both ends. Updated in place. */
        mtu: linkFields.mtu,
    })
    .strict()
    .superRefine((v, ctx) => {
        refineLink(v.a, ctx, ["a"]);
        refineLink(v.b, ctx, ["b"]);
        if (machineOf(v.a.host) !== machineOf(v.b.host)) {
            ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["b", "host"],
                message: `a veth pair cannot span machines (a is on ${machineLabel(v.a.host)}, b on ${machineLabel(v.b.host)}): connect machines through their NICs`,
            });
        }
        const sameStack = JSON.stringify(v.a.host) === JSON.stringify(v.b.host) || (v.a.host.kind !== "netns" && v.b.host.kind !== "netns" && v.a.host.kind === v.b.host.kind);
        if (sameStack && v.a.name === v.b.name) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["b", "name"], message: `both ends are called '${v.a.name}' on the same host` });
        }
    });

export type VethPairInputs = z.output<typeof VethPairArgsSchema>;
type EndArgs = ArgsOf<Omit<z.input<typeof VethEndSchema>, "host">> & { host: Host };
export interface VethPairArgs {
    a: EndArgs;
    b: EndArgs;
    mtu?: pulumi.Input<number>;
}

export interface VethEndObserved extends LinkObserved {
    name: string;
}

/** A veth pair: the wire between two hosts on one machine (the local stack's stand-in for a 10GbE link). */
export class VethPair extends pulumi.CustomResource {
    public readonly a!: pulumi.Output<unknown>;
    public readonly b!: pulumi.Output<unknown>;
    public readonly observed!: pulumi.Output<{ a: VethEndObserved; b: VethEndObserved }>;

    constructor(name: string, args: VethPairArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            "netbed:index:VethPair",
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
