// Field types shared by the resource schemas: quoted values in errors, link fields (Bridge, Tap,
// MacvtapLink, VethPair ends) and host paths.
import { z } from "zod";
import { OFFLOADS } from "../core/link";
import { cidrProblem, ipProblem, macProblem, parseCidr, routeDestinationProblem } from "../core/net";
import { ifnameProblem } from "../core/names";

/** A value quoted in an error message, cut short: a 1 MB argument must not make a 1 MB error. */
function quoted(v: string): string {
    return v.length > 80 ? `'${v.slice(0, 60)}...' (${v.length} characters)` : `'${v}'`;
}

export const refineWith = (problem: (v: string) => string | undefined) => (v: string | undefined, ctx: z.RefinementCtx) => {
    if (v === undefined) return;
    const p = problem(v);
    if (p) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${quoted(v)} ${p}` });
};

/**
 * Linux accepts a leading '-', but the name is an argv word of ip, ethtool and tc, which would read
 * it as an option.
 */
function linkNameProblem(name: string): string | undefined {
    return ifnameProblem(name) ?? (name.startsWith("-") ? "must not start with '-' (it would read as an option of ip or ethtool)" : undefined);
}

export const IfnameSchema = z.string().superRefine(refineWith(linkNameProblem));
export const MacSchema = z.string().superRefine(refineWith(macProblem));

const RouteSchema = z
    .object({
        /** Destination subnet, or "default". */
        to: z.string().superRefine(refineWith(routeDestinationProblem)),
        /** Gateway address; without it the destination is directly on this link. */
        via: z.string().superRefine(refineWith(ipProblem)).optional(),
        metric: z.number().int().min(0).max(4294967295).optional(),
    })
    .strict();

const OffloadsSchema = z
    .object(Object.fromEntries(OFFLOADS.map((k) => [k, z.boolean().optional()])) as Record<(typeof OFFLOADS)[number], z.ZodOptional<z.ZodBoolean>>)
    .strict();

/** Fields every link takes. */
export const linkFields = {
    /** Interface name: at most 15 bytes, no '/', ':' or whitespace. */
    name: IfnameSchema,
    /** MTU in bytes (68-65535). Default: the kernel's (1500). Updated in place. */
    mtu: z
        .number({ invalid_type_error: "must be a number of bytes" })
        .int("must be a whole number of bytes")
        .min(68, "must be at least 68 (the IPv4 minimum)")
        .max(65535, "must be at most 65535")
        .optional(),
    /** Addresses with prefix length (IPv4 or IPv6). Updated in place. */
    addresses: z.array(z.string().superRefine(refineWith(cidrProblem))).default([]),
    /** Routes through this link. Updated in place. */
    routes: z.array(RouteSchema).default([]),
    /** Administrative state (default up). Updated in place. */
    up: z.boolean().default(true),
    /** Transmit queue length in packets. Default: the kernel's. Updated in place. */
    txqueuelen: z.number().int().min(0).max(1_000_000).optional(),
    /** Offloads to force on or off with ethtool (needs ethtool on the host). Updated in place. */
    offloads: OffloadsSchema.optional(),
};

/** Checks that apply to any link's fields: no repeated address, routes need the link up. */
export function refineLink(v: { addresses: string[]; routes: unknown[]; up: boolean }, ctx: z.RefinementCtx, at: (string | number)[] = []): void {
    const seen = new Map<string, number>();
    v.addresses.forEach((a, i) => {
        const c = parseCidr(a);
        if (!c) return;
        const key = `${c.family}/${c.value}`;
        if (seen.has(key)) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...at, "addresses", i], message: `'${a}' repeats addresses[${seen.get(key)}]` });
        }
        seen.set(key, i);
    });
    if (!v.up && v.routes.length > 0) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [...at, "routes"], message: "routes need the link up: set up: true or remove the routes" });
    }
}

/**
 * An output whose shape a pure function in core or a handler builds (a probe, an observation):
 * checked to be an object or array when state is read back, typed as that function's result.
 */
export const observedObject = <T extends object>(what: string) =>
    z.custom<T>((v) => typeof v === "object" && v !== null, { message: `must be ${what} (an object)` });
export const observedList = <T>(what: string) => z.custom<T[]>((v) => Array.isArray(v), { message: `must be a list of ${what}` });

/** What the provider observed on the real link: the values benchmarks depend on. */
export interface LinkObserved {
    ifindex: number;
    mac: string;
    mtu: number;
    up: boolean;
    txqueuelen: number;
    addresses: string[];
    /** Offload state read back with `ethtool -k` (absent where the host has no ethtool). */
    offloads?: Record<(typeof OFFLOADS)[number], boolean>;
}

// Paths on a host that netbed reads from or writes to: absolute, without '..' (a path must say
// where it points, not climb out of a directory a reviewer trusts), without control characters
// (they end up in argv, logs and generated files) and no longer than PATH_MAX.
const PATH_MAX = 4096;

/** Why `p` is not an acceptable host path, or undefined when it is. Pure. */
function hostPathProblem(p: string): string | undefined {
    if (!p.startsWith("/")) return "must be an absolute path";
    if (Buffer.byteLength(p, "utf8") > PATH_MAX) return `is longer than ${PATH_MAX} bytes (PATH_MAX)`;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    if (/[\x00-\x1f\x7f]/.test(p)) return "must not contain control characters (NUL, newline, ...)";
    if (p.split("/").includes("..")) return "must not contain '..' (give the path it stands for)";
    return undefined;
}

/** A host path (see hostPathProblem); `where` completes "must be an absolute path ...". */
export const hostPath = (where = "") =>
    z.string({ invalid_type_error: "must be a path (a string)" }).superRefine((p, ctx) => {
        const problem = hostPathProblem(p);
        if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem === "must be an absolute path" ? problem + where : problem });
    });

/** The outputs every link resource returns besides its inputs. */
export const linkOutputs = {
    ifindex: z.number().int(),
    /** MTU, state, addresses, txqueuelen and offloads as read back from the host. */
    observed: observedObject<LinkObserved>("the link as observed"),
};
