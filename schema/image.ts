import { z } from "zod";
import { hostPath, observedObject } from "./common";
import { HostConnectionSchema } from "./host";

export const IMAGE_TOOLS = ["iperf3", "sockperf", "netperf", "netserver", "ping"] as const;

const AbsPath = hostPath();

export const GuestImageArgsSchema = z
    .object({
        host: HostConnectionSchema,
        /** Benchmark tools copied in with their shared libraries (default: all of iperf3, sockperf, netperf, netserver, ping). */
        tools: z.array(z.enum(IMAGE_TOOLS, { errorMap: () => ({ message: `must be one of ${IMAGE_TOOLS.join(", ")}` }) })).default([...IMAGE_TOOLS]),
        /** The kernel's module directory (a Kernel's `modulesDir`), when its virtio is modular. */
        modulesDir: AbsPath.optional(),
        /** Extra files: absolute path in the guest -> contents. */
        extraFiles: z
            .record(
                AbsPath.refine((p) => p !== "/init" && !p.split("/").includes(".."), "must not be /init or contain '..'"),
                z.string(),
            )
            .default({}),
        /** Cache directory on the host, shared by stacks (default /var/cache/netbed). */
        cacheDir: AbsPath.default("/var/cache/netbed"),
    })
    .strict();

export type GuestImageInputs = z.output<typeof GuestImageArgsSchema>;

export interface ImageManifest {
    busybox: string;
    tools: Record<string, { path: string; version: string }>;
    libraries: string[];
    modules: string[];
    init: string;
}

/** What create and read return besides the inputs. */
export const GuestImageOutputsSchema = z
    .object({
        /** The cpio archive (uncompressed) to pass as the initrd. */
        path: z.string(),
        sha256: z.string(),
        size: z.number(),
        manifest: observedObject<ImageManifest>("the image's manifest"),
        buildSeconds: z.number(),
        cacheKey: z.string(),
    })
    .strict();
export type GuestImageOutputs = z.output<typeof GuestImageOutputsSchema>;
export type GuestImageState = GuestImageInputs & GuestImageOutputs;
