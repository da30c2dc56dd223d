import { z } from "zod";
import { IfnameSchema, MacSchema, linkFields, linkOutputs, refineLink } from "./common";
import { HostConnectionSchema } from "./host";

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
            ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["parent"],
                message: "is required: a macvtap sits on a parent interface (a NIC, or a VethPair end on the local stack)",
            });
        } else if (v.parent === v.name) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["parent"], message: "a macvtap cannot be its own parent" });
        }
    });

export type MacvtapLinkInputs = z.output<typeof MacvtapLinkArgsSchema>;

/** What create, read and update return besides the inputs. */
export const MacvtapLinkOutputsSchema = z
    .object({
        ...linkOutputs,
        /** The character device to open ("" when the node is missing or stale: the next update re-creates it). */
        device: z.string(),
    })
    .strict();
export type MacvtapLinkOutputs = z.output<typeof MacvtapLinkOutputsSchema>;
export type MacvtapLinkState = MacvtapLinkInputs & MacvtapLinkOutputs;
