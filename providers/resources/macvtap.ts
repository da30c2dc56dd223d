// MacvtapLink: a macvtap on a parent interface, with a character device node of its own.
import { networkStackOf } from "../../core/placement";
import { deriveMac } from "../../core/net";
import type { HostProbe } from "../../core/probe";
import { UNKNOWN } from "../../core/secrets";
import type { HostConnection } from "../../schema/host";
import {
    MACVTAP_MODES,
    MacvtapLinkArgsSchema,
    type MacvtapLinkInputs,
    type MacvtapLinkOutputs,
    MacvtapLinkOutputsSchema,
    type MacvtapLinkState,
} from "../../schema/macvtap";
import {
    type Observed,
    addressClaims,
    claimName,
    converge,
    deleteOwnedLink,
    hostGone,
    linkExists,
    observe,
    observedOutput,
    ownedByAnother,
    specFromObserved,
} from "../hostops/link";
import { type Ctx, type UpdatingHandler, diffTable, inputsFromState } from "../runtime/resource";
import { type Transport, hostTransport } from "../transport";

const DEV_DIR = "/run/netbed/dev";

/**
 * The device node netbed makes for a macvtap. devtmpfs names macvtap devices /dev/tap<ifindex>,
 * and ifindexes repeat across network namespaces, so /dev/tapN may be another namespace's device.
 */
function devicePath(host: HostConnection, name: string): string {
    return `${DEV_DIR}/${networkStackOf(host)}/${name}`;
}

/** Creates (or re-creates) the node with the major:minor the kernel gives this link. */
async function ensureDevice(t: Transport, host: HostConnection, name: string, ifindex: number): Promise<string> {
    const r = await t.run(["cat", `/sys/class/net/${name}/macvtap/tap${ifindex}/dev`], { check: false });
    const m = /^(\d+):(\d+)$/.exec(r.stdout.trim());
    if (!m) throw new Error(`on host '${host.name}': macvtap '${name}' has no character device in sysfs: ${r.stderr.trim() || r.stdout.trim()}`);
    const path = devicePath(host, name);
    await t.run(["mkdir", "-p", "--", path.slice(0, path.lastIndexOf("/"))]);
    await t.run(["rm", "-f", "--", path]);
    await t.run(["mknod", "-m", "0600", path, "c", m[1], m[2]]);
    return path;
}

async function checkParent(t: Transport, hostName: string, parent: string): Promise<void> {
    if (!(await linkExists(t, parent))) {
        throw new Error(`on host '${hostName}': parent interface '${parent}' does not exist there (on the local stack, use a VethPair end on the same host)`);
    }
}

function outsOf(i: MacvtapLinkInputs, obs: Observed, device: string): MacvtapLinkState {
    return { ...i, ifindex: obs.link.ifindex, device, observed: observedOutput(obs) };
}

async function readDeviceOk(t: Transport, path: string, name: string, ifindex: number): Promise<boolean> {
    const want = (await t.run(["cat", `/sys/class/net/${name}/macvtap/tap${ifindex}/dev`], { check: false })).stdout.trim();
    const have = await t.run(["stat", "-c", "%t:%T", path], { check: false });
    if (have.code !== 0 || !want) return false;
    const [maj, min] = have.stdout
        .trim()
        .split(":")
        .map((h) => parseInt(h, 16));
    return `${maj}:${min}` === want;
}

