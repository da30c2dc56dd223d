// Pulumi's wire form of secrets and unknowns inside provider property bags.
// A secret arrives as {SIG: SECRET_SIG, value: ...}; a value not known yet (during preview)
// arrives as the UNKNOWN string. Pure helpers so check/diff can work on plain values.

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type Path = (string | number)[];

export function isSecret(v: unknown): v is { value: unknown } {
    return typeof v === "object" && v !== null && (v as any)[SIG_KEY] === SECRET_SIG;
}

export function wrapSecret(value: unknown): unknown {
    return { [SIG_KEY]: SECRET_SIG, value };
}

/** Removes secret wrappers, returning the plain value and the paths that were secret. */
export function unwrapSecrets(v: unknown, path: Path = [], found: Path[] = []): { value: unknown; secretPaths: Path[] } {
    const walk = (x: unknown, p: Path): unknown => {
        if (isSecret(x)) {
            found.push(p);
            return walk(x.value, p);
        }
        if (Array.isArray(x)) return x.map((e, i) => walk(e, [...p, i]));
        if (typeof x === "object" && x !== null) {
            const out: Record<string, unknown> = {};
            for (const [k, e] of Object.entries(x)) out[k] = walk(e, [...p, k]);
            return out;
        }
        return x;
    };
    return { value: walk(v, path), secretPaths: found };
}

/** Wraps the values at the given paths (where they exist) as secrets. Returns a copy. */
export function wrapSecretsAt(v: unknown, paths: Path[]): unknown {
    let out = structuredClone(v);
    for (const p of paths) {
        if (p.length === 0) {
            out = isSecret(out) ? out : wrapSecret(out);
            continue;
        }
        let parent: any = out;
        for (const k of p.slice(0, -1)) {
            parent = parent?.[k];
            if (isSecret(parent)) parent = parent.value;
        }
        const last = p[p.length - 1];
        if (parent && typeof parent === "object" && last in parent && parent[last] !== undefined && !isSecret(parent[last])) {
            parent[last] = wrapSecret(parent[last]);
        }
    }
    return out;
}

/** True when the value, or anything inside it, is not known yet. */
export function containsUnknown(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (isSecret(v)) return containsUnknown(v.value);
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (typeof v === "object" && v !== null) return Object.values(v).some(containsUnknown);
    return false;
}

/** True when the value at `path` or any value on the way to it is unknown. */
export function unknownAlong(v: unknown, path: Path): boolean {
    let cur: any = v;
    if (cur === UNKNOWN) return true;
    for (const k of path) {
        if (isSecret(cur)) cur = cur.value;
        if (cur === null || typeof cur !== "object") return false;
        cur = cur[k];
        if (cur === UNKNOWN) return true;
    }
    return false;
}

/** Drops undefined values (Pulumi's struct encoding refuses them), deeply. Returns a copy. */
export function dropUndefined<T>(v: T): T {
    if (Array.isArray(v)) return v.map((e) => (e === undefined ? null : dropUndefined(e))) as T;
    if (typeof v === "object" && v !== null) {
        const out: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(v)) if (e !== undefined) out[k] = dropUndefined(e);
        return out as T;
    }
    return v;
}
