import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type MacvtapLinkArgsSchema, type MacvtapLinkOutputs, MacvtapLinkOutputsSchema, type MacvtapLinkState } from "../schema/macvtap";
import type { Host } from "./host";
import { type ArgsOf, type Outputs, outputSlots, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type MacvtapLinkArgs = ArgsOf<Omit<z.input<typeof MacvtapLinkArgsSchema>, "host" | "hostInterfaces">> & { host: Host };

/**
 * The MacvtapLink's outputs: its name, mode, parent and the MAC the guest must use (both always set
 * once created: the schema requires a parent and fills a MAC), the ifindex, the character device to
 * open (a node netbed made for this link: /dev/tap<ifindex> is not unique across network namespaces)
 * and the link as observed.
 */
export interface MacvtapLink
    extends Outputs<Pick<MacvtapLinkState, "name" | "mode" | keyof MacvtapLinkOutputs>>,
        Outputs<Required<Pick<MacvtapLinkState, "parent" | "mac">>> {}

/** A macvtap link: a guest NIC straight on a parent interface, opened by the VMM as a character device. */
export class MacvtapLink extends pulumi.CustomResource {
    constructor(name: string, args: MacvtapLinkArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            TOKENS.MacvtapLink,
            name,
            {
                ...outputSlots(MacvtapLinkOutputsSchema),
                ...args,
                host: args.host.placement,
                hostInterfaces: args.host.probe.interfaces,
                mac: args.mac,
            },
            withHost(opts, args.host),
        );
    }
}
