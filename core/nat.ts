// NAT as an nftables table netbed owns: the ruleset it writes (one atomic `nft -f` transaction,
// refused whole when the table is no longer the one checked), the rules it reads back
// (`nft -j list table`), and how it recognises its own table. Pure.
import { sha256Hex } from "./hash";
import { urnTag } from "./names";
import { parseCidr } from "./net";

/** The Debian package that provides `nft`: named in every refusal of a host without it. */
export const NFT_PACKAGE = "nftables";

/** Source NAT to the address of the interface a packet leaves by. */
interface Masquerade {
    /** Only packets from this subnet (network address form, e.g. 10.0.3.0/30); default all. */
    source?: string;
    outInterface: string;
}

/** Destination NAT: connections to `port` (arriving on `inInterface`) go to `to`:`toPort`. */
interface PortForward {
    protocol: "tcp" | "udp";
    port: number;
    to: string;
    toPort: number;
    inInterface?: string;
}

export interface NatRules {
    masquerade: Masquerade[];
    forwards: PortForward[];
}

/**
 * The words nft 1.0.6 reads as keywords where `create table ip`, `table ip` or `list table ip`
 * expects a table's name, which it then cannot parse, quoted or not: every word of its scanner tried
 * there in a network namespace of its own ("filter" and "nat" parse).
 */
export const NFT_TABLE_KEYWORDS: ReadonlySet<string> = new Set(
    [
        "accept add ah all and arp bridge cgroup chain chains comment comp constant continue counter counters cpu create ct day dccp define",
        "delete describe device devices dnat drop dst dup dynamic ecn element elements eq esp ether exists expires export exthdr fib flags",
        "flow flowtable flowtables flush frag fwd ge get goto gt handle hbh hook hooks hour ibriport ibrname icmp icmpv6 igmp iif iifgroup",
        "iifname iiftype import include index inet insert interval ip ip6 ipsec jhash jump le limit limits list log lshift lt map maps mark",
        "masquerade meta meter meters mh missing monitor ne netdev nftrace not notrack numgen obriport obrname offload oif oifgroup oifname",
        "oiftype or osf pkttype policy position priority queue quota quotas random redefine redirect reject rename replace reset return",
        "rshift rt rt0 rt2 rtclassid rule ruleset sctp secmark secmarks set sets size skgid skuid snat socket srh symhash synproxy",
        "synproxys table tables tcp th time timeout tproxy type typeof udp udplite undefine update vlan vmap xor xt",
    ]
        .join(" ")
        .split(" "),
);

/** nft names a table with letters, digits and '_'; netbed keeps them short enough for messages. */
export function natTableProblem(name: string): string | undefined {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return "must be an nftables table name: a letter or '_', then letters, digits or '_' (at most 64)";
    if (NFT_TABLE_KEYWORDS.has(name))
        return `is a keyword of nft, which cannot parse it as a table's name, quoted or not: name the table otherwise, e.g. 'netbed_${name}'`;
    return undefined;
}

/** "netbed_" + a resource name: the default table of versions before it carried the URN's hash. */
export function nameOnlyNatTable(resourceName: string): string {
    return `netbed_${resourceName.replace(/[^A-Za-z0-9_]/g, "_")}`.slice(0, 64);
}

/**
 * The table a Nat resource owns unless told otherwise: "netbed_" + its name + its URN's hash, so a
 * Nat of the same name in another stack on the same network stack has a table of its own.
 */
export function defaultNatTable(resourceName: string, urn: string): string {
    const tag = `_${urnTag(urn)}`;
    return nameOnlyNatTable(resourceName).slice(0, 64 - tag.length) + tag;
}

/** A subnet to match by source: a CIDR whose host bits are zero (nft would clear them silently). */
export function natSourceProblem(s: string): string | undefined {
    const c = parseCidr(s);
    if (c?.family !== 4) return "is not an IPv4 subnet like 10.0.3.0/30 (the table is of family ip)";
    if (c.value !== c.network) {
        const n = c.network;
        const net = [24n, 16n, 8n, 0n].map((b) => ((n >> b) & 0xffn).toString()).join(".");
        return `has host bits set: give the subnet ${net}/${c.prefix}`;
    }
    return undefined;
}

