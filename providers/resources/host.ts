// Host: creates and removes `netns` hosts, probes every host's capabilities, ensures packages.
import { defaultNetnsName } from "../../core/names";
import type { HostProbe } from "../../core/probe";
import { HostArgsSchema, type HostConnection, type HostInputs, type HostOutputs, HostOutputsSchema, type HostState } from "../../schema/host";
import { type Ctx, type UpdatingHandler, diffTable, inputsFromState } from "../runtime/resource";
import { endIpSessions } from "../hostops/ipsession";
import { netnsExists, probeHost } from "../hostops/probe";
import { LocalTransport, type Transport, machineTransport, transportFor } from "../transport";

/** Where netbed records which namespaces it created, so it never deletes one it did not make. */
export const OWNER_DIR = "/run/netbed/owned";
const local = new LocalTransport("local");

function connectionOf(name: string, i: HostInputs): HostConnection {
    switch (i.kind) {
        case "local":
            return { kind: "local", name };
        case "netns":
            return { kind: "netns", name, namespace: i.namespace! };
        case "ssh":
            return { kind: "ssh", name, ssh: i.ssh! };
    }
}

function idOf(i: HostInputs): string {
    switch (i.kind) {
        case "local":
            return "local";
        case "netns":
            return `netns:${i.namespace}`;
        case "ssh":
            return `ssh:${i.ssh!.user}@${i.ssh!.host}:${i.ssh!.port}`;
    }
}

function ownerFile(ns: string): string {
    return `${OWNER_DIR}/netns-${ns}`;
}

async function ownerOf(ns: string): Promise<string | undefined> {
    try {
        return (await local.getFile(ownerFile(ns))).toString().trim();
    } catch {
        return undefined;
    }
}

/** True when the record names another resource as the namespace's owner. */
async function ownedByAnother(ns: string, urn: string): Promise<boolean> {
    const owner = await ownerOf(ns);
    return owner !== undefined && owner !== urn;
}

async function ensurePackages(ctx: Ctx, t: Transport, i: HostInputs, probe: HostProbe): Promise<string | undefined> {
    if (i.packages.length === 0) return undefined;
    if (!probe.debianLike) {
        const why = `packages not installed: host '${ctx.name}' runs ${probe.os}, not a Debian-like system; install ${i.packages.join(", ")} yourself`;
        ctx.log.warn(ctx.urn, why);
        return why;
    }
    // dpkg-query answers quickly when everything is present, so a no-op stays cheap.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format fields, not a template
    const q = await t.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Status}\\n", ...i.packages.map((p) => p.split("=")[0])], { check: false });
    const installed = new Set(
        q.stdout
            .split("\n")
            .filter((l) => l.endsWith(" installed"))
            .map((l) => l.split(" ")[0]),
    );
    const missing = i.packages.filter((p) => !installed.has(p.split("=")[0]));
    if (missing.length === 0) return undefined;
    ctx.log.info(ctx.urn, `installing ${missing.join(", ")} with apt-get on '${ctx.name}'`);
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    const install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", ...missing];
    const r = await t.run(install, { env, timeoutMs: 20 * 60_000, check: false });
    if (r.code !== 0) {
        // A stale package list is the usual cause on a fresh machine: refresh it once and retry.
        ctx.log.info(ctx.urn, `apt-get install failed; running apt-get update on '${ctx.name}' and retrying`);
        await t.run(["apt-get", "update", "-q"], { env, timeoutMs: 10 * 60_000 });
        await t.run(install, { env, timeoutMs: 20 * 60_000 });
    }
    return undefined;
}

async function observe(ctx: Ctx, i: HostInputs, t: Transport): Promise<HostState> {
    const probe = await probeHost(t);
    const packagesSkipped = await ensurePackages(ctx, machineTransport(ctx, connectionOf(ctx.name, i)), i, probe);
    // Probe again only when something was installed, so the tool list is current.
    const finalProbe = i.packages.length > 0 && !packagesSkipped ? await probeHost(t) : probe;
    if (!finalProbe.kvm.usable)
        ctx.log.info(ctx.urn, `host '${ctx.name}': KVM not usable for stock guests (${finalProbe.kvm.reason}); guests there run under TCG`);
    return {
        ...i,
        connection: connectionOf(ctx.name, i),
        probe: finalProbe,
        packagesSkipped,
    };
}

