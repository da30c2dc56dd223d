// The Testbed description, which is also the stack config (stacks/Pulumi.<hardware>.yaml):
// validated as a whole before any resource is declared, errors naming the key and the fix.
import { z } from "zod";
import { BridgeArgsSchema, type BridgeInputs } from "./bridge";
import { HostArgsSchema, type HostConnection, type HostInputs } from "./host";
import { MacvtapLinkArgsSchema, type MacvtapLinkInputs } from "./macvtap";
import { TapArgsSchema, type TapInputs } from "./tap";
import { VethPairArgsSchema, type VethPairInputs } from "./veth";
import { GuestImageArgsSchema, type GuestImageInputs } from "./image";
import { KernelArgsSchema, type KernelInputs } from "./kernel";
import { MicroVmArgsSchema } from "./microvm";
import { SecurityProfileArgsSchema, type SecurityProfileInputs } from "./security";
import { HostTuningArgsSchema, type HostTuningInputs } from "./tuning";
import { ipProblem } from "../core/net";
import { RunSettingsSchema, type RunSettings, type TestSpec, TestSpecSchema, VOLT_MATRIX, duplicateCells, testProblems } from "../core/bench/spec";

const HOST_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** Fabric entry keys become parts of resource names (and link names when `name` is not given). */
const ENTRY_KEY = /^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,62}$/;

const entries = z.record(z.string(), z.record(z.string(), z.unknown())).default({});

const StackConfigSchema = z
    .object({
        /** The testbed's hosts by name (server, client, external, ...). */
        hosts: z.record(z.string(), z.unknown()).refine((h) => Object.keys(h).length > 0, "declare at least one host"),
        /** Links by kind, each keyed by its interface name; `host` names one of `hosts`. */
        fabric: z
            .object({
                bridges: entries,
                taps: entries,
                macvtaps: entries,
                /** Veth pairs keyed by a wire name; each end names its host and interface. */
                wires: entries,
            })
            .strict()
            .default({}),
        /** Host tuning by host name (governor, boost, sysctls, NIC IRQ affinity): applied before the fabric and guests, restored on destroy. */
        tuning: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
        /** Guests: one kernel and image (built on every host that runs VMs) and the VMs by name. */
        guests: z
            .object({
                kernel: z.record(z.string(), z.unknown()).default({ source: { kind: "debian", package: "linux-image-amd64" } }),
                image: z.record(z.string(), z.unknown()).default({}),
                vms: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
                /** The SecurityProfile every VMM runs under (one per host); "none" runs them unconfined. Default: the QEMU preset. */
                security: z.union([z.literal("none"), z.record(z.string(), z.unknown())]).default({}),
            })
            .strict()
            .optional(),
        /** One BenchmarkRun over client/server pairs; endpoints name a host or a VM. */
        benchmark: z
            .object({
                /** "volt" (the Volt template's matrix) or a list of test specs. */
                tests: z
                    .union([z.literal("volt"), z.array(z.unknown())], { errorMap: () => ({ message: "must be 'volt' or a list of test specs" }) })
                    .default("volt"),
                settings: z.unknown().default({}),
                /** Relative paths are taken from the project directory; '..' is refused (it would lead out of it). */
                resultsDir: z
                    .string()
                    .min(1)
                    .max(4096, "must be at most 4096 bytes (PATH_MAX)")
                    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
                    .refine((p) => !/[\x00-\x1f\x7f]/.test(p), "must not contain control characters (NUL, newline, ...)")
                    .refine((p) => !p.split("/").includes(".."), "must not contain '..' (give the directory it stands for)")
                    .default("results"),
                pairs: z.array(z.record(z.string(), z.unknown())).min(1, "give at least one pair"),
                allowFailedCells: z.boolean().default(false),
                /** Change any of these to measure again with nothing else changed (an A/B run, a rerun after a host change). */
                triggers: z
                    .array(z.union([z.string().max(200), z.number()]))
                    .max(16)
                    .default([]),
            })
            .strict()
            .optional(),
    })
    .strict();

export type EndpointConfig = { host: string; address?: string } | { vm: string; nic?: number; via?: string; address?: string };

