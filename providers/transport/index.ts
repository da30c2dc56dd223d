// Transports by host connection, cached for the life of the provider process so SSH
// connections are reused across resources.
import type { HostConnection } from "../../schema/host";
import { LocalTransport, NetnsTransport } from "./local";
import { SshTransport } from "./ssh";
import type { Transport } from "./types";

export * from "./types";
export { childEnv } from "./env";
export { LocalTransport, NetnsTransport, SshTransport };

const cache = new Map<string, Transport>();

export function transportFor(conn: HostConnection, onProgress?: (msg: string) => void): Transport {
    const key = JSON.stringify(conn);
    let t = cache.get(key);
    if (!t) {
        switch (conn.kind) {
            case "local":
                t = new LocalTransport(`'${conn.name}' (local)`);
                break;
            case "netns":
                t = new NetnsTransport(conn.namespace, conn.name);
                break;
            case "ssh":
                t = new SshTransport(conn.ssh, onProgress, conn.name);
                break;
        }
        cache.set(key, t);
    }
    return t;
}

/** The transport a resource's handler uses for its host, with progress shown as the resource's status. */
export function hostTransport(ctx: { urn: string; log: { status(urn: string, message: string): void } }, host: HostConnection): Transport {
    return transportFor(host, (m) => ctx.log.status(ctx.urn, m));
}

/**
 * The transport for work that belongs to the host's machine rather than its network stack:
 * fetching and installing Debian packages. A netns host shares this machine's filesystem and
 * packages, but its network is the testbed's, with no route to a mirror: such work runs here.
 */
export function machineTransport(ctx: { urn: string; log: { status(urn: string, message: string): void } }, host: HostConnection): Transport {
    return host.kind === "netns" ? transportFor({ kind: "local", name: host.name }) : hostTransport(ctx, host);
}

export async function closeAll(): Promise<void> {
    const all = [...cache.values()];
    cache.clear();
    await Promise.all(all.map((t) => t.close()));
}

/** Absolute path of a command on the host's PATH, or undefined. */
export async function which(t: Transport, cmd: string): Promise<string | undefined> {
    const r = await t.run(["sh", "-c", 'command -v "$1"', "sh", cmd], { check: false });
    const p = r.stdout.trim();
    return r.code === 0 && p.startsWith("/") ? p : undefined;
}
