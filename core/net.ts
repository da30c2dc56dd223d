// Addresses, subnets and MACs. Pure.
import { createHash } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";

export interface Cidr {
    family: 4 | 6;
    /** The address as written (without the prefix). */
    address: string;
    prefix: number;
    /** The address as an integer, and the network (address with host bits cleared). */
    value: bigint;
    network: bigint;
}

function ipv4ToBig(a: string): bigint {
    return a.split(".").reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
}

/** The eight hextets of an IPv6 address, "::" expanded (an embedded IPv4 tail becomes two). */
export function ipv6Hextets(a: string): string[] {
    let s = a;
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
    if (v4) {
        const n = ipv4ToBig(v4[1]);
        s = `${s.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = s.split("::");
    const h = head ? head.split(":") : [];
    const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
    const fill = s.includes("::") ? 8 - h.length - t.length : 0;
    return [...h, ...Array(fill).fill("0"), ...t];
}

function ipv6ToBig(a: string): bigint {
    return ipv6Hextets(a).reduce((acc, p) => (acc << 16n) | BigInt(parseInt(p, 16)), 0n);
}

/** Parses "10.0.0.1/24" or "fd00::1/64". Returns undefined when it is not a CIDR. */
export function parseCidr(s: string): Cidr | undefined {
    const m = /^([^/\s]+)\/(\d{1,3})$/.exec(s);
    if (!m) return undefined;
    const [, address, p] = m;
    const prefix = Number(p);
    let family: 4 | 6;
    let value: bigint;
    if (isIPv4(address)) {
        family = 4;
        if (prefix > 32) return undefined;
        value = ipv4ToBig(address);
    } else if (isIPv6(address) && !address.includes("%")) {
        family = 6;
        if (prefix > 128) return undefined;
        value = ipv6ToBig(address);
    } else {
        return undefined;
    }
    const bits = family === 4 ? 32 : 128;
    const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
    return { family, address, prefix, value, network: value & mask };
}

export function cidrProblem(s: string): string | undefined {
    const c = parseCidr(s);
    if (!c) return "is not an address with a prefix length, like 10.0.0.1/24 or fd00::1/64";
    if (c.prefix === 0) return "has prefix length 0: that is a default route, not an interface address";
    if (c.family === 4 && c.prefix < 31 && c.value === c.network) {
        return `is the network address of ${c.address}/${c.prefix}: give a host address such as ${bigToIpv4(c.network + 1n)}/${c.prefix}`;
    }
    return undefined;
}

function bigToIpv4(n: bigint): string {
    return [24n, 16n, 8n, 0n].map((s) => ((n >> s) & 0xffn).toString()).join(".");
}

/** True when the two subnets share at least one address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
    if (a.family !== b.family) return false;
    const p = Math.min(a.prefix, b.prefix);
    const bits = a.family === 4 ? 32 : 128;
    const mask = p === 0 ? 0n : ((1n << BigInt(p)) - 1n) << BigInt(bits - p);
    return (a.value & mask) === (b.value & mask);
}

/** A route destination: a CIDR (host bits allowed to be zero) or "default". */
export function routeDestinationProblem(s: string): string | undefined {
    if (s === "default") return undefined;
    return parseCidr(s) ? undefined : "must be 'default' or a subnet like 10.1.0.0/16";
}

/** Whether s is an IPv4 address in dotted-quad form. */
export function isIPv4Address(s: string): boolean {
    return isIPv4(s);
}

export function ipProblem(s: string): string | undefined {
    return isIPv4(s) || isIPv6(s) ? undefined : "is not an IPv4 or IPv6 address";
}

const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

export function macProblem(mac: string): string | undefined {
    if (!MAC_RE.test(mac)) return "is not a MAC address like 02:00:5e:10:00:01 (lower-case hex)";
    const first = parseInt(mac.slice(0, 2), 16);
    if (first & 1) return "is a multicast address (lowest bit of the first octet set): use a unicast MAC";
    if (mac === "00:00:00:00:00:00") return "is all zeros";
    return undefined;
}

/**
 * A MAC derived deterministically from a seed (for example "host/link"): the first six bytes of
 * its SHA-256, made unicast and locally administered (first octet xxxxxx10), so it never collides
 * with a vendor-assigned address.
 */
export function deriveMac(seed: string): string {
    const b = createHash("sha256").update(seed).digest();
    b[0] = (b[0] & 0xfc) | 0x02;
    return [...b.subarray(0, 6)].map((x) => x.toString(16).padStart(2, "0")).join(":");
}
