// `netbed cache prune`: removes cache entries (kernels, images) that no stack references any more,
// and temporary build directories left by interrupted builds, on this machine.
import * as fs from "node:fs";
import * as path from "node:path";

function du(p: string): number {
    const st = fs.lstatSync(p);
    if (!st.isDirectory()) return st.size;
    return fs.readdirSync(p).reduce((n, e) => n + du(path.join(p, e)), 0);
}

export function prune(cacheDir: string, opts: { tmpOlderThanMs?: number; dryRun?: boolean } = {}): { removed: string[]; bytes: number } {
    const removed: string[] = [];
    let bytes = 0;
    const drop = (p: string) => {
        bytes += du(p);
        removed.push(p);
        if (!opts.dryRun) fs.rmSync(p, { recursive: true, force: true });
    };
    for (const kind of ["kernels", "images"]) {
        const dir = path.join(cacheDir, kind);
        if (!fs.existsSync(dir)) continue;
        for (const e of fs.readdirSync(dir)) {
            const refs = path.join(dir, e, "refs");
            if (!fs.existsSync(refs) || fs.readdirSync(refs).length === 0) drop(path.join(dir, e));
        }
    }
    const tmp = path.join(cacheDir, "tmp");
    const cutoff = Date.now() - (opts.tmpOlderThanMs ?? 24 * 3600_000);
    if (fs.existsSync(tmp)) for (const e of fs.readdirSync(tmp)) if (fs.statSync(path.join(tmp, e)).mtimeMs < cutoff) drop(path.join(tmp, e));
    return { removed, bytes };
}
