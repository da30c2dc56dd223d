// The content-addressed artifact cache on a host (kernels, images): entries are built in a
// temporary directory and moved into place in one rename, so a half-built entry never exists;
// each stack resource that uses an entry holds a reference file in it.
import { createHash } from "crypto";
import { Transport } from "./transport";

export function sha256Hex(s: string): string {
    return createHash("sha256").update(s).digest("hex");
}

export function entryDir(cacheDir: string, kind: "kernels" | "images", key: string): string {
    return `${cacheDir}/${kind}/${key}`;
}

export async function readMeta<T>(t: Transport, dir: string): Promise<T | undefined> {
    const r = await t.run(["cat", "--", `${dir}/meta.json`], { check: false });
    if (r.code !== 0) return undefined;
    try {
        return JSON.parse(r.stdout) as T;
    } catch {
        return undefined;
    }
}

/** A fresh temporary directory under the cache (same filesystem, so the final rename is atomic). */
export async function makeTemp(t: Transport, cacheDir: string): Promise<string> {
    await t.run(["mkdir", "-p", "--", `${cacheDir}/tmp`]);
    return (await t.run(["mktemp", "-d", "-p", `${cacheDir}/tmp`, "build.XXXXXXXX"])).stdout.trim();
}

/** Moves a finished entry into place. If another build won the race, its entry is kept. */
export async function commitEntry(t: Transport, tmpEntry: string, dir: string): Promise<void> {
    await t.run(["mkdir", "-p", "--", dir.slice(0, dir.lastIndexOf("/"))]);
    const r = await t.run(["mv", "-T", "--", tmpEntry, dir], { check: false });
    if (r.code !== 0 && (await t.run(["test", "-f", `${dir}/meta.json`], { check: false })).code !== 0) {
        throw new Error(`on host ${t.label}: could not move the built entry into ${dir}: ${r.stderr.trim()}`);
    }
}

export async function addRef(t: Transport, dir: string, urn: string): Promise<void> {
    await t.putFile(`${dir}/refs/${sha256Hex(urn).slice(0, 24)}`, `${urn}\n`);
}

export async function dropRef(t: Transport, dir: string, urn: string): Promise<void> {
    await t.run(["rm", "-f", "--", `${dir}/refs/${sha256Hex(urn).slice(0, 24)}`]);
}

/** sha256 of a file on the host. */
export async function fileSha256(t: Transport, path: string): Promise<string> {
    const r = await t.run(["sha256sum", "--", path]);
    return r.stdout.split(/\s+/)[0];
}

export async function fileSize(t: Transport, path: string): Promise<number> {
    return Number((await t.run(["stat", "-L", "-c", "%s", "--", path])).stdout.trim());
}

/**
 * Returns the cached entry for `key`, or builds it: `build` fills `<tmp>/entry` (it may use the rest
 * of `tmp` as scratch space) and returns the metadata; the entry is then moved into place in one
 * rename and the temporary directory removed whatever happens. Either way, `urn` gets a reference.
 */
export async function getOrBuild<M>(
    t: Transport,
    cacheDir: string,
    kind: "kernels" | "images",
    key: string,
    urn: string,
    build: (tmp: string) => Promise<M>,
): Promise<{ dir: string; meta: M; hit: boolean }> {
    const dir = entryDir(cacheDir, kind, key);
    let meta = await readMeta<M>(t, dir);
    const hit = meta !== undefined;
    if (!meta) {
        const tmp = await makeTemp(t, cacheDir);
        try {
            await t.run(["mkdir", "-p", "--", `${tmp}/entry`]);
            meta = await build(tmp);
            await t.putFile(`${tmp}/entry/meta.json`, JSON.stringify(meta, null, 2));
            await commitEntry(t, `${tmp}/entry`, dir);
        } finally {
            await t.run(["rm", "-rf", "--", tmp], { check: false });
        }
    }
    await addRef(t, dir, urn);
    return { dir, meta, hit };
}

/** An entry's metadata, or undefined when the entry or its artifact file is gone (for refresh). */
export async function readEntry<M>(t: Transport, cacheDir: string, kind: "kernels" | "images", key: string, artifact: string): Promise<M | undefined> {
    const dir = entryDir(cacheDir, kind, key);
    const meta = await readMeta<M>(t, dir);
    if (!meta || (await t.run(["test", "-f", `${dir}/${artifact}`], { check: false })).code !== 0) return undefined;
    return meta;
}
