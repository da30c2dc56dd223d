import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { HostConnection } from "../schema/host";
import { type SecurityProfileArgsSchema, type SecurityRules, securityHostCaps } from "../schema/security";
import type { Host } from "./host";
import { type ArgsOf, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type SecurityProfileArgs = ArgsOf<Omit<z.input<typeof SecurityProfileArgsSchema>, "host" | "hostCaps">> & { host: Host };

/**
 * How a process (a MicroVm's VMM) is confined: a seccomp filter compiled in TypeScript, Landlock
 * rules, no_new_privs, the capabilities kept, uid/gid and rlimits. Create builds the netbed-confine
 * launcher on the host and writes the filter there; `wrapper` is the argv prefix that applies it all.
 */
export class SecurityProfile extends pulumi.CustomResource {
    public readonly host!: pulumi.Output<HostConnection>;
    /** The resource name (MicroVm records it). */
    public readonly name!: pulumi.Output<string>;
    /** sha256 of the compiled filter (undefined for preset "none"). */
    public readonly filterSha256!: pulumi.Output<string | undefined>;
    public readonly filterBytes!: pulumi.Output<number>;
    public readonly filterInstructions!: pulumi.Output<number>;
    /** Syscalls the filter allows (some under conditions) on the host's architecture. */
    public readonly syscallCount!: pulumi.Output<number>;
    /** Names left out because the host's architecture lacks them (open on aarch64). */
    public readonly skippedSyscalls!: pulumi.Output<string[]>;
    /** The host's Landlock ABI (0: none), read by the launcher itself. */
    public readonly landlockAbi!: pulumi.Output<number>;
    public readonly rules!: pulumi.Output<SecurityRules>;
    public readonly launcherPath!: pulumi.Output<string>;
    public readonly filterPath!: pulumi.Output<string | undefined>;
    /**
     * The argv prefix: `prlimit ... -- setpriv ... -- netbed-confine <rules> --seccomp FILE --`;
     * append the program's absolute path and arguments.
     */
    public readonly wrapper!: pulumi.Output<string[]>;
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
            {
                ...args,
                host: args.host.placement,
                hostCaps,
                name: undefined,
                filterSha256: undefined,
                filterBytes: undefined,
                filterInstructions: undefined,
                syscallCount: undefined,
                skippedSyscalls: undefined,
                landlockAbi: undefined,
                rules: undefined,
                launcherPath: undefined,
                filterPath: undefined,
                wrapper: undefined,
            },
            withHost(opts, args.host),
        );
        this.placement = args.host.placement;
    }
}
