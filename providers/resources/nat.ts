// Nat: an nftables table in a host's network stack, created, read back, rewritten and deleted as
// a whole. Ownership is the table's comment: a table of that name without netbed's comment for
// this resource is never written over or deleted, even when it appears between netbed's check
// and its write (the write and the delete name the table checked by its handle).
import * as fs from "node:fs";
import {
    NFT_PACKAGE,
    type NatRules,
    defaultNatTable,
    nameOnlyNatTable,
    natDrift,
    ownerComment,
    parseNatTable,
    parseTableHead,
    renderNatRuleset,
    type TableHead,
} from "../../core/nat";
import { UNKNOWN } from "../../core/secrets";
import { NatArgsSchema, type NatInputs, type NatOutputs, NatOutputsSchema } from "../../schema/nat";
import { hostGone } from "../hostops/link";
import { type Ctx, type UpdatingHandler, diffTable, inputsFromState } from "../runtime/resource";
import { type Transport, hostTransport } from "../transport";

/** Where a root shell on Debian finds nft (this machine's check at preview, for local and netns hosts). */
const NFT_DIRS = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

export function nftMissingHere(dirs: readonly string[] = NFT_DIRS): boolean {
    return !dirs.some((d) => {
        try {
            fs.accessSync(`${d}/nft`, fs.constants.X_OK);
            return true;
        } catch {
            return false;
        }
    });
}

function missingNft(host: string, detail: string): Error {
    return new Error(
        `on host '${host}': nft (nftables' command) is missing: install the Debian package '${NFT_PACKAGE}' there (the Host's packages)${detail ? `: ${detail}` : ""}`,
    );
}

async function ensureNft(t: Transport, host: string): Promise<void> {
    const r = await t.run(["nft", "--version"], { check: false }).catch((e: Error) => ({ code: -1, stdout: "", stderr: e.message }));
    if (r.code !== 0) throw missingNft(host, r.stderr.trim());
}

/** The table's handle and comment, or null when the table does not exist. */
async function tableHead(t: Transport, table: string): Promise<TableHead | null> {
    const argv = ["nft", "-a", "list", "table", "ip", table];
    const r = await t.run(argv, { check: false });
    if (r.code !== 0) {
        if (/No such file or directory|does not exist/i.test(r.stderr)) return null;
        throw new Error(`on host ${t.label}: \`${argv.join(" ")}\` failed: ${r.stderr.trim()}`);
    }
    const head = parseTableHead(r.stdout);
    if (!head) throw new Error(`on host ${t.label}: \`${argv.join(" ")}\` printed no table line: ${r.stdout.slice(0, 200)}`);
    return head;
}

/** Refuses a table of that name that is not this resource's. */
function assertMine(ctx: Ctx, i: NatInputs, head: TableHead | null): void {
    if (head === null || head.comment === ownerComment(ctx.urn, ctx.name)) return;
    const comment = head.comment;
    throw new Error(
        `on host '${i.host.name}': table ip ${i.table} already exists and is not this resource's (its comment is ${comment === undefined ? "absent" : `'${comment}'`}): netbed never writes over rules it did not create; choose another \`table\``,
    );
}

/**
 * Writes the rules over `head`, the table as checked (null: none). When nft refuses because the
 * table changed since, the table of that name is checked again, so a foreign one is named as such.
 */
async function write(ctx: Ctx, t: Transport, i: NatInputs, head: TableHead | null): Promise<void> {
    assertMine(ctx, i, head);
    const script = renderNatRuleset(i.table, ownerComment(ctx.urn, ctx.name), i as NatRules, head?.handle);
    const r = await t.run(["nft", "-f", "-"], { stdin: script, check: false });
    if (r.code === 0) return;
    assertMine(ctx, i, await tableHead(t, i.table).catch(() => null));
    throw new Error(`on host '${i.host.name}': nft refused the rules of table ip ${i.table}: ${r.stderr.trim()}\nruleset:\n${script}`);
}

/** Deletes the table if it is this resource's, by the handle checked, so a table replaced in between survives. */
async function deleteMine(ctx: Ctx, t: Transport, i: NatInputs): Promise<void> {
    const head = await tableHead(t, i.table).catch(() => null);
    if (head === null) return;
    if (head.comment !== ownerComment(ctx.urn, ctx.name)) {
        ctx.log.warn(ctx.urn, `table ip ${i.table} on host '${i.host.name}' is no longer this resource's (comment '${head.comment ?? ""}'): left as it is`);
        return;
    }
    const argv = ["nft", "delete", "table", "ip", "handle", String(head.handle)];
    const r = await t.run(argv, { check: false });
    if (r.code === 0) return;
    if (!/No such file or directory/.test(r.stderr))
        throw new Error(`on host '${i.host.name}': \`${argv.join(" ")}\` (table ip ${i.table}) failed: ${r.stderr.trim()}`);
    ctx.log.warn(ctx.urn, `table ip ${i.table} on host '${i.host.name}' was deleted or replaced by another program while netbed deleted it: left as it is`);
}

