import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { type GuestImageArgsSchema, type GuestImageOutputs, GuestImageOutputsSchema } from "../schema/image";
import type { Host } from "./host";
import type { Kernel } from "./kernel";
import { type ArgsOf, type Outputs, outputSlots, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type GuestImageArgs = ArgsOf<Omit<z.input<typeof GuestImageArgsSchema>, "host" | "modulesDir">> & {
    host: Host;
    /** The kernel the image boots with: its virtio modules are packed in when it has them. */
    kernel?: Kernel;
};

/** The GuestImage's outputs (see GuestImageOutputsSchema). */
export interface GuestImage extends Outputs<GuestImageOutputs> {}

/**
 * A guest initramfs: busybox-static, the benchmark tools with their libraries, the kernel's virtio
 * modules when it needs them, and netbed's init. Cached by content on its host.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields are the outputs registerResource sets on each instance, typed from the schema
export class GuestImage extends pulumi.CustomResource {
    constructor(name: string, args: GuestImageArgs, opts?: pulumi.CustomResourceOptions) {
        const { kernel, ...rest } = args;
        super(
            TOKENS.GuestImage,
            name,
            {
                ...outputSlots(GuestImageOutputsSchema),
                ...rest,
                host: args.host.placement,
                modulesDir: kernel?.modulesDir.apply((d) => d || undefined),
            },
            withHost(opts, args.host),
        );
    }
}
