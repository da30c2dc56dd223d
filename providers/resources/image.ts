// GuestImage: an initramfs with busybox-static, the benchmark tools and netbed's init, cached by content.
import { AGENT_PATH, AGENT_SCRIPT } from "../../core/agent";
import { GUEST_INIT, parseLdd } from "../../core/guestinit";
import { type ToolName, parseToolVersion } from "../../core/probe";
import {
    GuestImageArgsSchema,
    type GuestImageInputs,
    type GuestImageOutputs,
    GuestImageOutputsSchema,
    type GuestImageState,
    type ImageManifest,
} from "../../schema/image";
import { sha256Hex } from "../../core/hash";
import { dropRef, entryDir, fileSha256, fileSize, getOrBuild, readEntry } from "../hostops/cache";
import { type ReplaceOnlyHandler, inputsFromState, replaceOnlyTable } from "../runtime/resource";
import { type Transport, hostTransport, which } from "../transport";

const BUSYBOX = "/bin/busybox";

interface ImageMeta {
    sha256: string;
    size: number;
    manifest: ImageManifest;
    buildSeconds: number;
}

const VERSION_FLAG: Record<string, string> = { iperf3: "--version", sockperf: "--version", netperf: "-V", netserver: "-V", ping: "-V" };
const PACKAGE_OF: Record<string, string> = { iperf3: "iperf3", sockperf: "sockperf", netperf: "netperf", netserver: "netperf", ping: "iputils-ping" };
/**
 * A reproducible initramfs of $1 into $2: sorted names, owner root. Uncompressed: a TCG guest's
 * kernel spent about 0.3 s inflating the gzip one (7 MiB of 18), more than a third of its boot.
 */
const ARCHIVE_SCRIPT = 'cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0 --reproducible > "$2"';
/** The archive's name in its cache entry. */
const ARCHIVE = "initramfs.cpio";

/** Files on the host that go into the image, resolved and hashed. */
interface Inputs {
    tools: { name: string; path: string }[];
    libraries: string[];
    modules: string[];
    hashes: Record<string, string>;
}

async function sha256s(t: Transport, paths: string[]): Promise<Record<string, string>> {
    if (paths.length === 0) return {};
    const r = await t.run(["sha256sum", "--", ...paths]);
    const out: Record<string, string> = {};
    for (const line of r.stdout.trim().split("\n")) {
        const [h, ...rest] = line.split("  ");
        out[rest.join("  ")] = h;
    }
    return out;
}

async function resolve(t: Transport, i: GuestImageInputs): Promise<Inputs> {
    const bb = await t.run(["ldd", BUSYBOX], { check: false });
    if ((await t.run(["test", "-x", BUSYBOX], { check: false })).code !== 0 || !/not a dynamic executable|statically linked/.test(bb.stdout + bb.stderr)) {
        throw new Error(`on host '${i.host.name}': ${BUSYBOX} is missing or not static: install busybox-static on the host (add it to the Host's packages)`);
    }
    const tools: { name: string; path: string }[] = [];
    const libs = new Set<string>();
    for (const name of i.tools) {
        const path = await which(t, name);
        if (!path) {
            throw new Error(
                `on host '${i.host.name}': tool '${name}' is not installed: add ${PACKAGE_OF[name]} to the Host's packages${name.startsWith("net") ? " (netperf is in Debian's non-free component)" : ""}`,
            );
        }
        tools.push({ name, path });
        for (const l of parseLdd((await t.run(["ldd", path])).stdout)) libs.add(l);
    }
    const modules: string[] = [];
    if (i.modulesDir) {
        const order = (await t.getFile(`${i.modulesDir}/netbed.order`)).toString().split("\n").filter(Boolean);
        modules.push(...order.map((m) => `${i.modulesDir}/${m}`));
    }
    const libraries = [...libs].sort();
    const hashes = await sha256s(t, [BUSYBOX, ...tools.map((x) => x.path), ...libraries, ...modules]);
    return { tools, libraries, modules, hashes };
}

