// Writing as root below a folder others may write to (the user's ./results): no symbolic link
// below that folder is followed. Each directory is opened with O_NOFOLLOW through the descriptor of
// its parent (/proc/self/fd/<parent>/<name>, Linux's openat for Node), so a link swapped in after a
// check cannot redirect the write either. The folder itself is the user's choice and may be a link.
import * as fs from "node:fs";
import * as path from "node:path";

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_DIRECTORY, O_NOFOLLOW } = fs.constants;

function code(e: unknown): string | undefined {
    return (e as NodeJS.ErrnoException).code;
}

/** The names from root down to target; target must be root or below it. */
function namesBelow(root: string, target: string): string[] {
    const rel = path.relative(path.resolve(root), path.resolve(target));
    if (rel === "") return [];
    if (rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
        throw new Error(`${target} is not inside ${root}: netbed writes there only`);
    }
    return rel.split(path.sep);
}

function linkRefused(at: string, root: string): Error {
    return new Error(
        `${at} is a symbolic link or not a directory: netbed writes as root and follows no link below ${root}; ` +
            `remove it (a link there can send root's writes anywhere), or point the results folder at the real location`,
    );
}

/** Opens dir (created where missing, mode 0755), refusing a link in any name below root; returns its descriptor. */
function openDirBelow(root: string, dir: string): number {
    fs.mkdirSync(root, { recursive: true, mode: 0o755 });
    let fd = fs.openSync(root, O_RDONLY | O_DIRECTORY);
    let at = path.resolve(root);
    try {
        for (const name of namesBelow(root, dir)) {
            at = path.join(at, name);
            const entry = `/proc/self/fd/${fd}/${name}`;
            try {
                fs.mkdirSync(entry, { mode: 0o755 });
            } catch (e) {
                if (code(e) !== "EEXIST") throw e;
            }
            let next: number;
            try {
                next = fs.openSync(entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
            } catch (e) {
                if (code(e) === "ELOOP" || code(e) === "ENOTDIR") throw linkRefused(at, root);
                throw e;
            }
            fs.closeSync(fd);
            fd = next;
        }
        return fd;
    } catch (e) {
        fs.closeSync(fd);
        throw e;
    }
}

/** Creates dir and its missing parents below root without following a link. */
export function mkdirBelow(root: string, dir: string): void {
    fs.closeSync(openDirBelow(root, dir));
}

/**
 * Writes file (below root) atomically: a new temporary file (O_EXCL, O_NOFOLLOW) renamed over the
 * name, which replaces a link planted there instead of following it. A killed run leaves whole
 * files or none.
 */
export function writeBelow(root: string, file: string, data: string | Uint8Array): void {
    const dir = openDirBelow(root, path.dirname(path.resolve(file)));
    const at = (name: string) => `/proc/self/fd/${dir}/${name}`;
    const base = path.basename(file);
    const tmp = `${base}.tmp-${process.pid}`;
    try {
        fs.rmSync(at(tmp), { force: true });
        const fd = fs.openSync(at(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644);
        try {
            fs.writeFileSync(fd, data);
        } finally {
            fs.closeSync(fd);
        }
        fs.renameSync(at(tmp), at(base));
    } catch (e) {
        // A full disk leaves half a temporary file: remove it, and say which file failed.
        fs.rmSync(at(tmp), { force: true });
        throw new Error(`could not write ${file}: ${(e as Error).message}`);
    } finally {
        fs.closeSync(dir);
    }
}
