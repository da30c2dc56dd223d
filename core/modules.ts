// Kernel module dependency order from modules.dep, for busybox insmod (which does not resolve
// dependencies itself). Pure.

export function moduleName(path: string): string {
    return path
        .split("/")
        .pop()!
        .replace(/\.ko(\.(xz|zst|gz))?$/, "")
        .replace(/-/g, "_");
}

/** Parses modules.dep into module path -> its dependency paths. */
export function parseModulesDep(text: string): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const line of text.split("\n")) {
        const i = line.indexOf(":");
        if (i <= 0) continue;
        m.set(
            line.slice(0, i).trim(),
            line
                .slice(i + 1)
                .trim()
                .split(/\s+/)
                .filter(Boolean),
        );
    }
    return m;
}

/**
 * The module paths to load, dependencies first, for the named modules. Names that are not in
 * modules.dep (built in, or absent) are reported in `missing`.
 */
export function loadOrder(dep: Map<string, string[]>, names: readonly string[]): { order: string[]; missing: string[] } {
    const byName = new Map<string, string>();
    for (const p of dep.keys()) byName.set(moduleName(p), p);
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = (p: string, stack: string[]) => {
        if (seen.has(p)) return;
        if (stack.includes(p)) throw new Error(`module dependency cycle: ${[...stack, p].map(moduleName).join(" -> ")}`);
        for (const d of dep.get(p) ?? []) visit(d, [...stack, p]);
        seen.add(p);
        order.push(p);
    };
    const missing: string[] = [];
    for (const n of names) {
        const p = byName.get(n.replace(/-/g, "_"));
        if (p) visit(p, []);
        else missing.push(n);
    }
    return { order, missing };
}

/** The modules a guest needs for virtio networking over PCI and MMIO, and the agent's virtio-serial port. */
export const VIRTIO_MODULES = ["virtio_pci", "virtio_mmio", "virtio_net", "virtio_console"] as const;