export const hostHandler: UpdatingHandler<HostInputs, HostOutputs> = {
    ...diffTable(HostArgsSchema, { byField: ["ssh"], replaceOn: ["kind", "namespace", "ssh.host", "ssh.port", "ssh.user"] }),
    outputs: HostOutputsSchema,
    deleteBeforeReplace: true,
    secretPaths: [
        ["ssh", "privateKey"],
        ["connection", "ssh", "privateKey"],
    ],

    defaults(inputs, name) {
        if (inputs.kind === "netns" && inputs.namespace === undefined) return { ...inputs, namespace: defaultNetnsName(name) };
        return inputs;
    },

    async create(ctx, i) {
        const conn = connectionOf(ctx.name, i);
        if (conn.kind === "netns") {
            const ns = conn.namespace;
            if (await netnsExists(ns)) {
                const owner = await ownerOf(ns);
                if (owner !== ctx.urn) {
                    throw new Error(
                        `host '${ctx.name}': network namespace '${ns}' already exists and ${owner ? `belongs to ${owner}` : "netbed did not create it"}; ` +
                            `choose another 'namespace', or remove it if it is a leftover ('ip netns del ${ns}')`,
                    );
                }
                // This resource made it in a create the engine never recorded (the engine was
                // killed). A Host is deleted before it is replaced, so no
                // recorded Host uses it: start afresh.
                ctx.log.info(ctx.urn, `removing namespace '${ns}' left by an interrupted create of this host`);
                await local.run(["ip", "netns", "del", ns]);
                await local.run(["rm", "-rf", "--", `${OWNER_DIR}/links/netns-${ns}`, `/run/netbed/dev/netns-${ns}`, `/run/netbed/vms/netns-${ns}`]);
            }
            // The owner record is written first, so a namespace netbed made is never without one,
            // even if this process dies between the two steps.
            await local.putFile(ownerFile(ns), `${ctx.urn}\n`);
            try {
                await local.run(["ip", "netns", "add", ns]);
                await local.run(["ip", "-n", ns, "link", "set", "lo", "up"]);
                const outs = await observe(ctx, i, transportFor(conn));
                return { id: idOf(i), outs };
            } catch (e) {
                // Creation is all or nothing: remove what this call made before reporting.
                await local.run(["ip", "netns", "del", ns], { check: false });
                await local.run(["rm", "-f", "--", ownerFile(ns)], { check: false });
                throw e;
            }
        }
        const t = transportFor(conn, (m) => ctx.log.status(ctx.urn, m));
        return { id: idOf(i), outs: await observe(ctx, i, t) };
    },

    async read(ctx, _id, state) {
        const i = inputsFromState(HostArgsSchema, state);
        const conn = connectionOf(ctx.name, i);
        if (conn.kind === "netns" && (await ownedByAnother(conn.namespace, ctx.urn))) return undefined;
        if (conn.kind === "netns" && !(await netnsExists(conn.namespace))) {
            // Gone behind our back: drop netbed's own owner records with it.
            if ((await ownerOf(conn.namespace)) !== ctx.urn) return undefined;
            await local.run(["rm", "-f", "--", ownerFile(conn.namespace)], { check: false });
            await local.run(
                [
                    "rm",
                    "-rf",
                    "--",
                    `${OWNER_DIR}/links/netns-${conn.namespace}`,
                    `/run/netbed/dev/netns-${conn.namespace}`,
                    `/run/netbed/vms/netns-${conn.namespace}`,
                ],
                { check: false },
            );
            return undefined;
        }
        const probe = await probeHost(transportFor(conn, (m) => ctx.log.status(ctx.urn, m)));
        return { ...state, connection: conn, probe };
    },

    async update(ctx, _id, _olds, news) {
        return observe(
            ctx,
            news,
            transportFor(connectionOf(ctx.name, news), (m) => ctx.log.status(ctx.urn, m)),
        );
    },

    async delete(ctx, _id, i) {
        if (i.kind !== "netns") return; // local and SSH machines are not netbed's to remove
        const ns = i.namespace!;
        const owner = await ownerOf(ns);
        if (owner !== undefined && owner !== ctx.urn) {
            // Another resource's (another stack's, made after this one's went): not this one's to delete.
            ctx.log.warn(ctx.urn, `namespace '${ns}' now belongs to ${owner}: left in place`);
            return;
        }
        if (!(await netnsExists(ns))) {
            await local.run(["rm", "-f", "--", ownerFile(ns)], { check: false });
            return;
        }
        if (owner === undefined) {
            ctx.log.warn(ctx.urn, `namespace '${ns}' exists but has no netbed owner record (made outside netbed?); leaving it in place`);
            return;
        }
        ctx.log.info(ctx.urn, `removing namespace '${ns}'`);
        await endIpSessions(ns);
        await local.run(["ip", "netns", "del", ns]);
        // The namespace took its links with it: their owner records and device nodes go too.
        await local.run(["rm", "-rf", "--", `${OWNER_DIR}/links/netns-${ns}`, `/run/netbed/dev/netns-${ns}`, `/run/netbed/vms/netns-${ns}`]);
        await local.run(["rm", "-f", "--", ownerFile(ns)]);
    },
};
