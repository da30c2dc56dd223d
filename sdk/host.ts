import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { defaultNetnsName } from "../core/names";
import type { HostProbe } from "../core/probe";
import { type HostArgsSchema, type HostConnection, type HostInputs, SshSchema } from "../schema/host";
import type { ArgsOf } from "./types";
import { TOKENS } from "../core/tokens";

export type HostArgs = ArgsOf<z.input<typeof HostArgsSchema>>;

/**
 * A machine the testbed's resources live on: this machine, a network namespace on it that
 * netbed creates (the `local` stack's server, client and external hosts), or a machine over SSH.
 * Its `probe` output says what the host can do; other resources refuse what it lacks.
 */
export class Host extends pulumi.CustomResource {
    /** The validated arguments. */
    public readonly kind!: pulumi.Output<HostInputs["kind"]>;
    /** For `netns` hosts: the namespace's name. */
    public readonly namespace!: pulumi.Output<string | undefined>;
    public readonly packages!: pulumi.Output<string[]>;
    /** How the provider reaches this host: pass it to resources placed on it (secret for SSH). */
    public readonly connection!: pulumi.Output<HostConnection>;
    /** What the host offers: CPU, memory, kernel, KVM usability, vhost-net, TUN, macvtap, Landlock, seccomp, tools. */
    public readonly probe!: pulumi.Output<HostProbe>;
    /** Why `packages` were not installed, when they were skipped. */
    public readonly packagesSkipped!: pulumi.Output<string | undefined>;
    /**
     * Where resources placed on this host run their commands, computed from the arguments so it is
     * known at preview time (the provider can then check links across the stack before anything
     * exists). Resources that take `host` use it and depend on the Host.
     */
    public readonly placement: pulumi.Output<HostConnection>;

    constructor(name: string, args: HostArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            TOKENS.Host,
            name,
            {
                ...args,
                connection: undefined,
                probe: undefined,
                packagesSkipped: undefined,
            },
            opts,
        );
        const a = pulumi.output(args as any) as pulumi.Output<any>;
        this.placement = a.apply((v: any): HostConnection => {
            switch (v.kind) {
                case "netns":
                    return { kind: "netns", name, namespace: v.namespace ?? defaultNetnsName(name) };
                case "ssh": {
                    // With the schema's defaults (port, user), as the provider sees it; invalid
                    // arguments pass through unchanged for the provider's check to name.
                    const ssh = SshSchema.safeParse(v.ssh);
                    return { kind: "ssh", name, ssh: ssh.success ? ssh.data : v.ssh };
                }
                default:
                    return { kind: "local", name };
            }
        });
    }
}