async function forwarding(ctx: Ctx, t: Transport, i: NatInputs): Promise<boolean> {
    const r = await t.run(["cat", "/proc/sys/net/ipv4/ip_forward"], { check: false });
    const on = r.stdout.trim() === "1";
    if (!on)
        ctx.log.warn(
            ctx.urn,
            `host '${i.host.name}' does not forward IPv4 (net.ipv4.ip_forward is ${r.stdout.trim() || "unreadable"}): NAT applies only to forwarded packets; set it with a HostTuning sysctl`,
        );
    return on;
}

async function readBack(t: Transport, table: string) {
    return parseNatTable((await t.run(["nft", "-j", "list", "table", "ip", table])).stdout);
}

export const natHandler: UpdatingHandler<NatInputs, NatOutputs> = {
    outputs: NatOutputsSchema,
    ...diffTable(NatArgsSchema, {
        notDiffed: {
            masquerade: "compared through `rules`, the table's lines the schema derives from it (what refresh reads back)",
            forwards: "compared through `rules`, like masquerade",
            hostTools: "the host's probe, filled by the SDK for check() only: a new probe is not a change of the resource",
        },
        derived: ["rules"],
        replaceOn: ["host", "table"],
    }),
    deleteBeforeReplace: true,

    defaults(inputs, name, urn, olds) {
        const out = { ...inputs };
        // A Nat created with the name-only default keeps its table (a new name would replace it).
        if (out.table === undefined) out.table = olds?.table === nameOnlyNatTable(name) ? olds.table : defaultNatTable(name, urn);
        // Not known before the Host exists; checked again at create.
        if (out.hostTools === UNKNOWN || out.hostTools === null) delete out.hostTools;
        // Derived from the rules by the schema, never given.
        delete out.rules;
        return out;
    },

    // On this machine (local and netns hosts) nft is looked for at preview, before the Host exists.
    localCheck(i) {
        if (i.host.kind === "ssh" || !nftMissingHere()) return [];
        return [
            {
                property: "host",
                reason: `host '${i.host.name}' (this machine) has no nft (in ${NFT_DIRS.join(", ")}): install the Debian package '${NFT_PACKAGE}' (scripts/setup.sh does)`,
            },
        ];
    },

    async create(ctx, i) {
        const t = hostTransport(ctx, i.host);
        await ensureNft(t, i.host.name);
        await write(ctx, t, i, await tableHead(t, i.table));
        try {
            const seen = await readBack(t, i.table);
            return {
                id: `${i.host.name}/${i.table}`,
                outs: { ...i, rules: seen.lines, drift: natDrift(i.rules, seen.lines), forwarding: await forwarding(ctx, t, i) },
            };
        } catch (e) {
            await deleteMine(ctx, t, i).catch(() => undefined);
            throw e;
        }
    },

    async read(ctx, _id, state) {
        const i = inputsFromState(NatArgsSchema, state);
        if (await hostGone(i.host)) return undefined;
        const t = hostTransport(ctx, i.host);
        await ensureNft(t, i.host.name);
        const head = await tableHead(t, i.table);
        // Gone, or replaced by a table that is not ours: either way this resource's table no longer exists.
        if (head === null || head.comment !== ownerComment(ctx.urn, ctx.name)) return undefined;
        const seen = await readBack(t, i.table);
        return { ...state, rules: seen.lines, drift: natDrift(i.rules, seen.lines) };
    },

    async update(ctx, _id, _olds, news) {
        const t = hostTransport(ctx, news.host);
        await ensureNft(t, news.host.name);
        await write(ctx, t, news, await tableHead(t, news.table));
        const seen = await readBack(t, news.table);
        return { ...news, rules: seen.lines, drift: natDrift(news.rules, seen.lines), forwarding: await forwarding(ctx, t, news) };
    },

    async delete(ctx, _id, i) {
        if (await hostGone(i.host)) return;
        await deleteMine(ctx, hostTransport(ctx, i.host), i);
    },
};
