import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { defaultNetnsName } from "../core/names";
import { type HostArgsSchema, type HostConnection, type HostOutputs, HostOutputsSchema, type HostState, SshSchema } from "../schema/host";
import { type ArgsOf, type Outputs, outputSlots } from "./types";
import { TOKENS } from "../core/tokens";

export type HostArgs = ArgsOf<z.input<typeof HostArgsSchema>>;

/**
 * The Host's outputs: its validated `kind`, `namespace` and `packages`; `connection`, how the provider
 * reaches it (pass it to resources placed on it; secret for SSH); `probe`, what it offers (CPU,
 * memory, kernel, KVM usability, vhost-net, TUN, macvtap, Landlock, seccomp, tools); and
 * `packagesSkipped`, why `packages` were not installed when they were skipped.
 */
export interface Host extends Outputs<Pick<HostState, "kind" | "namespace" | "packages" | keyof HostOutputs>> {}

/**
 * A machine the testbed's resources live on: this machine, a network namespace on it that
 * netbed creates (the `local` stack's server, client and external hosts), or a machine over SSH.
 * Its `probe` output says what the host can do; other resources refuse what it lacks.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields are the outputs registerResource sets on each instance, typed from the schema
export class Host extends pulumi.CustomResource {
    /**
     * Where resources placed on this host run their commands, computed from the arguments so it is
     * known at preview time (the provider can then check links across the stack before anything
     * exists). Resources that take `host` use it and depend on the Host.
     */
    public readonly placement: pulumi.Output<HostConnection>;

    constructor(name: string, args: HostArgs, opts?: pulumi.CustomResourceOptions) {
        super(TOKENS.Host, name, { ...outputSlots(HostOutputsSchema), ...args }, opts);
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
