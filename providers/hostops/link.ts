// Operations shared by every link resource: observe a link, converge it to its spec, own it.
import { networkStackOf } from "../../core/placement";
import {
    type Offloads,
    type Route,
    type LinkObservation,
    addrArgv,
    canonicalCidr,
    ethtoolArgv,
    parseEthtoolFeatures,
    parseLink,
    parseRoutes,
    routeArgv,
    routeKey,
} from "../../core/link";
import type { HostConnection } from "../../schema/host";
import type { LinkObserved } from "../../schema/common";
import { existsSync, promises as fs } from "node:fs";
import { ethtoolFeatures, runIp } from "./ipbatch";
import type { Ctx } from "../runtime/resource";
import { LocalTransport, type RunResult, type Transport } from "../transport";

/** The fields of a link netbed converges (a subset of every link resource's inputs). */
export interface LinkSpec {
    name: string;
    mtu?: number;
    addresses: string[];
    routes: Route[];
    up: boolean;
    txqueuelen?: number;
    offloads?: Offloads;
    mac?: string;
}

export interface Observed {
    link: LinkObservation;
    routes: Route[];
    offloads?: Offloads;
}

const LINK_OWNER_DIR = "/run/netbed/owned/links";

/** A link's addresses as registry claims on its host's network stack (for overlap checks). */
export function addressClaims(host: HostConnection, addresses: string[], prefix = "") {
    return addresses.map((cidr, n) => ({ stack: networkStackOf(host), hostName: host.name, property: `${prefix}addresses[${n}]`, cidr }));
}

/** Ownership records live on the machine that holds the link, under /run (gone after a reboot, as the links are). */
function ownerPath(host: HostConnection, name: string): string {
    return `${LINK_OWNER_DIR}/${host.kind === "ssh" ? "init" : networkStackOf(host)}/link-${name}`;
}

async function recordOwner(t: Transport, host: HostConnection, name: string, urn: string): Promise<void> {
    await t.putFile(ownerPath(host, name), `${urn}\n`);
}

/** The URN netbed's record on the host names as the link's owner, undefined without a record. */
export async function ownerOf(t: Transport, host: HostConnection, name: string): Promise<string | undefined> {
    try {
        return (await t.getFile(ownerPath(host, name))).toString().trim();
    } catch {
        return undefined;
    }
}

/** True when the record names another resource: a link of that name is then not this resource's, whatever it looks like. */
export async function ownedByAnother(t: Transport, host: HostConnection, name: string, urn: string): Promise<boolean> {
    const owner = await ownerOf(t, host, name);
    return owner !== undefined && owner !== urn;
}

/** Removes this resource's record of the link; another resource's record stays. */
export async function dropOwner(t: Transport, host: HostConnection, name: string, urn: string): Promise<void> {
    if ((await ownerOf(t, host, name)) !== urn) return;
    const p = ownerPath(host, name);
    const dir = p.slice(0, p.lastIndexOf("/"));
    if (t instanceof LocalTransport) {
        // Local and netns hosts keep their records on this machine: no process needed.
        await fs.rm(p, { force: true });
        await fs.rmdir(dir).catch(() => undefined); // still holds other records
        return;
    }
    await t.run(["rm", "-f", "--", p]);
    await t.run(["rmdir", "--ignore-fail-on-non-empty", "--", dir], { check: false });
}

/** True when a link with this name exists on the host. */
export async function linkExists(t: Transport, name: string): Promise<boolean> {
    // `addr show` (a batched `link show` would change later lines of the batch) with linkKind's
    // options, so the two share a batch.
    const r = await runIp(t, ["ip", "-json", "-details", "addr", "show", "dev", name], { check: false });
    return r.code === 0;
}

/** The kind of an existing link ("" for a plain one), undefined when there is none. */
export async function linkKind(t: Transport, name: string): Promise<string | undefined> {
    const r = await runIp(t, ["ip", "-json", "-details", "addr", "show", "dev", name], { check: false });
    if (r.code !== 0) {
        if (/does not exist/.test(r.stderr)) return undefined;
        throw new Error(`on host ${t.label}: could not read link '${name}': ${r.stderr.trim()}`);
    }
    return JSON.parse(r.stdout)[0]?.linkinfo?.info_kind ?? "";
}

/**
 * Refuses to create over an existing link unless this resource owns it (a retry after a failure
 * half-way), in which case the leftover is removed first. `field` is the input that named it.
 */
