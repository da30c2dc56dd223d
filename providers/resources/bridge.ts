// Bridge: a Linux bridge on a host.
import { networkStackOf } from "../../core/placement";
import { BridgeArgsSchema, type BridgeInputs, type BridgeOutputs, BridgeOutputsSchema } from "../../schema/bridge";
import { addressClaims, claimName, converge, deleteOwnedLink, hostGone, observe, observedOutput, ownedByAnother, specFromObserved } from "../hostops/link";
import { runIp } from "../hostops/ipbatch";
import { type UpdatingHandler, diffTable, inputsFromState } from "../runtime/resource";
import { type Transport, hostTransport } from "../transport";

async function membersOf(t: Transport, bridge: string): Promise<string[]> {
    const r = await runIp(t, ["ip", "-json", "addr", "show", "master", bridge]);
    return (JSON.parse(r.stdout || "[]") as any[]).map((l) => l.ifname);
}

async function attach(t: Transport, hostName: string, bridge: string, member: string): Promise<void> {
    const r = await runIp(t, ["ip", "link", "set", "dev", member, "master", bridge, "up"], { check: false });
    if (r.code !== 0) {
        throw new Error(
            `on host '${hostName}': could not add member '${member}' to bridge '${bridge}': ${r.stderr.trim()}` +
                (/does not exist/.test(r.stderr) ? ` ('${member}' does not exist there)` : ""),
        );
    }
}

export const bridgeHandler: UpdatingHandler<BridgeInputs, BridgeOutputs> = {
    ...diffTable(BridgeArgsSchema, { replaceOn: ["host", "name"] }),
    outputs: BridgeOutputsSchema,
    deleteBeforeReplace: true,

    crossCheck(urn, i, registry) {
        const dup = registry.declareLinks(urn, networkStackOf(i.host), [i.name]);
        if (dup.length > 0) return dup;
        return registry.claim(urn, addressClaims(i.host, i.addresses), []);
    },

    async create(ctx, i) {
        const t = hostTransport(ctx, i.host);
        await claimName(ctx, t, i.host, i.name);
        try {
            await runIp(t, ["ip", "link", "add", "name", i.name, "type", "bridge", "stp_state", i.stp ? "1" : "0"]);
            for (const m of i.members) await attach(t, i.host.name, i.name, m);
            const obs = await converge(ctx, t, i.host, i, ["alias", `netbed ${ctx.name}`], { fresh: true });
            return { id: `${i.host.name}/${i.name}`, outs: { ...i, ifindex: obs.link.ifindex, observed: observedOutput(obs) } };
        } catch (e) {
            for (const m of i.members) await runIp(t, ["ip", "link", "set", "dev", m, "nomaster"], { check: false });
            await deleteOwnedLink(ctx, t, i.host, i.name).catch(() => undefined);
            throw e;
        }
    },

    async read(ctx, _id, state) {
        const i = inputsFromState(BridgeArgsSchema, state);
        if (await hostGone(i.host)) return undefined;
        const t = hostTransport(ctx, i.host);
        if (await ownedByAnother(t, i.host, i.name, ctx.urn)) return undefined;
        const obs = await observe(t, i.name, true);
        if (obs?.link.kind !== "bridge") return undefined;
        const attached = await membersOf(t, i.name);
        return {
            ...specFromObserved(i, obs),
            stp: Number(obs.link.info.stp_state ?? 0) !== 0,
            members: i.members.filter((m) => attached.includes(m)),
            ifindex: obs.link.ifindex,
            observed: observedOutput(obs),
        };
    },

    async update(ctx, _id, olds, news) {
        const t = hostTransport(ctx, news.host);
        const old = inputsFromState(BridgeArgsSchema, olds);
        if (old.stp !== news.stp) await runIp(t, ["ip", "link", "set", "dev", news.name, "type", "bridge", "stp_state", news.stp ? "1" : "0"]);
        const attached = await membersOf(t, news.name);
        for (const m of old.members) if (!news.members.includes(m) && attached.includes(m)) await runIp(t, ["ip", "link", "set", "dev", m, "nomaster"]);
        for (const m of news.members) if (!attached.includes(m)) await attach(t, news.host.name, news.name, m);
        const obs = await converge(ctx, t, news.host, news);
        return { ...news, ifindex: obs.link.ifindex, observed: observedOutput(obs) };
    },

    async delete(ctx, _id, i) {
        if (await hostGone(i.host)) return;
        const t = hostTransport(ctx, i.host);
        // Members are not ours: detach them (the kernel would too) and leave them as they are. A
        // bridge of that name that is another resource's keeps its members.
        if (!(await ownedByAnother(t, i.host, i.name, ctx.urn))) {
            for (const m of i.members) await runIp(t, ["ip", "link", "set", "dev", m, "nomaster"], { check: false });
        }
        await deleteOwnedLink(ctx, t, i.host, i.name);
    },
};
