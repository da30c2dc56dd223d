// Kernel: a guest kernel from a Debian package, a file, or a source build, in the host's cache.
import { MINIMAL_FRAGMENT, buildTools, releaseFromBzImage, unmetOptions, virtioMode } from "../../core/kconfig";
import { VIRTIO_MODULES, loadOrder, moduleName, parseModulesDep } from "../../core/modules";
import { KernelArgsSchema, type KernelInputs, type KernelOutputs, KernelOutputsSchema, type KernelState, type VirtioMode } from "../../schema/kernel";
import { sha256Hex } from "../../core/hash";
import { dropRef, entryDir, fileSha256, fileSize, getOrBuild, readEntry } from "../hostops/cache";
import { type Ctx, type ReplaceOnlyHandler, inputsFromState, replaceOnlyTable } from "../runtime/resource";
import { CommandError, type Transport, hostTransport, machineTransport, which } from "../transport";

interface KernelMeta {
    release: string;
    sha256: string;
    size: number;
    configSha256: string;
    virtio: VirtioMode;
    modules: string[];
    buildSeconds: number;
    source: string;
}

type Source = KernelInputs["source"];

/** Logs an elapsed-time status line every 15 s while `work` runs, so `pulumi up` shows progress. */
async function withProgress<T>(ctx: Ctx, what: string, work: Promise<T>): Promise<T> {
    const started = Date.now();
    ctx.log.info(ctx.urn, `${what}...`);
    const timer = setInterval(() => ctx.log.status(ctx.urn, `${what}: ${Math.round((Date.now() - started) / 1000)} s`), 15_000);
    try {
        return await work;
    } finally {
        clearInterval(timer);
    }
}

/** The real kernel image package behind a name (following the linux-image-amd64 metapackage). */
async function resolveDebian(t: Transport, hostName: string, pkg: string): Promise<{ pkg: string; sha256: string }> {
    let real = pkg;
    if (!/^linux-image-\d/.test(pkg)) {
        const show = await t.run(["apt-cache", "show", "--no-all-versions", pkg], { check: false });
        if (show.code !== 0 || !show.stdout.trim()) {
            throw new Error(
                `on host '${hostName}': package '${pkg}' is not in the host's apt sources (${show.stderr.trim() || "no such package"}); check the name or run apt-get update`,
            );
        }
        const dep = /^Depends:.*?\b(linux-image-\d[^\s,]*)/m.exec(show.stdout);
        if (!dep) throw new Error(`on host '${hostName}': '${pkg}' is neither a kernel image package nor a metapackage that depends on one`);
        real = dep[1];
    }
    const uris = await t.run(["apt-get", "download", "--print-uris", real], { check: false });
    const m = /SHA256:([0-9a-f]{64})/.exec(uris.stdout);
    if (uris.code !== 0 || !m) {
        throw new Error(
            `on host '${hostName}': package '${real}' is not in the host's apt sources (${uris.stderr.trim() || "no download address"}); check the name or run apt-get update`,
        );
    }
    return { pkg: real, sha256: m[1] };
}

/** Copies the virtio modules a modular kernel needs into `dest`, with netbed.order listing them. */
async function keepModules(t: Transport, modRoot: string, dest: string): Promise<string[]> {
    const dep = parseModulesDep((await t.getFile(`${modRoot}/modules.dep`)).toString());
    const { order } = loadOrder(dep, VIRTIO_MODULES);
    await t.run(["mkdir", "-p", "--", dest]);
    const names: string[] = [];
    for (const p of order) {
        const name = `${moduleName(p)}.ko`;
        const src = `${modRoot}/${p}`;
        // busybox insmod takes plain .ko files: decompress where the distribution compresses.
        if (p.endsWith(".xz")) await t.run(["sh", "-c", 'xz -dc -- "$1" > "$2"', "sh", src, `${dest}/${name}`]);
        else if (p.endsWith(".zst")) await t.run(["zstd", "-q", "-d", "-f", "-o", `${dest}/${name}`, "--", src]);
        else await t.run(["cp", "--", src, `${dest}/${name}`]);
        names.push(name);
    }
    await t.putFile(`${dest}/netbed.order`, names.map((n) => `${n}\n`).join(""));
    return names;
}

