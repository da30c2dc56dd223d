import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { HostConnection } from "../schema/host";
import {
    type SecurityProfileArgsSchema,
    type SecurityProfileOutputs,
    SecurityProfileOutputsSchema,
    type SecurityProfileState,
    securityHostCaps,
} from "../schema/security";
import type { Host } from "./host";
import { type ArgsOf, type Outputs, outputSlots, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type SecurityProfileArgs = ArgsOf<Omit<z.input<typeof SecurityProfileArgsSchema>, "host" | "hostCaps">> & { host: Host };

/**
 * The SecurityProfile's outputs: its host and those of SecurityProfileOutputsSchema, among them
 * `wrapper`, the argv prefix (`prlimit ... -- setpriv ... -- netbed-confine <rules> --seccomp FILE --`)
 * to which the program's absolute path and arguments are appended.
 */
export interface SecurityProfile extends Outputs<Pick<SecurityProfileState, "host" | Exclude<keyof SecurityProfileOutputs, "profileDir">>> {}

/**
 * How a process (a MicroVm's VMM) is confined: a seccomp filter compiled in TypeScript, Landlock
 * rules, no_new_privs, the capabilities kept, uid/gid and rlimits. Create builds the netbed-confine
 * launcher on the host and writes the filter there; `wrapper` is the argv prefix that applies it all.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields are the outputs registerResource sets on each instance, typed from the schema
export class SecurityProfile extends pulumi.CustomResource {
    /**
     * Where the profile is, from its Host's arguments (known at preview): a MicroVm checks that it
     * is on the same machine.
     */
    public readonly placement: pulumi.Output<HostConnection>;

    constructor(name: string, args: SecurityProfileArgs, opts?: pulumi.CustomResourceOptions) {
        const hostCaps = args.host.probe.apply(securityHostCaps);
        super(
            TOKENS.SecurityProfile,
            name,
            { ...outputSlots(SecurityProfileOutputsSchema), ...args, host: args.host.placement, hostCaps },
            withHost(opts, args.host),
        );
        this.placement = args.host.placement;
    }
}
