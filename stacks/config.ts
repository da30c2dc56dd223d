// The stack config schema: what stacks/Pulumi.<hardware>.yaml may say. Validated before anything
// is created, with errors that name the config key.
import { z } from "zod";
import { HostArgsSchema } from "../sdk/host";

export const HOST_NAME = /^[a-z][a-z0-9-]{0,30}$/;

export const StackConfigSchema = z
    .object({
        /** The testbed's hosts by name (server, client, external, ...). */
        hosts: z
            .record(z.string().regex(HOST_NAME, "host names are lower-case letters, digits and '-', starting with a letter"), z.unknown())
            .refine((h) => Object.keys(h).length > 0, "declare at least one host"),
    })
    .strict();

export type StackConfig = z.output<typeof StackConfigSchema>;

/** Validates config; throws one error listing every problem as `testbed:<key>: reason`. */
export function parseStackConfig(raw: Record<string, unknown>): StackConfig & { hostArgs: Record<string, z.output<typeof HostArgsSchema>> } {
    const problems: string[] = [];
    const top = StackConfigSchema.safeParse(raw);
    if (!top.success) {
        for (const i of top.error.issues) problems.push(`testbed:${i.path.join(".") || "(config)"}: ${i.message}`);
        throw new Error(`invalid stack config:\n  ${problems.join("\n  ")}`);
    }
    const hostArgs: Record<string, z.output<typeof HostArgsSchema>> = {};
    for (const [name, spec] of Object.entries(top.data.hosts)) {
        const r = HostArgsSchema.safeParse(spec);
        if (r.success) hostArgs[name] = r.data;
        else for (const i of r.error.issues) problems.push(`testbed:hosts.${name}${i.path.length ? "." + i.path.join(".") : ""}: ${i.message}`);
    }
    if (problems.length > 0) throw new Error(`invalid stack config:\n  ${problems.join("\n  ")}`);
    return { ...top.data, hostArgs };
}
