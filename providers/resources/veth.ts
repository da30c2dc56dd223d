// VethPair: a veth pair whose ends may live in two hosts' namespaces on one machine.
import { vethAddArgv } from "../../core/link";
import { networkStackOf } from "../../core/placement";
import type { HostConnection } from "../../schema/host";
import { VethPairArgsSchema, type VethPairInputs, type VethPairOutputs, VethPairOutputsSchema } from "../../schema/veth";
import {
    addressClaims,
    claimName,
    converge,
    deleteOwnedLink,
    dropOwner,
    hostGone,
    observe,
    ownedByAnother,
    observedOutput,
    specFromObserved,
} from "../hostops/link";
import { runIp } from "../hostops/ipbatch";
import { type Ctx, type UpdatingHandler, diffTable, inputsFromState } from "../runtime/resource";
import { LocalTransport, type Transport, hostTransport } from "../transport";

type End = VethPairInputs["a"];

const thisMachine = new LocalTransport("local");

/** Where the pair is made: this machine for local/netns hosts, the SSH host otherwise. */
function machineTransport(ctx: Ctx, a: End): Transport {
    return a.host.kind === "ssh" ? hostTransport(ctx, a.host) : thisMachine;
}

function endSpec(e: End, mtu: number | undefined) {
    return { ...e, mtu };
}

async function endsGone(i: VethPairInputs): Promise<boolean> {
    return (await hostGone(i.a.host)) || (await hostGone(i.b.host));
}

function outsOf(i: VethPairInputs, oa: Awaited<ReturnType<typeof converge>>, ob: Awaited<ReturnType<typeof converge>>) {
    return { ...i, observed: { a: { name: i.a.name, ...observedOutput(oa) }, b: { name: i.b.name, ...observedOutput(ob) } } };
}

function claimsOf(host: HostConnection, end: "a" | "b", e: End) {
    return addressClaims(host, e.addresses, `${end}.`);
}

export const vethHandler: UpdatingHandler<VethPairInputs, VethPairOutputs> = {
    ...diffTable(VethPairArgsSchema, { byField: ["a", "b"], replaceOn: ["a.host", "a.name", "b.host", "b.name"] }),
    outputs: VethPairOutputsSchema,
    deleteBeforeReplace: true,

    crossCheck(urn, i, registry) {
        const dup = [
            ...registry.declareLinks(`${urn}#a`, networkStackOf(i.a.host), [i.a.name], "a.name"),
            ...registry.declareLinks(`${urn}#b`, networkStackOf(i.b.host), [i.b.name], "b.name"),
        ];
        if (dup.length > 0) return dup;
        const macs = [...(i.a.mac ? [{ property: "a.mac", mac: i.a.mac }] : []), ...(i.b.mac ? [{ property: "b.mac", mac: i.b.mac }] : [])];
        if (i.a.mac && i.a.mac === i.b.mac) return [{ property: "b.mac", reason: `both ends have MAC ${i.b.mac}` }];
        return registry.claim(urn, [...claimsOf(i.a.host, "a", i.a), ...claimsOf(i.b.host, "b", i.b)], macs);
    },

    async create(ctx, i) {
        const ta = hostTransport(ctx, i.a.host);
        const tb = hostTransport(ctx, i.b.host);
        await claimName(ctx, ta, i.a.host, i.a.name, undefined, "a.name");
        await claimName(ctx, tb, i.b.host, i.b.name, undefined, "b.name");
        try {
            await runIp(machineTransport(ctx, i.a), vethAddArgv(i.a, i.b));
            const alias = (end: string) => ["alias", `netbed ${ctx.name} ${end}`];
            const [oa, ob] = await Promise.all([
                converge(ctx, ta, i.a.host, endSpec(i.a, i.mtu), alias("a"), { fresh: true }),
                converge(ctx, tb, i.b.host, endSpec(i.b, i.mtu), alias("b"), { fresh: true }),
            ]);
            return { id: `${i.a.host.name}/${i.a.name}--${i.b.host.name}/${i.b.name}`, outs: outsOf(i, oa, ob) };
        } catch (e) {
            // Deleting one end deletes the pair.
            await deleteOwnedLink(ctx, ta, i.a.host, i.a.name).catch(() => undefined);
            await dropOwner(tb, i.b.host, i.b.name, ctx.urn).catch(() => undefined);
            throw e;
        }
    },

    async read(ctx, _id, state) {
        const i = inputsFromState(VethPairArgsSchema, state);
        if (await endsGone(i)) return undefined;
        const [ta, tb] = [hostTransport(ctx, i.a.host), hostTransport(ctx, i.b.host)];
        if ((await ownedByAnother(ta, i.a.host, i.a.name, ctx.urn)) || (await ownedByAnother(tb, i.b.host, i.b.name, ctx.urn))) return undefined;
        const [oa, ob] = await Promise.all([observe(ta, i.a.name, true), observe(tb, i.b.name, true)]);
        if (!oa || !ob || oa.link.kind !== "veth" || ob.link.kind !== "veth") return undefined;
        const a = specFromObserved(endSpec(i.a, i.mtu), oa);
        const b = specFromObserved(endSpec(i.b, i.mtu), ob);
        const { mtu: _a, ...aEnd } = a;
        const { mtu: _b, ...bEnd } = b;
        return { a: aEnd, b: bEnd, mtu: i.mtu === undefined ? undefined : oa.link.mtu, ...{ observed: outsOf(i, oa, ob).observed } };
    },

    async update(ctx, _id, _olds, news) {
        const [oa, ob] = await Promise.all([
            converge(ctx, hostTransport(ctx, news.a.host), news.a.host, endSpec(news.a, news.mtu)),
            converge(ctx, hostTransport(ctx, news.b.host), news.b.host, endSpec(news.b, news.mtu)),
        ]);
        return outsOf(news, oa, ob);
    },

    async delete(ctx, _id, i) {
        const aGone = await hostGone(i.a.host);
        const bGone = await hostGone(i.b.host);
        // A namespace's deletion takes its veth end and so the whole pair with it.
        if (!aGone) await deleteOwnedLink(ctx, hostTransport(ctx, i.a.host), i.a.host, i.a.name);
        else if (!bGone) await deleteOwnedLink(ctx, hostTransport(ctx, i.b.host), i.b.host, i.b.name);
        if (!bGone) await dropOwner(hostTransport(ctx, i.b.host), i.b.host, i.b.name, ctx.urn);
    },
};
