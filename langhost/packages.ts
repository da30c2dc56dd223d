// What the engine asks the language host about a program's node_modules: the packages that come
// with a Pulumi resource plugin ({"pulumi": {"resource": true}} in their package.json), and the
// installed dependencies (for `pulumi about`).
import * as fs from "node:fs";
import * as path from "node:path";

export interface PluginPackage {
    name: string;
    version: string;
    server?: string;
    parameterization?: { name: string; version: string; value: string };
}

interface Manifest {
    name?: string;
    version?: string;
    pulumi?: { resource?: boolean; name?: string; version?: string; server?: string; parameterization?: { name: string; version: string; value: string } };
}

/** Every package installed under `dir`'s node_modules, deeply, symlinks followed once. */
function installedPackages(dir: string): { dir: string; manifest: Manifest }[] {
    const found: { dir: string; manifest: Manifest }[] = [];
    const seen = new Set<string>();
    const visitModules = (modules: string) => {
        let entries: string[];
        try {
            entries = fs.readdirSync(modules);
        } catch {
            return;
        }
        for (const e of entries) {
            if (e.startsWith(".")) continue;
            const p = path.join(modules, e);
            if (e.startsWith("@")) visitModules(p);
            else visitPackage(p);
        }
    };
    const visitPackage = (p: string) => {
        let real: string;
        try {
            real = fs.realpathSync(p);
        } catch {
            return;
        }
        if (seen.has(real)) return;
        seen.add(real);
        try {
            found.push({ dir: real, manifest: JSON.parse(fs.readFileSync(path.join(real, "package.json"), "utf8")) });
        } catch {
            // A directory without a readable package.json is not a package.
        }
        visitModules(path.join(real, "node_modules"));
    };
    visitModules(path.join(dir, "node_modules"));
    return found;
}

/** The plugin name Pulumi derives from a package name: @pulumi/x -> x, @scope/x -> scope/x. */
function pluginName(packageName: string): string {
    if (packageName.startsWith("@pulumi/")) return packageName.slice("@pulumi/".length);
    return packageName.startsWith("@") ? packageName.slice(1) : packageName;
}

/** The resource plugins the program's packages declare. */
export function pluginPackages(programDir: string): PluginPackage[] {
    const out: PluginPackage[] = [];
    for (const { manifest: m, dir } of installedPackages(programDir)) {
        if (!m.pulumi?.resource) continue;
        const name = m.pulumi.name ?? (m.name ? pluginName(m.name) : undefined);
        const version = m.pulumi.version ?? m.version;
        if (!name || !version) throw new Error(`${dir}/package.json declares a Pulumi resource plugin without a name or version`);
        out.push({ name, version: version.startsWith("v") ? version : `v${version}`, server: m.pulumi.server, parameterization: m.pulumi.parameterization });
    }
    return out;
}

/** Where each copy of @pulumi/pulumi under the program is installed, with its version. */
export function sdkCopies(programDir: string): { dir: string; version: string }[] {
    return installedPackages(programDir)
        .filter((p) => p.manifest.name === "@pulumi/pulumi")
        .map((p) => ({ dir: p.dir, version: p.manifest.version ?? "?" }));
}

/** The program's dependencies and their installed versions (all installed packages if transitive). */
export function programDependencies(programDir: string, transitive: boolean): { name: string; version: string }[] {
    const installed = installedPackages(programDir);
    if (transitive) return installed.map((p) => ({ name: p.manifest.name ?? path.basename(p.dir), version: p.manifest.version ?? "" }));
    let manifest: { dependencies?: Record<string, string>; devDependencies?: Record<string, string> } = {};
    try {
        manifest = JSON.parse(fs.readFileSync(path.join(programDir, "package.json"), "utf8"));
    } catch {
        return [];
    }
    const names = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).sort();
    return names.map((name) => ({ name, version: installed.find((p) => p.manifest.name === name)?.manifest.version ?? "" }));
}