export const macvtapHandler: UpdatingHandler<MacvtapLinkInputs, MacvtapLinkOutputs> = {
    outputs: MacvtapLinkOutputsSchema,
    ...diffTable(MacvtapLinkArgsSchema, {
        notDiffed: { hostInterfaces: "the host's probe, filled by the SDK for check() only: a new probe is not a change of the resource" },
        replaceOn: ["host", "name", "parent", "mode"],
    }),
    hostFacts: { field: "hostInterfaces", of: (p: HostProbe) => p.interfaces },
    deleteBeforeReplace: true,

    defaults(inputs, _name, urn) {
        const out = { ...inputs };
        if (out.mac === undefined) out.mac = deriveMac(urn);
        // Not known before the host exists (first preview): the parent is checked at create then.
        if (out.hostInterfaces === UNKNOWN || out.hostInterfaces === null) delete out.hostInterfaces;
        return out;
    },

    crossCheck(urn, i, registry) {
        const stack = networkStackOf(i.host);
        const dup = registry.declareLinks(urn, stack, [i.name]);
        if (dup.length > 0) return dup;
        if (i.hostInterfaces && !i.hostInterfaces.includes(i.parent!) && !registry.declared(stack, i.parent!)) {
            return [
                {
                    property: "parent",
                    reason: `'${i.parent}' is not an interface of host '${i.host.name}' (it has ${i.hostInterfaces.join(", ") || "none"}) nor a link declared in this stack`,
                },
            ];
        }
        return registry.claim(urn, addressClaims(i.host, i.addresses), i.mac ? [{ property: "mac", mac: i.mac }] : []);
    },

    async create(ctx: Ctx, i) {
        const t = hostTransport(ctx, i.host);
        await checkParent(t, i.host.name, i.parent!);
        await claimName(ctx, t, i.host, i.name);
        try {
            const add = ["ip", "link", "add", "link", i.parent!, "name", i.name, "address", i.mac!, "type", "macvtap", "mode", i.mode];
            const obs = await converge(ctx, t, i.host, i, ["alias", `netbed ${ctx.name}`], { create: add });
            const device = await ensureDevice(t, i.host, i.name, obs.link.ifindex);
            return { id: `${i.host.name}/${i.name}`, outs: outsOf(i, obs, device) };
        } catch (e) {
            await t.run(["rm", "-f", "--", devicePath(i.host, i.name)], { check: false }).catch(() => undefined);
            await deleteOwnedLink(ctx, t, i.host, i.name).catch(() => undefined);
            throw e;
        }
    },

    async read(ctx, _id, state) {
        const i = inputsFromState(MacvtapLinkArgsSchema, state);
        if (await hostGone(i.host)) return undefined;
        const t = hostTransport(ctx, i.host);
        if (await ownedByAnother(t, i.host, i.name, ctx.urn)) return undefined;
        const obs = await observe(t, i.name, true);
        if (obs?.link.kind !== "macvtap") return undefined;
        const device = devicePath(i.host, i.name);
        return {
            ...specFromObserved(i, obs),
            // A mode netbed does not declare (the kernel's "source") reads as the declared one.
            mode: MACVTAP_MODES.find((m) => m === obs.link.info.mode) ?? i.mode,
            parent: obs.link.link ?? i.parent,
            ifindex: obs.link.ifindex,
            // An empty device means the node is missing or stale: the next update re-creates it.
            device: (await readDeviceOk(t, device, i.name, obs.link.ifindex)) ? device : "",
            observed: observedOutput(obs),
        };
    },

    async update(ctx, _id, _olds, news) {
        const t = hostTransport(ctx, news.host);
        const obs = await converge(ctx, t, news.host, news);
        return outsOf(news, obs, await ensureDevice(t, news.host, news.name, obs.link.ifindex));
    },

    async delete(ctx, _id, i) {
        if (await hostGone(i.host)) return;
        const t = hostTransport(ctx, i.host);
        // The node is named by the link: a link of that name that is another resource's has it now.
        if (await ownedByAnother(t, i.host, i.name, ctx.urn)) {
            ctx.log.warn(ctx.urn, `'${i.name}' on host '${i.host.name}' now belongs to another resource: left in place`);
            return;
        }
        const dev = devicePath(i.host, i.name);
        await t.run(["rm", "-f", "--", dev]);
        await t.run(["rmdir", "--ignore-fail-on-non-empty", "--", dev.slice(0, dev.lastIndexOf("/"))], { check: false });
        await deleteOwnedLink(ctx, t, i.host, i.name);
    },
};