export async function claimName(ctx: Ctx, t: Transport, host: HostConnection, name: string, exists?: Promise<boolean>, field = "name"): Promise<void> {
    if (await (exists ?? linkExists(t, name))) {
        const owner = await ownerOf(t, host, name);
        if (owner !== ctx.urn) {
            throw new Error(
                `on host '${host.name}': an interface named '${name}' already exists and ${owner ? `belongs to ${owner}` : "netbed did not create it"}; ` +
                    `choose another \`${field}\`, or remove it if it is a leftover`,
            );
        }
        ctx.log.info(ctx.urn, `removing '${name}' left on host '${host.name}' by an earlier attempt`);
        await runIp(t, ["ip", "link", "del", "dev", name]);
    }
    await recordOwner(t, host, name, ctx.urn);
}

/**
 * Reads a link as the kernel shows it: attributes and addresses, routes unless `routes` is false
 * (outputs do not carry them), offloads with `ethtool`. Every command goes through the host's
 * shared batch, and the reads run concurrently.
 */
export async function observe(t: Transport, name: string, withEthtool: boolean, routes = true): Promise<Observed | undefined> {
    // `ip addr show` with -details carries the link's attributes and its addresses in one call.
    const [l, r, r6, e] = await Promise.all([
        runIp(t, ["ip", "-json", "-details", "addr", "show", "dev", name], { check: false }),
        routes ? runIp(t, ["ip", "-json", "route", "show", "dev", name], { check: false }) : undefined,
        routes ? runIp(t, ["ip", "-6", "-json", "route", "show", "dev", name], { check: false }) : undefined,
        withEthtool ? ethtoolFeatures(t, name) : undefined,
    ]);
    if (l.code !== 0 && /does not exist/.test(l.stderr)) return undefined;
    return observedFrom(t, name, l, e, r, r6);
}

/** An observation from the answers of observe()'s commands; throws where one failed. */
function observedFrom(t: Transport, name: string, l: RunResult, e?: RunResult, r?: RunResult, r6?: RunResult): Observed {
    if (l.code !== 0) throw new Error(`on host ${t.label}: could not read link '${name}': ${l.stderr.trim()}`);
    for (const [x, argv] of [
        [r, "ip -json route show"],
        [r6, "ip -6 -json route show"],
    ] as const) {
        if (x && x.code !== 0) throw new Error(`on host ${t.label}: \`${argv} dev ${name}\` failed: ${x.stderr.trim()}`);
    }
    return {
        link: parseLink(l.stdout, l.stdout),
        routes: [...parseRoutes(r?.stdout ?? ""), ...parseRoutes(r6?.stdout ?? "")],
        offloads: e && e.code === 0 ? parseEthtoolFeatures(e.stdout) : undefined,
    };
}

/** Whether the host has ethtool (from its probe, via a cheap check when unknown). */
async function hasEthtool(t: Transport): Promise<boolean> {
    return (await t.run(["ethtool", "--version"], { check: false }).catch(() => ({ code: 127 }))).code === 0;
}

/**
 * Runs changes in order through the host's batch without waiting between them (they land in one
 * batch, where ip runs them in order); fails with the first one that failed.
 */
async function pipeline(t: Transport, argvs: readonly (readonly string[])[]): Promise<void> {
    const rs = await Promise.allSettled(argvs.map((a) => runIp(t, a)));
    const failed = rs.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
}

export interface ConvergeOptions {
    /**
     * The link does not exist yet: `create` (an `ip` argv on the same host) makes it, and the
     * configuration follows in the same batch without reading anything first (a new link has no
     * addresses or routes of its own).
     */
    create?: readonly string[];
    /** The link was made a moment ago by this resource (elsewhere): configure without reading first. */
    fresh?: boolean;
}

/** The `ip link set` arguments that bring the link's attributes to the spec (all of them for a fresh link). */
function linkSetArgs(spec: LinkSpec, obs: Observed | undefined, fresh: boolean, extraSet: string[]): string[] {
    const differs = <T>(want: T | undefined, have: T | undefined) => want !== undefined && (fresh || have !== want);
    const set: string[] = [...extraSet];
    if (differs(spec.mtu, obs?.link.mtu)) set.push("mtu", String(spec.mtu));
    if (differs(spec.mac, obs?.link.mac)) set.push("address", spec.mac!);
    if (differs(spec.txqueuelen, obs?.link.txqueuelen)) set.push("txqueuelen", String(spec.txqueuelen));
    if (differs(spec.up, obs?.link.up)) set.push(spec.up ? "up" : "down");
    return set;
}

