import { z } from "zod";
import { machineLabel, machineOf } from "../core/placement";
import { type LinkObserved, MacSchema, linkFields, observedObject, refineLink } from "./common";
import { HostConnectionSchema } from "./host";

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
        const sameStack =
            JSON.stringify(v.a.host) === JSON.stringify(v.b.host) ||
            (v.a.host.kind !== "netns" && v.b.host.kind !== "netns" && v.a.host.kind === v.b.host.kind);
        if (sameStack && v.a.name === v.b.name) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["b", "name"], message: `both ends are called '${v.a.name}' on the same host` });
        }
    });

export type VethPairInputs = z.output<typeof VethPairArgsSchema>;

export interface VethEndObserved extends LinkObserved {
    name: string;
}

/** What create, read and update return besides the inputs. */
export const VethPairOutputsSchema = z
    .object({
        /** Each end as read back from its host. */
        observed: observedObject<{ a: VethEndObserved; b: VethEndObserved }>("both ends as observed"),
    })
    .strict();
export type VethPairOutputs = z.output<typeof VethPairOutputsSchema>;
export type VethPairState = VethPairInputs & VethPairOutputs;
