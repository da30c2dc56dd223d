import { z } from "zod";
import { IfnameSchema, linkFields, linkOutputs, refineLink } from "./common";
import { HostConnectionSchema } from "./host";

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

/** What create, read and update return besides the inputs. */
export const BridgeOutputsSchema = z.object(linkOutputs).strict();
export type BridgeOutputs = z.output<typeof BridgeOutputsSchema>;
export type BridgeState = BridgeInputs & BridgeOutputs;