/**
 * Queues the link's creation (if asked), attributes and addresses on the host's batch and returns
 * the promise of their outcome: not awaited here, so a read queued next runs after them.
 */
function startLinkChanges(
    t: Transport,
    spec: LinkSpec,
    obs: Observed | undefined,
    fresh: boolean,
    extraSet: string[],
    create?: readonly string[],
): Promise<void> {
    const set = linkSetArgs(spec, obs, fresh, extraSet);
    const want = new Set(spec.addresses.map(canonicalCidr));
    const have = new Set((obs?.link.addresses ?? []).map(canonicalCidr));
    // With -details (which only changes what a query prints) the changes share the host's batch
    // queue with the link reads (runIp keeps one queue per set of global options), so a read
    // issued after them runs after them.
    return pipeline(
        t,
        [
            ...(create ? [create] : []),
            ...(set.length > 0 ? [["ip", "link", "set", "dev", spec.name, ...set]] : []),
            ...[...have].filter((a) => !want.has(a)).map((a) => addrArgv("del", spec.name, a)),
            ...[...want].filter((a) => !have.has(a)).map((a) => addrArgv("add", spec.name, a)),
        ].map((a) => (a[0] === "ip" ? ["ip", "-details", ...a.slice(1)] : a)),
    );
}

/** Sets the offloads that differ with ethtool, and fails naming those the driver would not change. */
async function applyOffloads(t: Transport, host: HostConnection, name: string, offloads: Offloads): Promise<void> {
    const cur = parseEthtoolFeatures((await t.run(["ethtool", "-k", name])).stdout);
    const argv = ethtoolArgv(name, offloads, cur);
    if (!argv) return;
    // ethtool exits non-zero when a feature is fixed on this driver; say which.
    const r = await t.run(argv, { check: false });
    const after = parseEthtoolFeatures((await t.run(["ethtool", "-k", name])).stdout);
    const stuck = Object.entries(offloads).filter(([k, v]) => after[k as keyof Offloads] !== v);
    if (stuck.length > 0) {
        throw new Error(
            `on host '${host.name}': could not set ${stuck.map(([k, v]) => `${k} ${v ? "on" : "off"}`).join(", ")} on '${name}' ` +
                `(the driver has them fixed?): ${r.stderr.trim() || r.stdout.trim()}`,
        );
    }
}

/**
 * Deletes the link's routes the spec does not have and adds the missing ones. `before` is the
 * link observed before the changes, undefined for a fresh link: it has only the kernel's own
 * routes, which are never ours to change.
 */
async function convergeRoutes(t: Transport, spec: LinkSpec, before: Observed | undefined): Promise<void> {
    let haveRoutes: Route[] = [];
    if (before && (spec.routes.length > 0 || before.routes.length > 0)) haveRoutes = (await observe(t, spec.name, false))!.routes;
    const wantR = new Map(spec.routes.map((r) => [routeKey(r), r]));
    const haveR = new Map(haveRoutes.map((r) => [routeKey(r), r]));
    await pipeline(t, [
        ...[...haveR].filter(([k]) => !wantR.has(k)).map(([, r]) => routeArgv("del", spec.name, r)),
        ...[...wantR].filter(([k]) => !haveR.has(k)).map(([, r]) => routeArgv("add", spec.name, r)),
    ]);
}

/**
 * Brings a link to its spec: MTU, MAC, queue length, addresses, state, offloads, routes. Returns
 * the link as observed afterwards, without routes (outputs do not carry them; read() observes them).
 */