async function build(t: Transport, i: GuestImageInputs, r: Inputs, tmp: string, out: string): Promise<ImageMeta> {
    const started = Date.now();
    const root = `${tmp}/root`;
    await t.run([
        "mkdir",
        "-p",
        "--",
        ...["bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "etc", "proc", "sys", "dev", "tmp", "run", "root", "lib/modules"].map((d) => `${root}/${d}`),
    ]);
    await t.run(["cp", "--", BUSYBOX, `${root}/bin/busybox`]);
    for (const tool of r.tools) await t.run(["cp", "-L", "--", tool.path, `${root}/usr/local/bin/${tool.name}`]);
    if (r.libraries.length > 0) await t.run(["cp", "-L", "--parents", "--", ...r.libraries, root]);
    if (r.modules.length > 0) {
        await t.run(["cp", "--", ...r.modules, `${root}/lib/modules/`]);
        await t.putFile(`${root}/lib/modules/netbed.order`, r.modules.map((m) => `${m.split("/").pop()}\n`).join(""));
    }
    await t.putFile(`${root}/init`, GUEST_INIT, 0o755);
    await t.putFile(`${root}${AGENT_PATH}`, AGENT_SCRIPT, 0o755);
    await t.putFile(`${root}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
    await t.putFile(`${root}/etc/group`, "root:x:0:\n");
    await t.putFile(`${root}/etc/hosts`, "127.0.0.1 localhost\n::1 localhost\n");
    for (const [p, content] of Object.entries(i.extraFiles)) await t.putFile(`${root}${p}`, content);
    // The script is constant; the two paths are passed as arguments.
    await t.run(["sh", "-c", ARCHIVE_SCRIPT, "sh", root, out], { timeoutMs: 10 * 60_000 });
    const tools: ImageManifest["tools"] = {};
    for (const tool of r.tools) {
        const v = await t.run([tool.path, VERSION_FLAG[tool.name]], { check: false, timeoutMs: 10_000 });
        tools[tool.name] = {
            path: `/usr/local/bin/${tool.name}`,
            version: parseToolVersion(tool.name as ToolName, (v.stdout + v.stderr).split("\n")[0]) ?? "unknown",
        };
    }
    const bb = (await t.run([BUSYBOX], { check: false })).stdout.split("\n")[0];
    return {
        sha256: await fileSha256(t, out),
        size: await fileSize(t, out),
        manifest: {
            busybox: /v(\d+\.\d+(\.\d+)?)/.exec(bb)?.[1] ?? "unknown",
            tools,
            libraries: r.libraries,
            modules: r.modules.map((m) => m.split("/").pop()!),
            init: sha256Hex(GUEST_INIT),
        },
        buildSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
}

function outsOf(i: GuestImageInputs, dir: string, meta: ImageMeta, key: string, hit: boolean): GuestImageState {
    return {
        ...i,
        path: `${dir}/${ARCHIVE}`,
        sha256: meta.sha256,
        size: meta.size,
        manifest: meta.manifest,
        buildSeconds: hit ? 0 : meta.buildSeconds,
        cacheKey: key,
    };
}

export const imageHandler: ReplaceOnlyHandler<GuestImageInputs, GuestImageOutputs> = {
    ...replaceOnlyTable(GuestImageArgsSchema),
    outputs: GuestImageOutputsSchema,

    async create(ctx, i) {
        const t = hostTransport(ctx, i.host);
        const r = await resolve(t, i);
        const key = sha256Hex(JSON.stringify({ v: 2, init: GUEST_INIT, agent: AGENT_SCRIPT, tools: r.tools, hashes: r.hashes, extra: i.extraFiles }));
        const { dir, meta, hit } = await getOrBuild(
            t,
            i.cacheDir,
            "images",
            key,
            ARCHIVE,
            ctx.urn,
            async (tmp) => {
                ctx.log.info(ctx.urn, `building the guest image (${i.tools.join(", ")}${r.modules.length ? `, ${r.modules.length} modules` : ""})`);
                const m = await build(t, i, r, tmp, `${tmp}/entry/${ARCHIVE}`);
                ctx.log.info(ctx.urn, `guest image ${(m.size / 2 ** 20).toFixed(1)} MiB built in ${m.buildSeconds} s`);
                return m;
            },
            { holdMs: 20 * 60_000, onWait: (owner) => ctx.log.info(ctx.urn, `waiting for ${owner}, which is building this image`) },
        );
        return { id: key, outs: outsOf(i, dir, meta, key, hit) };
    },

    async read(ctx, id, state) {
        const i = inputsFromState(GuestImageArgsSchema, state);
        const meta = await readEntry<ImageMeta>(hostTransport(ctx, i.host), i.cacheDir, "images", id, ARCHIVE);
        if (!meta) return undefined;
        return { ...state, sha256: meta.sha256, size: meta.size };
    },

    async delete(ctx, id, i) {
        await dropRef(hostTransport(ctx, i.host), entryDir(i.cacheDir, "images", id), ctx.urn);
    },
};
