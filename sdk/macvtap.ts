import * as pulumi from "./pulumi";
import { z } from "zod";
import { HostConnectionSchema, type Host } from "./host";
import { IfnameSchema, LinkObserved, MacSchema, linkFields, refineLink } from "./link";
import { ArgsOf, withHost } from "./types";

export const MACVTAP_MODES = ["bridge", "vepa", "private", "passthru"] as const;

export const MacvtapLinkArgsSchema = z
    .object({
        host: HostConnectionSchema,
        ...linkFields,
        /**
         * The interface the macvtap sits on: a physical NIC on real hardware, a veth end on the
         * local stack. Replaces.
         */
        parent: IfnameSchema.optional(),
        /** macvtap mode (default bridge: guests on one parent reach each other). Replaces. */
        mode: z.enum(MACVTAP_MODES, { errorMap: () => ({ message: `must be one of ${MACVTAP_MODES.join(", ")}` }) }).default("bridge"),
        /**
         * The MAC the guest must use. Default: derived from the stack and resource name (stable across
         * runs, locally administered). Updated in place.
         */
        mac: MacSchema.optional(),
        /**
         * The host's interfaces at its last probe, passed by the SDK from the Host so check() can
         * refuse a parent the host does not have (before anything is created). Not compared by diff.
         */
        hostInterfaces: z.array(z.string()).optional(),
    })
    .strict()
    .superRefine((v, ctx) => {
        refineLink(v, ctx);
        if (v.parent === undefined) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["parent"], message: "is required: a macvtap sits on a parent interface (a NIC, or a VethPair end on the local stack)" });
        } else if (v.parent === v.name) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["parent"], message: "a macvtap cannot be its own parent" });
        }
    });

export type MacvtapLinkInputs = z.output<typeof MacvtapLinkArgsSchema>;
export type MacvtapLinkArgs = ArgsOf<Omit<z.input<typeof MacvtapLinkArgsSchema>, "host" | "hostInterfaces">> & { host: Host };

/** A macvtap link: a guest NIC straight on a parent interface, opened by the VMM as a character device. */
export class MacvtapLink extends pulumi.CustomResource {
    public readonly name!: pulumi.Output<string>;
    public readonly parent!: pulumi.Output<string>;
    public readonly mode!: pulumi.Output<string>;
    /** The MAC the guest must use. */
    public readonly mac!: pulumi.Output<string>;
    public readonly ifindex!: pulumi.Output<number>;
    /**
     * The character device to open (a node netbed made for this link: /dev/tap<ifindex> is not
     * unique across network namespaces).
     */
    public readonly device!: pulumi.Output<string>;
    public readonly observed!: pulumi.Output<LinkObserved>;

    constructor(name: string, args: MacvtapLinkArgs, opts?: pulumi.CustomResourceOptions) {
        super("netbed:index:MacvtapLink", name, { ...args, host: args.host.placement, hostInterfaces: args.host.probe.interfaces, mac: args.mac, ifindex: undefined, device: undefined, observed: undefined }, withHost(opts, args.host));
    }
}
