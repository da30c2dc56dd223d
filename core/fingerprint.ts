// OpenSSH host key fingerprints ("SHA256:<base64 without padding>", as `ssh-keygen -lf` prints).
import { createHash } from "node:crypto";

/** The OpenSSH SHA256 fingerprint of a raw public key blob (the wire-format key). */
export function sshFingerprint(keyBlob: Buffer): string {
    return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The fingerprint of a key in authorized_keys / .pub format ("ssh-ed25519 AAAA... comment"). */
export function fingerprintOfPublicKeyLine(line: string): string {
    const parts = line.trim().split(/\s+/);
    if (parts.length < 2) throw new Error("not an OpenSSH public key line");
    return sshFingerprint(Buffer.from(parts[1], "base64"));
}

/** Validates the "SHA256:..." form (43 base64 characters for 32 bytes). */
export function fingerprintProblem(fp: string): string | undefined {
    if (!/^SHA256:[A-Za-z0-9+/]{43}$/.test(fp)) {
        return "must be an OpenSSH SHA256 fingerprint like 'SHA256:<43 base64 characters>' (see `ssh-keyscan HOST | ssh-keygen -lf -`)";
    }
    return undefined;
}
