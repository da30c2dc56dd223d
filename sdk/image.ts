import * as pulumi from "./pulumi";
import { z } from "zod";
import type { Host } from "./host";
import { HostConnectionSchema } from "./host";
import type { Kernel } from "./kernel";
import { hostPath } from "./paths";
import { ArgsOf, withHost } from "./types";

export const IMAGE_TOOLS = ["iperf3", "sockperf", "netperf", "netserver", "ping"] as const;

const AbsPath = hostPath();

export const GuestImageArgsSchema = z
    .object({
        host: HostConnectionSchema,
        /** Benchmark tools copied in with their shared libraries (default: all of iperf3, sockperf, netperf, netserver, ping). */
        tools: z
            .array(z.enum(IMAGE_TOOLS, { errorMap: () => ({ message: `must be one of ${IMAGE_TOOLS.join(", ")}` }) }))
            .default([...IMAGE_TOOLS]),
        /** The kernel's module directory (a Kernel's `modulesDir`), when its virtio is modular. */
        modulesDir: AbsPath.optional(),
        /** Extra files: absolute path in the guest -> contents. */
        extraFiles: z
            .record(AbsPath.refine((p) => p !== "/init" && !p.split("/").includes(".."), "must not be /init or contain '..'"), z.string())
            .default({}),
        /** Cache directory on the host, shared by stacks (default /var/cache/netbed). */
        cacheDir: AbsPath.default("/var/cache/netbed"),
    })
    .strict();

export type GuestImageInputs = z.output<typeof GuestImageArgsSchema>;
export type GuestImageArgs = ArgsOf<Omit<z.input<typeof GuestImageArgsSchema>, "host" | "modulesDir">> & {
    host: Host;
    /** The kernel the image boots with: its virtio modules are packed in when it has them. */
    kernel?: Kernel;
};

export interface ImageManifest {
    busybox: string;
    tools: Record<string, { path: string; version: string }>;
    libraries: string[];
    modules: string[];
    init: string;
}

/**
 * A guest initramfs: busybox-static, the benchmark tools with their libraries, the kernel's virtio
 * modules when it needs them, and netbed's init. Cached by content on its host.
 */
export class GuestImage extends pulumi.CustomResource {
    /** The gzip-compressed cpio archive to pass as the initrd. */
    public readonly path!: pulumi.Output<string>;
    public readonly sha256!: pulumi.Output<string>;
    public readonly size!: pulumi.Output<number>;
    public readonly manifest!: pulumi.Output<ImageManifest>;
    public readonly buildSeconds!: pulumi.Output<number>;
    public readonly cacheKey!: pulumi.Output<string>;

    constructor(name: string, args: GuestImageArgs, opts?: pulumi.CustomResourceOptions) {
        const { kernel, ...rest } = args;
        super(
            "netbed:index:GuestImage",
            name,
            { ...rest, host: args.host.placement, modulesDir: kernel?.modulesDir.apply((d) => d || undefined), path: undefined, sha256: undefined, size: undefined, manifest: undefined, buildSeconds: undefined, cacheKey: undefined },
            withHost(opts, args.host),
        );
    }
}
