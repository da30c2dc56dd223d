import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { GuestImageArgsSchema, ImageManifest } from "../schema/image";
import type { Host } from "./host";
import type { Kernel } from "./kernel";
import { type ArgsOf, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type GuestImageArgs = ArgsOf<Omit<z.input<typeof GuestImageArgsSchema>, "host" | "modulesDir">> & {
    host: Host;
    /** The kernel the image boots with: its virtio modules are packed in when it has them. */
    kernel?: Kernel;
};

/**
 * A guest initramfs: busybox-static, the benchmark tools with their libraries, the kernel's virtio
 * modules when it needs them, and netbed's init. Cached by content on its host.
 */
export class GuestImage extends pulumi.CustomResource {
    /** The cpio archive (uncompressed) to pass as the initrd. */
    public readonly path!: pulumi.Output<string>;
    public readonly sha256!: pulumi.Output<string>;
    public readonly size!: pulumi.Output<number>;
    public readonly manifest!: pulumi.Output<ImageManifest>;
    public readonly buildSeconds!: pulumi.Output<number>;
    public readonly cacheKey!: pulumi.Output<string>;

    constructor(name: string, args: GuestImageArgs, opts?: pulumi.CustomResourceOptions) {
        const { kernel, ...rest } = args;
        super(
            TOKENS.GuestImage,
            name,
            {
                ...rest,
                host: args.host.placement,
                modulesDir: kernel?.modulesDir.apply((d) => d || undefined),
                path: undefined,
                sha256: undefined,
                size: undefined,
                manifest: undefined,
                buildSeconds: undefined,
                cacheKey: undefined,
            },
            withHost(opts, args.host),
        );
    }
}