async function finishEntry(t: Transport, entry: string, config: string | undefined, source: string, started: number, modules: string[]): Promise<KernelMeta> {
    const meta: KernelMeta = {
        release: "",
        sha256: await fileSha256(t, `${entry}/vmlinuz`),
        size: await fileSize(t, `${entry}/vmlinuz`),
        configSha256: config ? sha256Hex(config) : "",
        virtio: config ? virtioMode(config) : modules.length > 0 ? "modules" : "unknown",
        modules,
        buildSeconds: Math.round((Date.now() - started) / 100) / 10,
        source,
    };
    if (config) await t.putFile(`${entry}/config`, config);
    return meta;
}

async function buildDebian(ctx: Ctx, t: Transport, i: KernelInputs, tmp: string, real: string): Promise<KernelMeta> {
    const started = Date.now();
    const download = machineTransport(ctx, i.host).run(["apt-get", "download", real], { cwd: tmp, timeoutMs: 30 * 60_000 });
    await withProgress(ctx, `downloading ${real}`, download);
    const deb = (await t.run(["find", tmp, "-maxdepth", "1", "-name", "*.deb"])).stdout.trim().split("\n")[0];
    await t.run(["dpkg-deb", "-x", deb, `${tmp}/x`], { timeoutMs: 10 * 60_000 });
    const boot = (await t.run(["ls", `${tmp}/x/boot`])).stdout.split("\n");
    const vmlinuz = boot.find((f) => f.startsWith("vmlinuz-"));
    if (!vmlinuz) throw new Error(`on host '${i.host.name}': package ${real} has no /boot/vmlinuz-*`);
    const release = vmlinuz.slice("vmlinuz-".length);
    const entry = `${tmp}/entry`;
    await t.run(["cp", "--", `${tmp}/x/boot/${vmlinuz}`, `${entry}/vmlinuz`]);
    const config = (await t.getFile(`${tmp}/x/boot/config-${release}`)).toString();
    let modules: string[] = [];
    if (virtioMode(config) === "modules") {
        // The package ships no modules.dep (depmod makes it at install time): make it here.
        await t.run(["depmod", "-b", `${tmp}/x`, release]);
        modules = await keepModules(t, `${tmp}/x/lib/modules/${release}`, `${entry}/modules`);
    }
    const meta = await finishEntry(t, entry, config, `debian ${real}`, started, modules);
    return { ...meta, release };
}

type SourceOf<K extends KernelInputs["source"]["kind"]> = Extract<KernelInputs["source"], { kind: K }>;

async function buildFile(t: Transport, s: SourceOf<"file">, tmp: string): Promise<KernelMeta> {
    const started = Date.now();
    const entry = `${tmp}/entry`;
    await t.run(["cp", "-L", "--", s.path, `${entry}/vmlinuz`]);
    const config = s.config ? (await t.getFile(s.config)).toString() : undefined;
    const modules = s.modulesDir ? await keepModules(t, s.modulesDir, `${entry}/modules`) : [];
    const meta = await finishEntry(t, entry, config, `file ${s.path}`, started, modules);
    return { ...meta, release: releaseFromBzImage(await t.getFile(`${entry}/vmlinuz`)) ?? "unknown" };
}

