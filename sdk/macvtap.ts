import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { LinkObserved } from "../schema/common";
import type { MacvtapLinkArgsSchema } from "../schema/macvtap";
import type { Host } from "./host";
import { type ArgsOf, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type MacvtapLinkArgs = ArgsOf<Omit<z.input<typeof MacvtapLinkArgsSchema>, "host" | "hostInterfaces">> & { host: Host };

/** A macvtap link: a guest NIC straight on a parent interface, opened by the VMM as a character device. */
export class MacvtapLink extends pulumi.CustomResource {
    public readonly name!: pulumi.Output<string>;
    public readonly parent!: pulumi.Output<string>;
    public readonly mode!: pulumi.Output<string>;
    /** The MAC the guest must use. */
    public readonly mac!: pulumi.Output<string>;
    public readonly ifindex!: pulumi.Output<number>;
    /**
     * The character device to open (a node netbed made for this link: /dev/tap<ifindex> is not
     * unique across network namespaces).
     */
    public readonly device!: pulumi.Output<string>;
    public readonly observed!: pulumi.Output<LinkObserved>;

    constructor(name: string, args: MacvtapLinkArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            TOKENS.MacvtapLink,
            name,
            {
                ...args,
                host: args.host.placement,
                hostInterfaces: args.host.probe.interfaces,
                mac: args.mac,
                ifindex: undefined,
                device: undefined,
                observed: undefined,
            },
            withHost(opts, args.host),
        );
    }
}
