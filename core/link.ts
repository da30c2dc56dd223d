// What a link looks like to `ip -json` and `ethtool -k`, and the argv that changes it. Pure.
import { ipv6Hextets } from "./net";

export const OFFLOADS = ["tso", "gso", "gro", "rxChecksum", "txChecksum"] as const;
type Offload = (typeof OFFLOADS)[number];
export type Offloads = Partial<Record<Offload, boolean>>;

/** ethtool -K feature names for our offload keys. */
const ETHTOOL_FEATURE: Record<Offload, string> = {
    tso: "tso",
    gso: "gso",
    gro: "gro",
    rxChecksum: "rx",
    txChecksum: "tx",
};
/** The lines `ethtool -k` prints for them. */
const ETHTOOL_LINE: Record<Offload, string> = {
    tso: "tcp-segmentation-offload",
    gso: "generic-segmentation-offload",
    gro: "generic-receive-offload",
    rxChecksum: "rx-checksumming",
    txChecksum: "tx-checksumming",
};

export interface Route {
    to: string;
    via?: string;
    metric?: number;
}

export interface LinkObservation {
    ifindex: number;
    name: string;
    kind: string;
    mtu: number;
    up: boolean;
    mac: string;
    txqueuelen: number;
    master?: string;
    /** The peer/parent link name where the kernel reports one (veth peer, macvtap parent). */
    link?: string;
    alias?: string;
    /** Global-scope addresses as CIDRs (IPv6 link-local ones are the kernel's, not ours). */
    addresses: string[];
    /** Kind-specific details from linkinfo.info_data (bridge stp_state, macvtap mode, tun flags). */
    info: Record<string, unknown>;
}

/** Reads `ip -json -details link show dev X` and `ip -json addr show dev X` output. */
export function parseLink(linkJson: string, addrJson: string): LinkObservation {
    const l = JSON.parse(linkJson)[0];
    if (!l) throw new Error("ip printed no link");
    const a = JSON.parse(addrJson)[0] ?? { addr_info: [] };
    const addresses = (a.addr_info ?? []).filter((x: any) => x.scope === "global").map((x: any) => `${x.local}/${x.prefixlen}`);
    return {
        ifindex: l.ifindex,
        name: l.ifname,
        kind: l.linkinfo?.info_kind ?? "",
        mtu: l.mtu,
        up: (l.flags ?? []).includes("UP"),
        mac: l.address ?? "",
        txqueuelen: l.txqlen ?? 0,
        master: l.master,
        link: l.link,
        alias: l.ifalias,
        addresses,
        info: l.linkinfo?.info_data ?? {},
    };
}

/** Reads `ip -json route show dev X` (main table) and keeps the routes someone added (not the kernel's). */
export function parseRoutes(json: string): Route[] {
    const rs = JSON.parse(json || "[]") as any[];
    return rs
        .filter((r) => r.protocol !== "kernel" && r.type !== "local" && r.type !== "broadcast" && r.type !== "multicast")
        .filter((r) => !(r.dst === "fe80::/64")) // the kernel's IPv6 link-local route
        .map((r) => {
            const out: Route = { to: r.dst === "default" ? "default" : r.dst.includes("/") ? r.dst : `${r.dst}/${r.dst.includes(":") ? 128 : 32}` };
            if (r.gateway) out.via = r.gateway;
            if (r.metric !== undefined && r.metric !== 0 && !(r.dst.includes(":") && r.metric === 1024)) out.metric = r.metric;
            return out;
        });
}

/** Reads `ethtool -k DEV`: which of our offloads are on. Missing lines are left out. */
export function parseEthtoolFeatures(text: string): Offloads {
    const out: Offloads = {};
    for (const key of Object.keys(ETHTOOL_LINE) as Offload[]) {
        const m = new RegExp(`^${ETHTOOL_LINE[key]}: (on|off)`, "m").exec(text);
        if (m) out[key] = m[1] === "on";
    }
    return out;
}