interface BenchmarkConfig {
    tests: TestSpec[];
    settings: RunSettings;
    resultsDir: string;
    allowFailedCells: boolean;
    triggers: (string | number)[];
    pairs: { label: string; topology?: string; client: EndpointConfig; server: EndpointConfig }[];
}

export interface ParsedConfig {
    hosts: Record<string, HostInputs>;
    bridges: Record<string, { host: string; args: BridgeInputs }>;
    taps: Record<string, { host: string; args: TapInputs }>;
    macvtaps: Record<string, { host: string; args: MacvtapLinkInputs }>;
    wires: Record<string, { a: string; b: string; args: VethPairInputs }>;
    tuning: Record<string, HostTuningInputs>;
    kernel?: Omit<KernelInputs, "host">;
    image?: Omit<GuestImageInputs, "host">;
    /** Undefined: VMMs run unconfined. */
    security?: Omit<SecurityProfileInputs, "host">;
    /** VM args as given (links are referenced by name and resolved by the program). */
    vms: Record<string, { host: string; args: Record<string, unknown>; nics: VmNicConfig[] }>;
    benchmark?: BenchmarkConfig;
}

interface VmNicConfig {
    backend: string;
    tap?: string;
    macvtap?: string;
    [k: string]: unknown;
}

type StackConfig = z.output<typeof StackConfigSchema>;
type Path = (string | number)[];
type AddProblem = (key: string, path: Path, msg: string) => void;

/** What each part of the config is parsed with: the validated top level, the result so far, and the problem list. */
interface ParseContext {
    config: StackConfig;
    out: ParsedConfig;
    add: AddProblem;
    hostRef: (key: string, path: Path, v: unknown) => HostConnection | undefined;
    claimLink: (host: string, link: string, key: string, path: Path) => void;
}

/** Validates config; throws one error listing every problem as `testbed:<key>: reason`. */
export function parseStackConfig(raw: Record<string, unknown>): ParsedConfig {
    const problems: string[] = [];
    const add: AddProblem = (key, path, msg) => problems.push(`testbed:${key}${path.length ? `.${path.join(".")}` : ""}: ${msg}`);
    const top = StackConfigSchema.safeParse(raw);
    if (!top.success) {
        for (const i of top.error.issues) add(String(i.path[0] ?? "(config)"), i.path.slice(1), i.message);
        throw new Error(`invalid stack config:\n  ${problems.join("\n  ")}`);
    }
    const out: ParsedConfig = { hosts: {}, bridges: {}, taps: {}, macvtaps: {}, wires: {}, tuning: {}, vms: {} };
    const ctx: ParseContext = { config: top.data, out, add, hostRef: hostReferrer(top.data.hosts, add), claimLink: linkClaimer(add) };
    parseHosts(ctx);
    checkEntryKeys(ctx);
    parseLinks(ctx, "bridges", BridgeArgsSchema, out.bridges);
    parseLinks(ctx, "taps", TapArgsSchema, out.taps);
    parseLinks(ctx, "macvtaps", MacvtapLinkArgsSchema, out.macvtaps);
    parseWires(ctx);
    parseTuning(ctx);
    if (top.data.guests) parseGuests(ctx, top.data.guests);
    const b = top.data.benchmark;
    if (b) out.benchmark = parseBenchmark(b, top.data.hosts, out, add);
    if (problems.length > 0) throw new Error(`invalid stack config:\n  ${problems.join("\n  ")}`);
    return out;
}

function parseHosts({ config, out, add }: ParseContext): void {
    for (const [name, spec] of Object.entries(config.hosts)) {
        if (!HOST_NAME.test(name)) add("hosts", [name], "host names are lower-case letters, digits and '-', starting with a letter");
        const r = HostArgsSchema.safeParse(spec);
        if (r.success) out.hosts[name] = r.data;
        else for (const i of r.error.issues) add("hosts", [name, ...i.path], i.message);
    }
}

