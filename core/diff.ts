// Pure property diffing for provider diff(): which top-level or dotted properties changed,
// and which of those force a replacement.

function deepEqual(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (a === undefined || b === undefined || a === null || b === null) return a === b;
    if (typeof a !== typeof b) return false;
    if (Array.isArray(a)) {
        return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
    }
    if (typeof a === "object") {
        const ka = Object.keys(a as object).filter((k) => (a as any)[k] !== undefined);
        const kb = Object.keys(b as object).filter((k) => (b as any)[k] !== undefined);
        return ka.length === kb.length && ka.every((k) => deepEqual((a as any)[k], (b as any)[k]));
    }
    return false;
}

function get(v: unknown, path: string): unknown {
    let cur: any = v;
    for (const k of path.split(".")) {
        if (cur === null || typeof cur !== "object") return undefined;
        cur = cur[k];
    }
    return cur;
}

export interface PropertyDiff {
    changed: string[];
    replaces: string[];
}

/**
 * Compares old and new inputs over the given properties (dotted paths). A changed property
 * listed in `replaceOn` (or under one of them) forces replacement.
 */
export function diffProperties(olds: unknown, news: unknown, properties: readonly string[], replaceOn: readonly string[]): PropertyDiff {
    const changed = properties.filter((p) => !deepEqual(get(olds, p), get(news, p)));
    const replaces = changed.filter((p) => replaceOn.some((r) => p === r || p.startsWith(`${r}.`)));
    return { changed, replaces };
}