async function buildSource(ctx: Ctx, t: Transport, i: KernelInputs, s: SourceOf<"build">, tmp: string, cores: number): Promise<KernelMeta> {
    const started = Date.now();
    const deadline = started + s.timeoutMinutes * 60_000;
    const left = () => {
        const ms = deadline - Date.now();
        if (ms <= 0) throw new Error(`on host '${i.host.name}': the kernel build exceeded timeoutMinutes (${s.timeoutMinutes})`);
        return ms;
    };
    await withProgress(ctx, `unpacking ${s.tarball}`, t.run(["tar", "-xf", s.tarball, "-C", tmp], { timeoutMs: left() }));
    const top = (await t.run(["find", tmp, "-mindepth", "1", "-maxdepth", "1", "-type", "d", "!", "-name", "entry"])).stdout.trim().split("\n")[0];
    if (!top) throw new Error(`on host '${i.host.name}': ${s.tarball} holds no source directory`);
    const make = (args: string[], what?: string, timeoutMs = left()) => {
        const run = t.run(["make", "-C", top, ...args], { timeoutMs }).catch((e: unknown) => {
            if (e instanceof CommandError && /timed out/.test(e.message)) {
                throw new Error(`on host '${i.host.name}': the kernel build exceeded timeoutMinutes (${s.timeoutMinutes}) during make ${args.join(" ")}`);
            }
            throw e;
        });
        return what ? withProgress(ctx, what, run) : run;
    };
    if (s.base === "tinyconfig" || s.base === "defconfig") await make([s.base]);
    else {
        await t.run(["cp", "--", s.base, `${top}/.config`]);
        await make(["olddefconfig"]);
    }
    const fragment = [...(s.minimal ? MINIMAL_FRAGMENT : []), ...s.fragments];
    // Later lines win in Kconfig: append the fragment and let olddefconfig resolve dependencies.
    const base = (await t.getFile(`${top}/.config`)).toString();
    await t.putFile(`${top}/.config`, `${base}\n${fragment.join("\n")}\n`);
    await make(["olddefconfig"]);
    const config = (await t.getFile(`${top}/.config`)).toString();
    const unmet = unmetOptions(fragment, config);
    if (unmet.length > 0) {
        throw new Error(`on host '${i.host.name}': the kernel config could not take ${unmet.join(", ")}: add the options they depend on to fragments`);
    }
    await make([`-j${cores}`, "bzImage"], `building the kernel with ${cores} jobs`);
    const release = (await make(["-s", "kernelrelease"])).stdout.trim();
    const entry = `${tmp}/entry`;
    await t.run(["cp", "--", `${top}/arch/x86/boot/bzImage`, `${entry}/vmlinuz`]);
    const meta = await finishEntry(t, entry, config, `build ${s.tarball}`, started, []);
    return { ...meta, release };
}

/** Refuses a build that would fail at its end for want of a program (the LZ4 compressor, say). */
async function requireBuildTools(t: Transport, hostName: string, fragment: readonly string[]): Promise<void> {
    const missing: { tool: string; pkg: string }[] = [];
    for (const b of buildTools(fragment)) if (!(await which(t, b.tool))) missing.push(b);
    if (missing.length === 0) return;
    const pkgs = [...new Set(missing.map((m) => m.pkg))].join(" ");
    throw new Error(
        `on host '${hostName}': building the kernel needs ${missing.map((m) => m.tool).join(", ")}, not installed there: install ${pkgs} (or add them to the Host's packages)`,
    );
}

