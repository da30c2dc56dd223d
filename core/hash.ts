// Content hashes as hex strings: cache keys, resource ids, file and program fingerprints. Pure.
import { createHash } from "node:crypto";

/** The SHA-256 of a string (UTF-8) or of bytes, as 64 lowercase hex digits. */
export function sha256Hex(data: string | Uint8Array): string {
    return createHash("sha256").update(data).digest("hex");
}
