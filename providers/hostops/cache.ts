// The content-addressed artifact cache on a host (kernels, images): entries are built in a
// temporary directory and moved into place in one rename, so a half-built entry never exists;
// each stack resource that uses an entry holds a reference file in it. Builds of one entry are
// serialized across processes by a lock on the host, so two stacks that need it at once build it once.
import { randomBytes } from "node:crypto";
import { sha256Hex } from "../../core/hash";
import { sleep } from "../../core/sleep";
import type { Transport } from "../transport";

export function entryDir(cacheDir: string, kind: "kernels" | "images", key: string): string {
    return `${cacheDir}/${kind}/${key}`;
}

async function readMeta<T>(t: Transport, dir: string): Promise<T | undefined> {
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
 * Holds flock(2) on LOCK ($1) in a process on the host until it is ended, then writes the owner line
 * ($2) beside it. It prints a dot every second: once the caller has gone (provider killed, SSH
 * connection lost, run aborted) the write fails with SIGPIPE and the lock goes with the process.
 * $3 bounds the seconds it holds. `sleep` closes fd 9 so it never outlives the lock's holder.
 */
const LOCK_HOLDER_SCRIPT =
    'exec 9>>"$1" && flock -x 9 && printf "%s\\n" "$2" > "$1.owner" || exit 1\n' +
    'n=0; while [ "$n" -lt "$3" ]; do echo . || exit 0; sleep 1 9>&-; n=$((n + 1)); done';

export interface LockOptions {
    /** How long a holder may keep the lock, and so how long a waiter waits (ms). */
    holdMs: number;
    /** Who holds it, for the messages of those who wait. */
    owner: string;
    /** Called once when another build holds the lock, with its owner line. */
    onWait?: (owner: string) => void;
}

/**
 * Takes the cross-process lock of a cache entry on the host; resolves to its release. Waits for
 * another holder at most `holdMs` (a holder never keeps it longer).
 */
async function lockEntry(t: Transport, cacheDir: string, kind: "kernels" | "images", key: string, o: LockOptions): Promise<() => Promise<void>> {
    await t.run(["mkdir", "-p", "--", `${cacheDir}/locks`]);
    const lock = `${cacheDir}/locks/${kind}-${key}`;
    const token = randomBytes(12).toString("hex");
    const holdSecs = Math.ceil(o.holdMs / 1000);
    const stop = new AbortController();
    let settled: { error: unknown } | undefined;
    const holder = t
        .run(["sh", "-c", LOCK_HOLDER_SCRIPT, "sh", lock, `${token} ${o.owner}`, String(holdSecs)], { signal: stop.signal, timeoutMs: 2 * o.holdMs + 60_000 })
        .then(
            (r) => void (settled = { error: r.code === -1 ? undefined : `exited with code ${r.code}: ${r.stderr.trim()}` }),
            (e) => void (settled = { error: (e as Error).message }),
        );
    const release = async () => {
        stop.abort();
        await holder;
    };
    const deadline = Date.now() + o.holdMs;
    const ownerOf = (line: string) => line.slice(line.indexOf(" ") + 1); // after the token
    let told = false;
    for (let wait = 50; ; wait = Math.min(1000, wait * 1.5)) {
        const r = await t.run(["cat", "--", `${lock}.owner`], { check: false });
        const line = r.code === 0 ? r.stdout.trim() : "";
        if (line.split(" ")[0] === token) return release;
        if (settled) throw new Error(`on host ${t.label}: could not lock the cache entry ${kind}/${key}: the lock holder ${settled.error ?? "ended"}`);
        if (Date.now() > deadline) {
            await release();
            throw new Error(
                `on host ${t.label}: the cache entry ${kind}/${key} stayed locked for ${holdSecs} s by ${ownerOf(line) || "another build"}; retry when that build has ended`,
            );
        }
        if (!told && line) {
            told = true;
            o.onWait?.(ownerOf(line));
        }
        await sleep(wait);
    }
}

/** An entry's metadata when its artifact is intact, else undefined (also whether it was there but broken). */
async function intactMeta<M extends { sha256: string }>(t: Transport, dir: string, artifact: string): Promise<{ meta?: M; broken: boolean }> {
    const meta = await readMeta<M>(t, dir);
    if (meta === undefined) return { broken: false };
    return (await artifactIntact(t, dir, artifact, meta.sha256)) ? { meta, broken: false } : { broken: true };
}

/** Builds an entry in a temporary directory and moves it into place (see getOrBuild). */
async function buildEntry<M extends { sha256: string }>(
    t: Transport,
    cacheDir: string,
    dir: string,
    broken: boolean,
    build: (tmp: string) => Promise<M>,
): Promise<M> {
    const tmp = await makeTemp(t, cacheDir);
    try {
        await t.run(["mkdir", "-p", "--", `${tmp}/entry`]);
        const meta = await build(tmp);
        await t.putFile(`${tmp}/entry/meta.json`, JSON.stringify(meta, null, 2));
        if (broken) {
            // The other stacks' references move to the new entry; the broken one goes.
            await t.run(["sh", "-c", 'if [ -d "$1/refs" ]; then mv -T -- "$1/refs" "$2/refs"; fi; rm -rf -- "$1"', "sh", dir, `${tmp}/entry`]);
        }
        await commitEntry(t, `${tmp}/entry`, dir);
        return meta;
    } finally {
        await t.run(["rm", "-rf", "--", tmp], { check: false });
    }
}

/**
 * Returns the cached entry for `key`, or builds it: `build` fills `<tmp>/entry` (it may use the rest
 * of `tmp` as scratch space) and returns the metadata; the entry is then moved into place in one
 * rename and the temporary directory removed whatever happens. An entry whose `artifact` was
 * deleted or changed is built again (its references are kept). A build holds the entry's lock, so
 * a concurrent getOrBuild of the same key (another stack, another process) waits and then finds
 * the entry. Either way, `urn` gets a reference.
 */
/**
 * Lets other users read and traverse an entry and the folders above it, never write: a confined VMM
 * runs as its own uid (netbed-vmm) and reads its kernel and image here, and a build's umask (an SSH
 * session's may be 077) would leave them root's alone. Run on hits too, so entries built so are repaired.
 */
async function readableByOthers(t: Transport, cacheDir: string, dir: string): Promise<void> {
    await t.run(["chmod", "-R", "go+rX,go-w", "--", dir]);
    await t.run(["chmod", "go+rx,go-w", "--", cacheDir, dir.slice(0, dir.lastIndexOf("/"))]);
}

export async function getOrBuild<M extends { sha256: string }>(
    t: Transport,
    cacheDir: string,
    kind: "kernels" | "images",
    key: string,
    artifact: string,
    urn: string,
    build: (tmp: string) => Promise<M>,
    lock: Omit<LockOptions, "owner"> = { holdMs: 60 * 60_000 },
): Promise<{ dir: string; meta: M; hit: boolean }> {
    const dir = entryDir(cacheDir, kind, key);
    let found = await intactMeta<M>(t, dir, artifact);
    if (found.meta) {
        await readableByOthers(t, cacheDir, dir);
        await addRef(t, dir, urn);
        return { dir, meta: found.meta, hit: true };
    }
    const release = await lockEntry(t, cacheDir, kind, key, { ...lock, owner: urn });
    let meta: M;
    let hit = true;
    try {
        // Another process may have built it while this one waited for the lock.
        found = await intactMeta<M>(t, dir, artifact);
        if (found.meta) meta = found.meta;
        else {
            meta = await buildEntry(t, cacheDir, dir, found.broken, build);
            hit = false;
        }
    } finally {
        await release();
    }
    await readableByOthers(t, cacheDir, dir);
    await addRef(t, dir, urn);
    return { dir, meta, hit };
}

/** An entry's metadata, or undefined when the entry is gone or its artifact deleted or changed (for refresh). */
export async function readEntry<M extends { sha256: string }>(
    t: Transport,
    cacheDir: string,
    kind: "kernels" | "images",
    key: string,
    artifact: string,
): Promise<M | undefined> {
    const dir = entryDir(cacheDir, kind, key);
    const meta = await readMeta<M>(t, dir);
    if (!meta || !(await artifactIntact(t, dir, artifact, meta.sha256))) return undefined;
    return meta;
}
