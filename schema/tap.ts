import { z } from "zod";
import { IfnameSchema, MacSchema, linkFields, linkOutputs, refineLink } from "./common";
import { HostConnectionSchema } from "./host";

export const TapArgsSchema = z
    .object({
        host: HostConnectionSchema,
        ...linkFields,
        /** Bridge to attach to (its name on the same host). Updated in place. */
        bridge: IfnameSchema.optional(),
        /** Multi-queue tap (one queue per vCPU for virtio-net multiqueue). Default off. Replaces. */
        multiQueue: z.boolean().default(false),
        /** Queues the VMM opens when multiQueue is on (1-256). Default 1. */
        queues: z.number().int().min(1).max(256).default(1),
        /** uid allowed to open the tap without CAP_NET_ADMIN (for a VMM that drops privileges). Replaces. */
        owner: z.number().int().min(0).max(4294967294, "must be a uid (0-4294967294)").optional(),
        /** gid allowed to open the tap. Replaces. */
        group: z.number().int().min(0).max(4294967294, "must be a gid (0-4294967294)").optional(),
        /** virtio-net header support (needed for offloads between guest and host). Default on. Replaces. */
        vnetHdr: z.boolean().default(true),
        /** Host-side MAC of the tap. Default: the kernel's random one. */
        mac: MacSchema.optional(),
    })
    .strict()
    .superRefine((v, ctx) => {
        refineLink(v, ctx);
        if (!v.multiQueue && v.queues > 1) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["queues"], message: `${v.queues} queues need multiQueue: true` });
        }
        if (v.bridge !== undefined && v.bridge === v.name) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["bridge"], message: "a tap cannot be attached to itself" });
        }
    });

export type TapInputs = z.output<typeof TapArgsSchema>;

/** What create, read and update return besides the inputs. */
export const TapOutputsSchema = z.object(linkOutputs).strict();
export type TapOutputs = z.output<typeof TapOutputsSchema>;
export type TapState = TapInputs & TapOutputs;
