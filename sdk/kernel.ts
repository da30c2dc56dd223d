import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { KernelArgsSchema, VirtioMode } from "../schema/kernel";
import type { Host } from "./host";
import { type ArgsOf, withHost } from "./types";
import { TOKENS } from "../core/tokens";

export type KernelArgs = ArgsOf<Omit<z.input<typeof KernelArgsSchema>, "host">> & { host: Host };

/** A guest kernel: from a Debian package, a file, or built from source; cached by content on its host. */
export class Kernel extends pulumi.CustomResource {
    /** The kernel image (bzImage/vmlinuz) in the cache. */
    public readonly path!: pulumi.Output<string>;
    public readonly release!: pulumi.Output<string>;
    public readonly sha256!: pulumi.Output<string>;
    public readonly size!: pulumi.Output<number>;
    /** sha256 of the final .config ("" when unknown). */
    public readonly configSha256!: pulumi.Output<string>;
    public readonly virtio!: pulumi.Output<VirtioMode>;
    /** Directory of the modules a guest must load (with netbed.order); empty when virtio is built in. */
    public readonly modulesDir!: pulumi.Output<string>;
    /** Seconds the build (or unpack) took when the cache entry was made; 0 for a cache hit. */
    public readonly buildSeconds!: pulumi.Output<number>;
    public readonly cacheKey!: pulumi.Output<string>;
    public readonly host!: pulumi.Output<unknown>;

    constructor(name: string, args: KernelArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            TOKENS.Kernel,
            name,
            {
                ...args,
                host: args.host.placement,
                path: undefined,
                release: undefined,
                sha256: undefined,
                size: undefined,
                configSha256: undefined,
                virtio: undefined,
                modulesDir: undefined,
                buildSeconds: undefined,
                cacheKey: undefined,
            },
            withHost(opts, args.host),
        );
    }
}
