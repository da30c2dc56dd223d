import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type NatArgsSchema, type NatOutputs, NatOutputsSchema, type NatState } from "../schema/nat";
import type { Host } from "./host";
import { type ArgsOf, type Outputs, outputSlots, withHost } from "./types";
import { TOKENS } from "../core/tokens";

type NatSchemaInput = z.input<typeof NatArgsSchema>;
export type NatArgs = ArgsOf<Omit<NatSchemaInput, "host" | "table" | "hostTools">> & { host: Host; table?: pulumi.Input<string> };

/** The Nat's outputs: its table, the rules as read back, drift and forwarding (see NatOutputsSchema). */
export interface Nat extends Outputs<Pick<NatState, "table" | keyof NatOutputs>> {}

/**
 * NAT in a host's network stack as an nftables table netbed creates and owns (family ip, a
 * postrouting chain for masquerade and a prerouting chain for port forwards): read back on
 * refresh, rewritten atomically on update, deleted with the resource. Tables netbed did not
 * create are never touched. Packets are forwarded only where the host forwards (net.ipv4.ip_forward,
 * a HostTuning sysctl).
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields are the outputs registerResource sets on each instance, typed from the schema
export class Nat extends pulumi.CustomResource {
    constructor(name: string, args: NatArgs, opts?: pulumi.CustomResourceOptions) {
        const hostTools = args.host.probe.apply((p) =>
            Object.entries(p.tools ?? {})
                .filter(([, t]) => t.path)
                .map(([tool]) => tool),
        );
        super(TOKENS.Nat, name, { ...outputSlots(NatOutputsSchema), ...args, host: args.host.placement, hostTools }, withHost(opts, args.host));
    }
}