export async function converge(
    ctx: Ctx,
    t: Transport,
    host: HostConnection,
    spec: LinkSpec,
    extraSet: string[] = [],
    opts: ConvergeOptions = {},
): Promise<Observed> {
    const fresh = opts.fresh === true || opts.create !== undefined;
    const wantEthtool = spec.offloads !== undefined && Object.keys(spec.offloads).length > 0;
    if (wantEthtool && !(await hasEthtool(t))) {
        throw new Error(`on host '${host.name}': offloads for '${spec.name}' need ethtool: add 'ethtool' to the host's packages`);
    }
    const obs = fresh ? undefined : await observe(t, spec.name, false);
    if (!fresh && !obs) throw new Error(`on host '${host.name}': link '${spec.name}' disappeared while it was being configured`);
    const changes = startLinkChanges(t, spec, obs, fresh, extraSet, opts.create);
    if (fresh && !wantEthtool && spec.routes.length === 0) {
        // Nothing else to change: the read-back rides in the changes' batch, after them (the
        // host's batch runs in order), instead of costing one more batch round per link. Offloads
        // are a separate process, asked once the changes are in.
        const readBack = runIp(t, ["ip", "-json", "-details", "addr", "show", "dev", spec.name], { check: false });
        readBack.catch(() => undefined); // awaited below unless the changes fail first
        await changes;
        ctx.log.status(ctx.urn, `'${spec.name}' on host '${host.name}' configured`);
        return observedFrom(t, spec.name, await readBack, await ethtoolFeatures(t, spec.name));
    }
    await changes;
    if (wantEthtool) await applyOffloads(t, host, spec.name, spec.offloads!);
    // Routes go last: they need the link up and its addresses in place.
    await convergeRoutes(t, spec, obs);
    ctx.log.status(ctx.urn, `'${spec.name}' on host '${host.name}' configured`);
    return (await observe(t, spec.name, true, false))!;
}

export function observedOutput(o: Observed): LinkObserved {
    const out: LinkObserved = {
        ifindex: o.link.ifindex,
        mac: o.link.mac,
        mtu: o.link.mtu,
        up: o.link.up,
        txqueuelen: o.link.txqueuelen,
        addresses: o.link.addresses,
    };
    if (o.offloads && Object.keys(o.offloads).length === 5) out.offloads = o.offloads as Required<Offloads>;
    return out;
}

/**
 * The spec as the host shows it now, for refresh: fields the user set take the observed value, so
 * drift (MTU changed, address removed) shows up as a diff that the next `up` repairs.
 */
export function specFromObserved<T extends LinkSpec>(spec: T, o: Observed): T {
    const out: T = { ...spec, up: o.link.up, routes: o.routes };
    // Keep the user's spelling where the address is unchanged, so a refresh is not a diff.
    const observed = new Set(o.link.addresses.map(canonicalCidr));
    out.addresses = [
        ...spec.addresses.filter((a) => observed.has(canonicalCidr(a))),
        ...o.link.addresses.filter((a) => !spec.addresses.some((s) => canonicalCidr(s) === canonicalCidr(a))),
    ];
    out.routes = [
        ...spec.routes.filter((r) => o.routes.some((x) => routeKey(x) === routeKey(r))),
        ...o.routes.filter((r) => !spec.routes.some((x) => routeKey(x) === routeKey(r))),
    ];
    if (spec.mtu !== undefined) out.mtu = o.link.mtu;
    if (spec.mac !== undefined) out.mac = o.link.mac;
    if (spec.txqueuelen !== undefined) out.txqueuelen = o.link.txqueuelen;
    if (spec.offloads !== undefined && o.offloads) {
        out.offloads = Object.fromEntries(Object.keys(spec.offloads).map((k) => [k, o.offloads![k as keyof Offloads]]));
    }
    return out;
}

/**
 * Deletes a link this resource owns; already gone is success; a foreign link is left alone: one of
 * another resource (another stack's of the same name, made after this one's went) is not this
 * resource's to delete, and this one's is gone.
 */
export async function deleteOwnedLink(ctx: Ctx, t: Transport, host: HostConnection, name: string): Promise<void> {
    if (await linkExists(t, name)) {
        const owner = await ownerOf(t, host, name);
        if (owner !== undefined && owner !== ctx.urn) {
            ctx.log.warn(ctx.urn, `'${name}' on host '${host.name}' now belongs to ${owner}: left in place`);
            return;
        }
        if (owner === undefined) {
            ctx.log.warn(ctx.urn, `'${name}' on host '${host.name}' has no netbed owner record (made outside netbed?); leaving it in place`);
            return;
        }
        await runIp(t, ["ip", "link", "del", "dev", name]);
    }
    await dropOwner(t, host, name, ctx.urn);
}

/** True when the namespace (for netns hosts) is gone, so everything in it is gone too. */
export async function hostGone(host: HostConnection): Promise<boolean> {
    if (host.kind !== "netns") return false;
    // What `ip netns list` reads, without a process per resource.
    return !existsSync(`/run/netns/${host.namespace}`);
}