/**
 * The comment that marks a table as this resource's (nft keeps at most 128 bytes): the name for
 * people, a hash of the URN so two stacks' resources of one name are told apart.
 */
export function ownerComment(urn: string, name: string): string {
    const hash = sha256Hex(urn).slice(0, 16);
    return `netbed ${name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 80)} ${hash}`;
}

/** A table as `nft -a list table` shows it: its handle (never reused in a network namespace) and comment. */
export interface TableHead {
    handle: number;
    /** Undefined when the table has none. */
    comment?: string;
}

/** The table's handle and comment in `nft -a list table` text output; undefined when there is no table line. */
export function parseTableHead(text: string): TableHead | undefined {
    const handle = /^table ip \S+ \{ # handle (\d+)$/m.exec(text)?.[1];
    if (handle === undefined) return undefined;
    // The table's own comment comes before its first chain; rule comments come inside chains.
    const head = text.split(/\n\s*chain /)[0];
    return { handle: Number(handle), comment: /^\s*comment "([^"]*)"\s*$/m.exec(head)?.[1] };
}

const CHAINS = [
    { name: "postrouting", hook: "postrouting", prio: 100, label: "srcnat" },
    { name: "prerouting", hook: "prerouting", prio: -100, label: "dstnat" },
] as const;

function masqueradeLine(m: Masquerade): string {
    return ["postrouting:", ...(m.source ? ["ip saddr", m.source] : []), `oifname "${m.outInterface}"`, "masquerade"].join(" ");
}

function forwardLine(f: PortForward): string {
    return [
        "prerouting:",
        ...(f.inInterface ? [`iifname "${f.inInterface}"`] : []),
        f.protocol,
        "dport",
        String(f.port),
        "dnat to",
        `${f.to}:${f.toPort}`,
    ].join(" ");
}

function chainLine(name: string, hook: string, prio: number, policy: string): string {
    return `chain ${name}: type nat hook ${hook} priority ${prio} policy ${policy}`;
}

/** The table's contents as one line per chain and rule, in order: what diff and drift compare. */
export function ruleLines(r: NatRules): string[] {
    return [
        chainLine("postrouting", "postrouting", 100, "accept"),
        ...r.masquerade.map(masqueradeLine),
        chainLine("prerouting", "prerouting", -100, "accept"),
        ...r.forwards.map(forwardLine),
    ];
}

/**
 * The `nft -f` input that makes the table hold exactly these rules, as one transaction that nft
 * applies whole or not at all: no packet sees a half-written table, and the table netbed checked is
 * the one replaced. Its first command fails, and with it the whole transaction, when the table is
 * no longer as checked: `delete table ip handle H` when the check found this resource's table with
 * handle H (a table deleted and created again in between has another handle), `create table`
 * when it found none (a table of that name created in between exists). Inputs are validated
 * names, addresses and numbers; nothing else reaches the script.
 */
export function renderNatRuleset(table: string, comment: string, r: NatRules, replacing?: number): string {
    const body = (chain: (typeof CHAINS)[number]) => {
        const rules = chain.name === "postrouting" ? r.masquerade.map(masqueradeLine) : r.forwards.map(forwardLine);
        return [
            `    chain ${chain.name} {`,
            `        type nat hook ${chain.hook} priority ${chain.label}; policy accept;`,
            ...rules.map((l) => `        ${l.slice(l.indexOf(":") + 2)}`),
            "    }",
        ];
    };
    return [
        ...(replacing === undefined ? [] : [`delete table ip handle ${replacing}`]),
        // A block given to `create table` keeps the comment but drops chains (nft 1.0.6): they follow in their own block.
        `create table ip ${table} { comment "${comment}"; }`,
        `table ip ${table} {`,
        ...CHAINS.flatMap(body),
        "}",
        "",
    ].join("\n");
}

