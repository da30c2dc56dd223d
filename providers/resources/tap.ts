// Tap: a tap device on a host, optionally attached to a bridge.
import { networkStackOf } from "../../core/placement";
import { tuntapArgv } from "../../core/link";
import { TapArgsSchema, type TapInputs, type TapOutputs, TapOutputsSchema } from "../../schema/tap";
import type { HostConnection } from "../../schema/host";
import {
    addressClaims,
    claimName,
    converge,
    deleteOwnedLink,
    hostGone,
    linkExists,
    linkKind,
    observe,
    observedOutput,
    ownedByAnother,
    specFromObserved,
} from "../hostops/link";
import { type Ctx, type UpdatingHandler, diffTable, inputsFromState } from "../runtime/resource";
import { type Transport, hostTransport } from "../transport";

async function checkBridge(t: Transport, hostName: string, bridge: string): Promise<void> {
    const kind = await linkKind(t, bridge);
    if (kind === undefined) throw new Error(`on host '${hostName}': bridge '${bridge}' does not exist there (create the Bridge on the same host)`);
    if (kind !== "bridge") throw new Error(`on host '${hostName}': '${bridge}' is a ${kind || "plain"} link, not a bridge`);
}

/** Deletes the tap `name` on `host` if it is this resource's (a MicroVm's own taps too); done when already gone. */
export async function deleteTap(ctx: Ctx, host: HostConnection, name: string): Promise<void> {
    if (await hostGone(host)) return;
    await deleteOwnedLink(ctx, hostTransport(ctx, host), host, name);
}

export const tapHandler: UpdatingHandler<TapInputs, TapOutputs> = {
    ...diffTable(TapArgsSchema, { replaceOn: ["host", "name", "multiQueue", "owner", "group", "vnetHdr"] }),
    outputs: TapOutputsSchema,
    deleteBeforeReplace: true,

    crossCheck(urn, i, registry) {
        const dup = registry.declareLinks(urn, networkStackOf(i.host), [i.name]);
        if (dup.length > 0) return dup;
        return registry.claim(urn, addressClaims(i.host, i.addresses), i.mac ? [{ property: "mac", mac: i.mac }] : []);
    },

    async create(ctx, i) {
        const t = hostTransport(ctx, i.host);
        // Asked together with the bridge check: one batch for both reads.
        const exists = linkExists(t, i.name);
        exists.catch(() => undefined); // awaited below unless the bridge check fails first
        if (i.bridge) await checkBridge(t, i.host.name, i.bridge);
        await claimName(ctx, t, i.host, i.name, exists);
        try {
            const extra = ["alias", `netbed ${ctx.name}`, ...(i.bridge ? ["master", i.bridge] : [])];
            const obs = await converge(ctx, t, i.host, i, extra, { create: tuntapArgv(i) });
            return { id: `${i.host.name}/${i.name}`, outs: { ...i, ifindex: obs.link.ifindex, observed: observedOutput(obs) } };
        } catch (e) {
            await deleteOwnedLink(ctx, t, i.host, i.name).catch(() => undefined);
            throw e;
        }
    },

    async read(ctx, _id, state) {
        const i = inputsFromState(TapArgsSchema, state);
        if (await hostGone(i.host)) return undefined;
        const t = hostTransport(ctx, i.host);
        if (await ownedByAnother(t, i.host, i.name, ctx.urn)) return undefined;
        const obs = await observe(t, i.name, true);
        if (obs?.link.kind !== "tun" || obs.link.info.type !== "tap") return undefined;
        return {
            ...specFromObserved(i, obs),
            bridge: obs.link.master,
            multiQueue: obs.link.info.multi_queue === true,
            vnetHdr: obs.link.info.vnet_hdr === true,
            ifindex: obs.link.ifindex,
            observed: observedOutput(obs),
        };
    },

    async update(ctx, _id, olds, news) {
        const t = hostTransport(ctx, news.host);
        const extra: string[] = [];
        if (olds.bridge !== news.bridge) {
            if (news.bridge) {
                await checkBridge(t, news.host.name, news.bridge);
                extra.push("master", news.bridge);
            } else extra.push("nomaster");
        }
        const obs = await converge(ctx, t, news.host, news, extra);
        return { ...news, ifindex: obs.link.ifindex, observed: observedOutput(obs) };
    },

    async delete(ctx, _id, state) {
        await deleteTap(ctx, state.host, state.name);
    },
};
