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
 * Whether an entry's artifact is the file it was built as: present, with the sha256 its metadata
 * records. A file deleted or overwritten behind netbed's back makes the entry unusable.
 */
async function artifactIntact(t: Transport, dir: string, artifact: string, sha256: string): Promise<boolean> {
    const r = await t.run(["sha256sum", "--", `${dir}/${artifact}`], { check: false });
    return r.code === 0 && r.stdout.split(/\s+/)[0] === sha256;
}

/**
 * Returns the cached entry for `key`, or builds it: `build` fills `<tmp>/entry` (it may use the rest
 * of `tmp` as scratch space) and returns the metadata; the entry is then moved into place in one
 * rename and the temporary directory removed whatever happens. An entry whose `artifact` was
 * deleted or changed is built again (its references are kept). Either way, `urn` gets a reference.
 */
export async function getOrBuild<M extends { sha256: string }>(
    t: Transport,
    cacheDir: string,
    kind: "kernels" | "images",
    key: string,
    artifact: string,
    urn: string,
    build: (tmp: string) => Promise<M>,
): Promise<{ dir: string; meta: M; hit: boolean }> {
    const dir = entryDir(cacheDir, kind, key);
    let meta = await readMeta<M>(t, dir);
    const broken = meta !== undefined && !(await artifactIntact(t, dir, artifact, meta.sha256));
    if (broken) meta = undefined;
    const hit = meta !== undefined;
    if (!meta) {
        const tmp = await makeTemp(t, cacheDir);
        try {
            await t.run(["mkdir", "-p", "--", `${tmp}/entry`]);
            meta = await build(tmp);
            await t.putFile(`${tmp}/entry/meta.json`, JSON.stringify(meta, null, 2));
            if (broken) {
                // The other stacks' references move to the new entry; the broken one goes.
                await t.run(["sh", "-c", 'if [ -d "$1/refs" ]; then mv -T -- "$1/refs" "$2/refs"; fi; rm -rf -- "$1"', "sh", dir, `${tmp}/entry`]);
            }
            await commitEntry(t, `${tmp}/entry`, dir);
        } finally {
            await t.run(["rm", "-rf", "--", tmp], { check: false });
        }
    }
    await addRef(t, dir, urn);
    return { dir, meta, hit };
}

/** An entry's metadata, or undefined when the entry is gone or its artifact deleted or changed (for refresh). */
export async function readEntry<M extends { sha256: string }>(t: Transport, cacheDir: string, kind: "kernels" | "images", key: string, artifact: string): Promise<M | undefined> {
    const dir = entryDir(cacheDir, kind, key);
    const meta = await readMeta<M>(t, dir);
    if (!meta || !(await artifactIntact(t, dir, artifact, meta.sha256))) return undefined;
    return meta;
}