// A placeholder connection for validating link fields: the real one comes from the Host.
function hostReferrer(hosts: StackConfig["hosts"], add: AddProblem): ParseContext["hostRef"] {
    return (key, path, v) => {
        if (typeof v !== "string" || !(v in hosts)) {
            add(key, path, `must name one of the hosts (${Object.keys(hosts).join(", ")}), got ${JSON.stringify(v)}`);
            return undefined;
        }
        return { kind: "local", name: v };
    };
}

function checkEntryKeys({ config, add }: ParseContext): void {
    for (const kind of ["bridges", "taps", "macvtaps", "wires"] as const) {
        for (const name of Object.keys(config.fabric[kind])) {
            if (!ENTRY_KEY.test(name)) add(`fabric.${kind}`, [name], "keys are letters, digits and _ . @ + -, starting with a letter or digit (at most 63)");
        }
    }
}

// Link names per host: two links with one name on one host could never both be created.
function linkClaimer(add: AddProblem): ParseContext["claimLink"] {
    const linkOwner = new Map<string, string>();
    return (host, link, key, path) => {
        const k = `${host}\0${link}`;
        const other = linkOwner.get(k);
        if (other !== undefined) add(key, path, `'${link}' is also ${other} on host '${host}': give each link its own name`);
        else linkOwner.set(k, `${key}.${path.slice(0, -1).join(".")}`);
    };
}

function parseLinks<T extends { name: string }>(
    { config, add, hostRef, claimLink }: ParseContext,
    kind: "bridges" | "taps" | "macvtaps",
    schema: z.ZodType<T, z.ZodTypeDef, unknown>,
    target: Record<string, { host: string; args: T }>,
): void {
    for (const [name, spec] of Object.entries(config.fabric[kind])) {
        const key = `fabric.${kind}`;
        const host = hostRef(key, [name, "host"], spec.host);
        if (!host) continue;
        const r = schema.safeParse({ ...spec, name: spec.name ?? name, host });
        if (r.success) {
            target[name] = { host: host.name, args: r.data };
            claimLink(host.name, r.data.name, key, [name, "name"]);
        } else for (const i of r.error.issues) add(key, [name, ...i.path], i.message);
    }
}

function parseWires({ config, out, add, hostRef, claimLink }: ParseContext): void {
    for (const [name, spec] of Object.entries(config.fabric.wires)) {
        const key = "fabric.wires";
        const a = spec.a as Record<string, unknown> | undefined;
        const b = spec.b as Record<string, unknown> | undefined;
        const ha = hostRef(key, [name, "a", "host"], a?.host);
        const hb = hostRef(key, [name, "b", "host"], b?.host);
        if (!ha || !hb) continue;
        // Validate with placeholders of the hosts' real kinds, so a wire between machines is refused.
        const conn = (h: HostConnection) => connectionOfKind(out.hosts[h.name], h);
        const r = VethPairArgsSchema.safeParse({ ...spec, a: { ...a, host: conn(ha) }, b: { ...b, host: conn(hb) } });
        if (r.success) {
            out.wires[name] = { a: ha.name, b: hb.name, args: r.data };
            claimLink(ha.name, r.data.a.name, key, [name, "a", "name"]);
            claimLink(hb.name, r.data.b.name, key, [name, "b", "name"]);
        } else for (const i of r.error.issues) add(key, [name, ...i.path], i.message);
    }
}

/** The placeholder `h` with the kind of the host it names (`spec`, undefined when that host was invalid). */
function connectionOfKind(spec: HostInputs | undefined, h: HostConnection): HostConnection {
    if (spec?.kind === "netns") return { kind: "netns", name: h.name, namespace: spec.namespace ?? h.name };
    if (spec?.kind === "ssh" && spec.ssh) return { kind: "ssh", name: h.name, ssh: spec.ssh };
    return h;
}

function parseTuning({ config, out, add, hostRef }: ParseContext): void {
    for (const [name, spec] of Object.entries(config.tuning)) {
        const host = hostRef("tuning", [name], name);
        if (!host) continue;
        const r = HostTuningArgsSchema.safeParse({ ...spec, host });
        if (r.success) out.tuning[name] = r.data;
        else for (const i of r.error.issues) add("tuning", [name, ...i.path], i.message);
    }
}

