import * as pulumi from "./pulumi";
import { z } from "zod";
import { fragmentLineProblem } from "../core/kconfig";
import { debPackageProblem } from "../core/names";
import { HostConnectionSchema, type Host } from "./host";
import { refineWith } from "./link";
import { hostPath } from "./paths";
import { ArgsOf, withHost } from "./types";

const AbsPath = hostPath(" on the host");

/**
 * A config line, whose string value must not hold '$' or '`': the build's make includes
 * include/config/auto.conf, where Kconfig escapes only '"' and '\\', so "$(shell ...)" in a value
 * that a Makefile expands (CONFIG_INITRAMFS_SOURCE, CONFIG_EXTRA_FIRMWARE, ...) runs on the host.
 */
function fragmentProblem(line: string): string | undefined {
    return fragmentLineProblem(line) ?? (/[$`]/.test(line) ? "must not contain '$' or '`' (make would expand it while building on the host)" : undefined);
}

export const KernelSourceSchema = z.discriminatedUnion(
    "kind",
    [
        z
            .object({
                kind: z.literal("debian"),
                /** A Debian kernel package, e.g. "linux-image-amd64" (follows the metapackage) or "linux-image-6.1.0-28-amd64". */
                package: z.string().max(200, "must be at most 200 characters").superRefine(refineWith(debPackageProblem)),
            })
            .strict(),
        z
            .object({
                kind: z.literal("file"),
                /** A bzImage or vmlinuz already on the host. */
                path: AbsPath,
                /** Its modules (a directory with modules.dep), when virtio is modular. */
                modulesDir: AbsPath.optional(),
                /** Its .config, so netbed can tell whether virtio is built in. */
                config: AbsPath.optional(),
            })
            .strict(),
        z
            .object({
                kind: z.literal("build"),
                /** Kernel source tarball on the host (Debian's linux-source-6.1 installs /usr/src/linux-source-6.1.tar.xz). */
                tarball: AbsPath.default("/usr/src/linux-source-6.1.tar.xz"),
                /** Base config: "tinyconfig" (default), "defconfig", or a path to a .config on the host. */
                base: z.union([z.enum(["tinyconfig", "defconfig"]), AbsPath]).default("tinyconfig"),
                /** Add netbed's minimal microVM fragment (default true). */
                minimal: z.boolean().default(true),
                /** More CONFIG_ lines, applied after the minimal fragment. */
                fragments: z.array(z.string().max(1024, "must be at most 1024 characters").superRefine(refineWith(fragmentProblem))).default([]),
                /** Give up after this many minutes (default 90). */
                timeoutMinutes: z.number().int().min(1).max(24 * 60).default(90),
            })
            .strict(),
    ],
    { errorMap: (i, ctx) => (i.code === "invalid_union_discriminator" ? { message: "kind must be 'debian', 'file' or 'build'" } : { message: ctx.defaultError }) },
);

export const KernelArgsSchema = z
    .object({
        host: HostConnectionSchema,
        source: KernelSourceSchema,
        /** Cache directory on the host, shared by stacks (default /var/cache/netbed). */
        cacheDir: AbsPath.default("/var/cache/netbed"),
    })
    .strict();

export type KernelInputs = z.output<typeof KernelArgsSchema>;
export type KernelArgs = ArgsOf<Omit<z.input<typeof KernelArgsSchema>, "host">> & { host: Host };

/** How a guest gets its virtio-net driver from this kernel. */
export type VirtioMode = "builtin" | "modules" | "absent" | "unknown";

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
            "netbed:index:Kernel",
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