/** The cache key: a hash of everything that determines the artifact. */
async function keyOf(t: Transport, i: KernelInputs): Promise<{ key: string; debian?: string }> {
    const s: Source = i.source;
    switch (s.kind) {
        case "debian": {
            const r = await resolveDebian(t, i.host.name, s.package);
            // The modules copied out of the package are part of the artifact.
            return { key: sha256Hex(JSON.stringify({ v: 1, debian: r.sha256, modules: VIRTIO_MODULES })), debian: r.pkg };
        }
        case "file": {
            const parts = [await fileSha256(t, s.path)];
            if (s.config) parts.push(await fileSha256(t, s.config));
            if (s.modulesDir) parts.push(await fileSha256(t, `${s.modulesDir}/modules.dep`));
            return { key: sha256Hex(JSON.stringify({ v: 1, file: parts, ...(s.modulesDir ? { modules: VIRTIO_MODULES } : {}) })) };
        }
        case "build": {
            const missing = await t.run(["test", "-f", s.tarball], { check: false });
            if (missing.code !== 0) {
                throw new Error(
                    `on host '${i.host.name}': kernel source ${s.tarball} does not exist; install linux-source-6.1 on the host (add it to the Host's packages) or give another tarball`,
                );
            }
            const base = s.base.startsWith("/") ? await fileSha256(t, s.base) : s.base;
            const frag = [...(s.minimal ? MINIMAL_FRAGMENT : []), ...s.fragments];
            await requireBuildTools(t, i.host.name, frag);
            return { key: sha256Hex(JSON.stringify({ v: 1, tarball: await fileSha256(t, s.tarball), base, frag })) };
        }
    }
}

function outsOf(i: KernelInputs, dir: string, meta: KernelMeta, key: string, hit: boolean): KernelState {
    return {
        ...i,
        path: `${dir}/vmlinuz`,
        release: meta.release,
        sha256: meta.sha256,
        size: meta.size,
        configSha256: meta.configSha256,
        virtio: meta.virtio,
        // Always present (empty when virtio is built in): an output missing from state reads as
        // unknown in a preview, which would make a no-op `up` plan to rebuild the image.
        modulesDir: meta.modules.length > 0 ? `${dir}/modules` : "",
        buildSeconds: hit ? 0 : meta.buildSeconds,
        cacheKey: key,
    };
}

/** The longest a build of this source may hold its cache entry's lock: its own time limits and a margin. */
function lockHoldMs(s: Source): number {
    const minutes = s.kind === "build" ? s.timeoutMinutes + 10 : s.kind === "debian" ? 45 : 10;
    return minutes * 60_000;
}

export const kernelHandler: ReplaceOnlyHandler<KernelInputs, KernelOutputs> = {
    ...replaceOnlyTable(KernelArgsSchema),
    outputs: KernelOutputsSchema,

    async create(ctx, i) {
        const t = hostTransport(ctx, i.host);
        const { key, debian } = await keyOf(t, i);
        const { dir, meta, hit } = await getOrBuild<KernelMeta>(
            t,
            i.cacheDir,
            "kernels",
            key,
            "vmlinuz",
            ctx.urn,
            async (tmp) => {
                const cores = Number((await t.run(["nproc"])).stdout.trim()) || 1;
                const s = i.source;
                const m =
                    s.kind === "debian"
                        ? await buildDebian(ctx, t, i, tmp, debian!)
                        : s.kind === "file"
                          ? await buildFile(t, s, tmp)
                          : await buildSource(ctx, t, i, s, tmp, cores);
                ctx.log.info(ctx.urn, `kernel ${m.release} (${m.virtio} virtio) built in ${m.buildSeconds} s`);
                return m;
            },
            { holdMs: lockHoldMs(i.source), onWait: (owner) => ctx.log.info(ctx.urn, `waiting for ${owner}, which is building this kernel`) },
        );
        if (hit) ctx.log.info(ctx.urn, `kernel ${meta.release} found in the cache (${dir})`);
        return { id: key, outs: outsOf(i, dir, meta, key, hit) };
    },

    async read(ctx, id, state) {
        const i = inputsFromState(KernelArgsSchema, state);
        const meta = await readEntry<KernelMeta>(hostTransport(ctx, i.host), i.cacheDir, "kernels", id, "vmlinuz");
        if (!meta) return undefined;
        return { ...state, release: meta.release, sha256: meta.sha256, size: meta.size, virtio: meta.virtio };
    },

    async delete(ctx, id, i) {
        // The entry is shared: drop this stack's reference; `netbed cache prune` removes unreferenced entries.
        await dropRef(hostTransport(ctx, i.host), entryDir(i.cacheDir, "kernels", id), ctx.urn);
    },
};