function parseGuests(ctx: ParseContext, g: NonNullable<StackConfig["guests"]>): void {
    const { out, add } = ctx;
    const placeholder = { kind: "local", name: "config" };
    const k = KernelArgsSchema.safeParse({ ...g.kernel, host: placeholder });
    if (k.success) out.kernel = k.data;
    else for (const i of k.error.issues) add("guests.kernel", i.path, i.message);
    if (g.security !== "none") {
        const sp = SecurityProfileArgsSchema.safeParse({ ...g.security, host: placeholder });
        if (sp.success) out.security = sp.data;
        else for (const i of sp.error.issues) add("guests.security", i.path, i.message);
    }
    const im = GuestImageArgsSchema.safeParse({ ...g.image, host: placeholder });
    if (im.success) out.image = im.data;
    else for (const i of im.error.issues) add("guests.image", i.path, i.message);
    for (const [name, spec] of Object.entries(g.vms)) parseVm(ctx, name, spec);
}

function parseVm({ out, add, hostRef }: ParseContext, name: string, spec: Record<string, unknown>): void {
    const key = "guests.vms";
    if (!HOST_NAME.test(name)) add(key, [name], "VM names are lower-case letters, digits and '-', starting with a letter");
    const host = hostRef(key, [name, "host"], spec.host);
    if (!host) return;
    const nics = (Array.isArray(spec.nics) ? spec.nics : []) as VmNicConfig[];
    nics.forEach((n, idx) => {
        checkNicLinks(out, host.name, n, (field, msg) => add(key, [name, "nics", idx, field], msg));
    });
    // Validate the rest with the MicroVm schema, links replaced by placeholders of their kind.
    const r = MicroVmArgsSchema.safeParse({
        ...spec,
        host,
        kernel: "/placeholder/vmlinuz",
        image: "/placeholder/initrd",
        nics: nics.map((n, idx) => {
            const mac = `02:00:00:00:00:${(idx + 2).toString(16).padStart(2, "0")}`;
            return n.macvtap !== undefined ? { ...n, macvtapDevice: "/placeholder/dev", macvtapMac: mac } : n;
        }),
    });
    if (!r.success) for (const i of r.error.issues) add(key, [name, ...i.path], i.message);
    else out.vms[name] = { host: host.name, args: spec, nics };
}

/** A VM NIC's tap or macvtap must be one declared in the fabric on the VM's host. */
function checkNicLinks(out: ParsedConfig, host: string, n: VmNicConfig, fail: (field: string, msg: string) => void): void {
    if (n.tap !== undefined && !Object.values(out.taps).some((t) => t.host === host && t.args.name === n.tap)) {
        fail("tap", `'${n.tap}' is not a tap of host '${host}' in fabric.taps`);
    }
    if (n.macvtap !== undefined && !Object.values(out.macvtaps).some((m) => m.host === host && m.args.name === n.macvtap)) {
        fail("macvtap", `'${n.macvtap}' is not a macvtap of host '${host}' in fabric.macvtaps`);
    }
}

const LABEL = /^[a-z0-9][a-z0-9._-]{0,62}$/;

type Fail = (path: Path, msg: string) => void;

function parseBenchmark(
    b: NonNullable<StackConfig["benchmark"]>,
    hosts: Record<string, unknown>,
    out: ParsedConfig,
    add: AddProblem,
): BenchmarkConfig | undefined {
    let ok = true;
    const fail: Fail = (path, msg) => {
        ok = false;
        add("benchmark", path, msg);
    };
    const tests = parseTests(b.tests, fail);
    const st = RunSettingsSchema.safeParse(b.settings);
    if (!st.success) for (const is of st.error.issues) fail(["settings", ...is.path], is.message);
    const labels = new Set<string>();
    const pairs: BenchmarkConfig["pairs"] = [];
    b.pairs.forEach((p, i) => {
        const pair = parsePair(p, labels, hosts, out.vms, (path, msg) => fail(["pairs", i, ...path], msg));
        if (pair) pairs.push(pair);
    });
    return ok && st.success
        ? { tests, settings: st.data, resultsDir: b.resultsDir, allowFailedCells: b.allowFailedCells, triggers: b.triggers, pairs }
        : undefined;
}

