// A newc cpio archive (the kernel's initramfs format) of a few small files. Pure.
//
// Linux unpacks initramfs archives laid end to end, compressed or not, so a per-VM archive
// appended to a shared image adds files without rebuilding it. An uncompressed archive is found
// only at an offset that is a multiple of 4 from the initrd's start; the zeros before it are
// skipped.

export interface CpioFile {
    /** Path inside the archive, without a leading '/'. */
    name: string;
    mode: number;
    data: Buffer | string;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function entry(ino: number, name: string, mode: number, data: Buffer): Buffer {
    const nameBytes = Buffer.from(`${name}\0`);
    // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
    const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0];
    const header = Buffer.from(`070701${fields.map((f) => f.toString(16).padStart(8, "0")).join("")}`);
    return Buffer.concat([header, nameBytes, Buffer.alloc(pad4(header.length + nameBytes.length)), data, Buffer.alloc(pad4(data.length))]);
}

/** The archive, preceded by the zeros that align it when it follows `after` bytes of other archives. */
export function newcArchive(files: readonly CpioFile[], after = 0): Buffer {
    const parts: Buffer[] = [Buffer.alloc(pad4(after))];
    files.forEach((f, k) => {
        if (f.name.startsWith("/") || f.name.split("/").includes("..")) throw new Error(`cpio entry '${f.name}' must be a relative path without '..'`);
        parts.push(entry(k + 1, f.name, 0o100000 | (f.mode & 0o7777), Buffer.from(f.data)));
    });
    parts.push(entry(0, "TRAILER!!!", 0, Buffer.alloc(0)));
    return Buffer.concat(parts);
}
