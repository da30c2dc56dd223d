import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { NatArgsSchema } from "../schema/nat";
import type { Host } from "./host";
import { type ArgsOf, withHost } from "./types";
import { TOKENS } from "../core/tokens";

type NatSchemaInput = z.input<typeof NatArgsSchema>;
export type NatArgs = ArgsOf<Omit<NatSchemaInput, "host" | "table" | "hostTools">> & { host: Host; table?: pulumi.Input<string> };

/**
 * NAT in a host's network stack as an nftables table netbed creates and owns (family ip, a
 * postrouting chain for masquerade and a prerouting chain for port forwards): read back on
 * refresh, rewritten atomically on update, deleted with the resource. Tables netbed did not
 * create are never touched. Packets are forwarded only where the host forwards (net.ipv4.ip_forward,
 * a HostTuning sysctl).
 */
export class Nat extends pulumi.CustomResource {
    public readonly table!: pulumi.Output<string>;
    /** The table's chains and rules, one line each, as declared (and as read back on refresh). */
    public readonly rules!: pulumi.Output<string[]>;
    /** What refresh found different from the declared rules (empty when none). */
    public readonly drift!: pulumi.Output<string[]>;
    /** Whether the host forwarded IPv4 (net.ipv4.ip_forward) when the rules were written. */
    public readonly forwarding!: pulumi.Output<boolean>;

    constructor(name: string, args: NatArgs, opts?: pulumi.CustomResourceOptions) {
        const hostTools = args.host.probe.apply((p) =>
            Object.entries(p.tools ?? {})
                .filter(([, t]) => t.path)
                .map(([tool]) => tool),
        );
        super(
            TOKENS.Nat,
            name,
            { ...args, host: args.host.placement, hostTools, rules: undefined, drift: undefined, forwarding: undefined },
            withHost(opts, args.host),
        );
    }
}
