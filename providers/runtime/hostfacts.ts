// What a host can do, read at check time when its Host's probe is not known yet (the first preview
// of a stack): so vhost-net, KVM, CPU numbers, tools and NICs the host lacks are refused before
// anything is created. Read-only (the probe script only reads), bounded in time, and cached per
// network stack for the life of the provider process.
import { networkStackOf } from "../../core/placement";
import type { HostProbe } from "../../core/probe";
import type { HostConnection } from "../../schema/host";
import { netnsExists, probeHost } from "../hostops/probe";
import { LocalTransport, NetnsTransport, SshTransport } from "../transport";
import { HostKeyMismatchError } from "../transport/ssh";

/** A preview waits at most this long for an SSH host: connect once, no retries. */
const PREVIEW_CONNECT_MS = 5_000;
const PREVIEW_PROBE_MS = 20_000;

/** A host's probe, or why there is none (unreachable: the checks then wait for create). */
export type Facts = { probe: HostProbe } | { unknown: string };

async function probeSsh(host: Extract<HostConnection, { kind: "ssh" }>): Promise<Facts> {
    const t = new SshTransport(
        { ...host.ssh, connectTimeoutMs: Math.min(host.ssh.connectTimeoutMs, PREVIEW_CONNECT_MS), dialRetries: 0 },
        undefined,
        host.name,
    );
    try {
        return { probe: await probeHost(t, PREVIEW_PROBE_MS) };
    } catch (e) {
        // A changed host key is never a reason to go on: refused now as at create.
        if (e instanceof HostKeyMismatchError) throw e;
        return { unknown: `host '${host.name}' could not be probed (${(e as Error).message.split("\n")[0]})` };
    } finally {
        await t.close();
    }
}

async function probeOnce(host: HostConnection): Promise<Facts> {
    switch (host.kind) {
        case "local":
            return { probe: await probeHost(new LocalTransport(`'${host.name}' (local)`), PREVIEW_PROBE_MS) };
        case "netns": {
            if (await netnsExists(host.namespace)) return { probe: await probeHost(new NetnsTransport(host.namespace, host.name), PREVIEW_PROBE_MS) };
            // Not created yet: this machine's kernel and tools, and the lone loopback a new namespace has.
            const probe = await probeHost(new LocalTransport(`'${host.name}' (local)`), PREVIEW_PROBE_MS);
            return { probe: { ...probe, interfaces: ["lo"] } };
        }
        case "ssh":
            return probeSsh(host);
    }
}

export class HostFacts {
    private readonly cache = new Map<string, Promise<Facts>>();

    of(host: HostConnection): Promise<Facts> {
        const key = networkStackOf(host);
        let f = this.cache.get(key);
        if (!f) {
            f = probeOnce(host);
            this.cache.set(key, f);
            f.catch(() => this.cache.delete(key));
        }
        return f;
    }
}