function parseTests(given: NonNullable<StackConfig["benchmark"]>["tests"], fail: Fail): TestSpec[] {
    const tests: TestSpec[] = [];
    if (given === "volt") tests.push(...VOLT_MATRIX);
    else
        given.forEach((t, i) => {
            const r = TestSpecSchema.safeParse(t);
            if (r.success) tests.push(r.data);
            else for (const is of r.error.issues) fail(["tests", i, ...is.path], is.message);
        });
    const dup = duplicateCells(tests);
    if (dup.length > 0) fail(["tests"], `give each test once: ${dup.join(", ")} appear more than once`);
    for (const p of testProblems(tests)) fail(["tests", p.index, p.field], p.message);
    return tests;
}

/** One client/server pair; `fail` takes paths relative to the pair, `labels` collects the labels seen so far. */
function parsePair(
    p: Record<string, unknown>,
    labels: Set<string>,
    hosts: Record<string, unknown>,
    vms: ParsedConfig["vms"],
    fail: Fail,
): BenchmarkConfig["pairs"][number] | undefined {
    const label = p.label;
    if (typeof label !== "string" || !LABEL.test(label))
        fail(["label"], "must be lower-case letters, digits, '.', '_' or '-' (it names a results directory), e.g. virtio");
    else if (labels.has(label)) fail(["label"], `'${label}' labels another pair too`);
    else labels.add(label);
    if (p.topology !== undefined && (typeof p.topology !== "string" || !LABEL.test(p.topology)))
        fail(["topology"], "must be lower-case letters, digits, '.', '_' or '-', e.g. host-guest");
    for (const unknownKey of Object.keys(p).filter((k) => !["label", "topology", "client", "server"].includes(k)))
        fail([unknownKey], "is not a pair setting (label, topology, client, server)");
    const client = parseEndpoint("client", p.client, hosts, vms, fail);
    const server = parseEndpoint("server", p.server, hosts, vms, fail);
    return client && server ? { label: String(label), topology: p.topology as string | undefined, client, server } : undefined;
}

function parseEndpoint(
    side: "client" | "server",
    given: unknown,
    hosts: Record<string, unknown>,
    vms: ParsedConfig["vms"],
    fail: Fail,
): EndpointConfig | undefined {
    const e = given as Record<string, unknown> | undefined;
    if (!e || typeof e !== "object") {
        fail([side], "give {host: <name>} or {vm: <name>}");
        return undefined;
    }
    if (typeof e.vm === "string") return vmEndpoint(e, e.vm, hosts, vms, (path, msg) => fail([side, ...path], msg));
    if (typeof e.host === "string") {
        if (!(e.host in hosts)) fail([side, "host"], `must name one of the hosts (${Object.keys(hosts).join(", ")})`);
        if (side === "server" && typeof e.address !== "string")
            fail([side, "address"], "a host that runs the servers needs `address`, the address its peer connects to");
        return { host: e.host, address: e.address as string | undefined };
    }
    fail([side], "give {host: <name>} or {vm: <name>}");
    return undefined;
}

function vmEndpoint(e: Record<string, unknown>, vm: string, hosts: Record<string, unknown>, vms: ParsedConfig["vms"], fail: Fail): EndpointConfig {
    if (!(vm in vms)) fail(["vm"], `must name one of guests.vms (${Object.keys(vms).join(", ") || "none declared"})`);
    if (e.via !== undefined && !(typeof e.via === "string" && e.via in hosts)) fail(["via"], `must name one of the hosts (${Object.keys(hosts).join(", ")})`);
    if (e.nic !== undefined && !(Number.isInteger(e.nic) && (e.nic as number) >= 0)) fail(["nic"], "must be a NIC index (0, 1, ...)");
    if (e.address !== undefined && (typeof e.address !== "string" || ipProblem(e.address)))
        fail(["address"], "must be an IP address (what the peer connects to: a NAT's forwarded address, or 127.0.0.1 for the guest's loopback)");
    return { vm, nic: e.nic as number | undefined, via: e.via as string | undefined, address: e.address as string | undefined };
}
