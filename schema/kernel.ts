import { z } from "zod";
import { fragmentLineProblem } from "../core/kconfig";
import { debPackageProblem } from "../core/names";
import { hostPath, refineWith } from "./common";
import { HostConnectionSchema } from "./host";

const AbsPath = hostPath(" on the host");

/**
 * A config line, whose string value must not hold '$' or '`': the build's make includes
 * include/config/auto.conf, where Kconfig escapes only '"' and '\\', so "$(shell ...)" in a value
 * that a Makefile expands (CONFIG_INITRAMFS_SOURCE, CONFIG_EXTRA_FIRMWARE, ...) runs on the host.
 */
function fragmentProblem(line: string): string | undefined {
    return fragmentLineProblem(line) ?? (/[$`]/.test(line) ? "must not contain '$' or '`' (make would expand it while building on the host)" : undefined);
}

const KernelSourceSchema = z.discriminatedUnion(
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
                timeoutMinutes: z
                    .number()
                    .int()
                    .min(1)
                    .max(24 * 60)
                    .default(90),
            })
            .strict(),
    ],
    {
        errorMap: (i, ctx) =>
            i.code === "invalid_union_discriminator" ? { message: "kind must be 'debian', 'file' or 'build'" } : { message: ctx.defaultError },
    },
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

/** How a guest gets its virtio-net driver from this kernel. */
const VirtioModeSchema = z.enum(["builtin", "modules", "absent", "unknown"]);
export type VirtioMode = z.output<typeof VirtioModeSchema>;

/** What create and read return besides the inputs. */
export const KernelOutputsSchema = z
    .object({
        /** The kernel image (bzImage/vmlinuz) in the cache. */
        path: z.string(),
        release: z.string(),
        sha256: z.string(),
        size: z.number(),
        /** sha256 of the final .config ("" when unknown). */
        configSha256: z.string(),
        virtio: VirtioModeSchema,
        /** Directory of the modules a guest must load; "" when virtio is built in. */
        modulesDir: z.string(),
        /** Seconds the build (or unpack) took when the cache entry was made; 0 for a cache hit. */
        buildSeconds: z.number(),
        cacheKey: z.string(),
    })
    .strict();
export type KernelOutputs = z.output<typeof KernelOutputsSchema>;
export type KernelState = KernelInputs & KernelOutputs;