/** What `nft -j list table` shows of a table netbed owns: its lines, and what netbed did not write. */
export interface NatObserved {
    lines: string[];
    /** Chains or rules in the table that netbed's inputs cannot express (someone else's). */
    foreign: string[];
}

type Expr = Record<string, any>;

function matchOf(e: Expr): { key: string; value: unknown } | undefined {
    const m = e.match;
    if (m?.op !== "==") return undefined;
    const left = m.left ?? {};
    if (left.meta?.key) return { key: left.meta.key, value: m.right };
    if (left.payload) return { key: `${left.payload.protocol} ${left.payload.field}`, value: m.right };
    return undefined;
}

function prefixOf(v: any): string | undefined {
    if (typeof v === "string") return `${v}/32`;
    if (v?.prefix && typeof v.prefix.addr === "string") return `${v.prefix.addr}/${v.prefix.len}`;
    return undefined;
}

/** A rule netbed writes, read back from its JSON expressions; undefined for anything else. */
function ruleLineOf(chain: string, expr: Expr[]): string | undefined {
    const matches = expr.slice(0, -1).map(matchOf);
    if (matches.some((m) => m === undefined)) return undefined;
    const by = new Map(matches.map((m) => [m!.key, m!.value]));
    const last = expr[expr.length - 1] ?? {};
    if (chain === "postrouting" && "masquerade" in last && last.masquerade === null) {
        const source = by.has("ip saddr") ? prefixOf(by.get("ip saddr")) : undefined;
        const out = by.get("oifname");
        if (typeof out !== "string" || (by.has("ip saddr") && !source) || by.size !== (source ? 2 : 1)) return undefined;
        return masqueradeLine({ source, outInterface: out });
    }
    if (chain === "prerouting" && last.dnat && typeof last.dnat.addr === "string") {
        const proto = ["tcp", "udp"].find((p) => by.has(`${p} dport`)) as "tcp" | "udp" | undefined;
        const port = proto ? by.get(`${proto} dport`) : undefined;
        const iif = by.get("iifname");
        if (!proto || typeof port !== "number" || (by.has("iifname") && typeof iif !== "string") || by.size !== (iif ? 2 : 1)) return undefined;
        return forwardLine({
            protocol: proto,
            port,
            to: last.dnat.addr,
            toPort: typeof last.dnat.port === "number" ? last.dnat.port : port,
            inInterface: iif as string | undefined,
        });
    }
    return undefined;
}

/** Reads `nft -j list table ip T` output into netbed's lines, in chain and rule order. */
export function parseNatTable(json: string): NatObserved {
    const items = (JSON.parse(json).nftables ?? []) as Expr[];
    const chains = items.filter((i) => i.chain).map((i) => i.chain);
    const rules = items.filter((i) => i.rule).map((i) => i.rule);
    const lines: string[] = [];
    const foreign: string[] = [];
    for (const c of chains) {
        const ours = CHAINS.some((k) => k.name === c.name);
        const line = chainLine(c.name, c.hook ?? "none", c.prio ?? 0, c.policy ?? "none");
        if (!ours || c.type !== "nat") foreign.push(line);
        lines.push(line);
        for (const r of rules.filter((x) => x.chain === c.name)) {
            const l = ours ? ruleLineOf(c.name, r.expr ?? []) : undefined;
            if (l) lines.push(l);
            else {
                const desc = `${c.name}: a rule netbed did not write (handle ${r.handle}): ${JSON.stringify(r.expr).slice(0, 200)}`;
                foreign.push(desc);
                lines.push(desc);
            }
        }
    }
    return { lines, foreign };
}

/** Human-readable differences between the declared lines and the table's, for the `drift` output. */
export function natDrift(declared: string[], seen: string[]): string[] {
    const out: string[] = [];
    for (const l of declared) if (!seen.includes(l)) out.push(`missing: ${l}`);
    for (const l of seen) if (!declared.includes(l)) out.push(`not declared: ${l}`);
    if (out.length === 0 && declared.join("\n") !== seen.join("\n")) out.push("the rules are in another order than declared");
    return out;
}