/** `ethtool -K DEV ...` argv for the offloads that differ from what is observed; undefined when none. */
export function ethtoolArgv(dev: string, want: Offloads, have: Offloads): string[] | undefined {
    const args: string[] = [];
    for (const k of OFFLOADS) {
        if (want[k] !== undefined && want[k] !== have[k]) args.push(ETHTOOL_FEATURE[k], want[k] ? "on" : "off");
    }
    return args.length ? ["ethtool", "-K", dev, ...args] : undefined;
}

/** Normalises a route for comparison (IPv4 host routes written without /32 and so on). */
export function routeKey(r: Route): string {
    const to = r.to === "default" || r.to.includes("/") ? r.to : `${r.to}/${r.to.includes(":") ? 128 : 32}`;
    return `${to} via ${r.via ?? "-"} metric ${r.metric ?? 0}`;
}

/** argv for adding or deleting a route on a device. */
export function routeArgv(op: "add" | "del", dev: string, r: Route): string[] {
    const fam = r.to.includes(":") || (r.via ?? "").includes(":") ? ["-6"] : [];
    const argv = ["ip", ...fam, "route", op, r.to, "dev", dev];
    if (r.via) argv.push("via", r.via);
    if (r.metric !== undefined) argv.push("metric", String(r.metric));
    return argv;
}

/** argv for adding or deleting an address; IPv6 skips duplicate address detection so it is usable at once. */
export function addrArgv(op: "add" | "del", dev: string, cidr: string): string[] {
    const argv = ["ip", "addr", op, cidr, "dev", dev];
    if (op === "add" && cidr.includes(":")) argv.push("nodad");
    return argv;
}

/** Canonical form of an address for comparison with what `ip` prints (IPv6 compressed, lower case). */
export function canonicalCidr(cidr: string): string {
    const [addr, prefix] = cidr.split("/");
    if (!addr.includes(":")) return cidr;
    // Re-render IPv6 the way the kernel (and ip) prints it: RFC 5952 compression.
    const hextets = ipv6Hextets(addr).map((h) => parseInt(h, 16).toString(16));
    let best = { start: -1, len: 0 };
    for (let i = 0; i < 8; ) {
        if (hextets[i] !== "0") {
            i++;
            continue;
        }
        let j = i;
        while (j < 8 && hextets[j] === "0") j++;
        if (j - i > best.len && j - i > 1) best = { start: i, len: j - i };
        i = j;
    }
    let out: string;
    if (best.start < 0) out = hextets.join(":");
    else {
        const head = hextets.slice(0, best.start).join(":");
        const tail = hextets.slice(best.start + best.len).join(":");
        out = `${head}::${tail}`;
    }
    return `${out}/${prefix}`;
}

/** argv for `ip tuntap add`: a tap, multi-queue and with a vnet header as asked, owned by a user or group. */
export function tuntapArgv(i: { name: string; multiQueue?: boolean; vnetHdr?: boolean; owner?: number; group?: number }): string[] {
    const argv = ["ip", "tuntap", "add", "dev", i.name, "mode", "tap"];
    if (i.multiQueue) argv.push("multi_queue");
    if (i.vnetHdr) argv.push("vnet_hdr");
    if (i.owner !== undefined) argv.push("user", String(i.owner));
    if (i.group !== undefined) argv.push("group", String(i.group));
    return argv;
}

/** One end of a veth pair: its name, and the namespace it is made in where its host is one. */
interface VethEnd {
    name: string;
    host: { kind: "netns"; namespace: string } | { kind: "local" | "ssh" };
}

/** argv that creates both ends of a veth pair at once, each straight into its host's namespace. */
export function vethAddArgv(a: VethEnd, b: VethEnd): string[] {
    const place = (e: VethEnd) => (e.host.kind === "netns" ? ["netns", e.host.namespace] : []);
    return ["ip", "link", "add", "name", a.name, ...place(a), "type", "veth", "peer", "name", b.name, ...place(b)];
}
