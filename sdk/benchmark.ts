import * as path from "path";
import * as pulumi from "./pulumi";
import { z } from "zod";
import { RunSettingsSchema, TestSpecSchema, VOLT_MATRIX, duplicateCells, testProblems } from "../core/bench/spec";
import type { ResultsDoc, Summary } from "../core/bench/results";
import { urnName } from "../core/names";
import { ipProblem } from "../core/net";
import { HostConnectionSchema, type Host } from "./host";
import { refineWith } from "./link";
import { hostPath } from "./paths";
import { NIC_BACKENDS, type MicroVm } from "./microvm";
import { DeepInput, withDeps } from "./types";

const Slug = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be lower-case letters, digits, '.', '_' or '-' (it names a results directory)");

const HostEndpoint = z
    .object({
        kind: z.literal("host"),
        /** The host's address that the peer uses (required when this end runs the servers). */
        address: z.string().superRefine(refineWith(ipProblem)).optional(),
        host: HostConnectionSchema,
    })
    .strict();

const VmEndpoint = z
    .object({
        kind: z.literal("vm"),
        /** The MicroVm's resource name. */
        name: z.string().min(1),
        /** The VM's host (where its VMM's CPU is accounted). */
        host: HostConnectionSchema,
        /** The host the guest agent is reached from (default: the VM's host; a macvtap guest is not reachable from its own host). */
        via: HostConnectionSchema,
        address: z.string().superRefine(refineWith(ipProblem)),
        /**
         * What a client connects to when this guest serves, where that is not its NIC's address: a
         * NAT's address whose ports are forwarded to the guest, or 127.0.0.1 for the guest's own loopback.
         */
        peerAddress: z.string().superRefine(refineWith(ipProblem)).optional(),
        pid: z.number().int().min(1),
        backend: z.enum(NIC_BACKENDS),
        accel: z.string(),
        driver: z.string(),
        kernel: z.string(),
        vcpus: z.number().int().min(1),
        memoryMiB: z.number().int().min(1),
        pinned: z.boolean(),
        security: z.string().default("none"),
        /** QEMU's QMP socket on the VM's host, for KVM exit counters (absent: none). */
        qmpSocket: z.string().optional(),
    })
    .strict();

export const EndpointSchema = z.discriminatedUnion("kind", [HostEndpoint, VmEndpoint]);
export type Endpoint = z.output<typeof EndpointSchema>;

export const PairSchema = z
    .object({
        /** Names the compared thing in tables and in the results path, e.g. "virtio", "macvtap", "bare-metal". */
        label: Slug,
        /** The KVM criteria's topology, e.g. "host-guest", "ext-guest", "guest-guest" (default: from the endpoint kinds). */
        topology: Slug.optional(),
        /** Runs the clients (iperf3 -c, sockperf ping-pong, netperf, ping). */
        client: EndpointSchema,
        /** Runs the servers: a guest's start at boot; a host's are started for the run and stopped after it. */
        server: EndpointSchema,
    })
    .strict()
    .superRefine((p, ctx) => {
        if (p.server.kind === "host" && p.server.address === undefined) {
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["server", "address"], message: "a host that runs the servers needs `address`, the address its peer connects to" });
        }
    });

export const BenchmarkRunArgsSchema = z
    .object({
        pairs: z.array(PairSchema).min(1, "give at least one client/server pair"),
        /** The tests; each expands to cells (pps: one per size). Default: the Volt template's matrix. */
        tests: z.array(TestSpecSchema).min(1).default(VOLT_MATRIX),
        settings: RunSettingsSchema.default({}),
        /** Where raw data goes on the machine running `pulumi up`: <resultsDir>/<topology>/<backend>/<timestamp>/. */
        resultsDir: hostPath(),
        /** Change any of these to run again with unchanged inputs. */
        triggers: z.array(z.any()).default([]),
        /** When true, failed cells are reported in the results instead of failing the run. */
        allowFailedCells: z.boolean().default(false),
    })
    .strict()
    .superRefine((v, ctx) => {
        const dup = duplicateCells(v.tests);
        if (dup.length > 0) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["tests"], message: `give each test once: ${dup.join(", ")} appear more than once` });
        for (const p of testProblems(v.tests)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["tests", p.index, p.field], message: p.message });
        const seen = new Map<string, number>();
        v.pairs.forEach((p, i) => {
            if (seen.has(p.label)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["pairs", i, "label"], message: `'${p.label}' is also pairs[${seen.get(p.label)}]'s label` });
            seen.set(p.label, i);
        });
    });

export type BenchmarkRunInputs = z.output<typeof BenchmarkRunArgsSchema>;

/** One end of a pair: a Host (with the address its peer uses when it serves) or a MicroVm. */
export type EndpointArgs = { host: Host; address?: pulumi.Input<string> } | { vm: MicroVm; nic?: number; via?: Host; address?: pulumi.Input<string> };

export interface PairArgs {
    label: string;
    topology?: string;
    client: EndpointArgs;
    server: EndpointArgs;
}

export interface BenchmarkRunArgs {
    pairs: PairArgs[];
    tests?: DeepInput<z.input<typeof TestSpecSchema>>[];
    settings?: DeepInput<z.input<typeof RunSettingsSchema>>;
    /** Default: ./results under the directory `pulumi up` runs in. */
    resultsDir?: pulumi.Input<string>;
    triggers?: pulumi.Input<unknown>[];
    allowFailedCells?: pulumi.Input<boolean>;
}

function endpoint(e: EndpointArgs): pulumi.Output<Endpoint> {
    if ("host" in e) return pulumi.output({ kind: "host" as const, host: e.host.placement, address: e.address }) as pulumi.Output<Endpoint>;
    const vm = e.vm;
    const nic = e.nic ?? 0;
    return pulumi
        .all([vm.urn, vm.host, e.via?.placement ?? vm.host, vm.interfaces, vm.pid, vm.accelUsed, vm.driver, vm.kernel, vm.kernelRelease, vm.vcpus, vm.memoryMiB, vm.pinning, vm.confinement, vm.qmpSocket, e.address] as pulumi.Output<any>[])
        .apply(([urn, host, via, ifs, pid, accel, driver, kernelPath, kernelRelease, vcpus, memoryMiB, pinning, confinement, qmpSocket, peerAddress]: any[]) => {
            const i = ifs[nic];
            if (!i) throw new Error(`MicroVm ${urnName(String(urn))} has no NIC ${nic}`);
            return {
                kind: "vm" as const,
                name: urnName(String(urn)),
                host,
                via,
                address: String(i.address).split("/")[0],
                peerAddress,
                pid,
                backend: i.backend,
                accel,
                driver,
                // The release where the VM knows it, else its kernel's path.
                kernel: kernelRelease || kernelPath,
                vcpus,
                memoryMiB,
                pinned: (pinning?.vcpus?.length ?? 0) > 0 || (pinning?.other?.length ?? 0) > 0 || (pinning?.vhost?.length ?? 0) > 0,
                security: confinement ?? "none",
                ...(qmpSocket ? { qmpSocket } : {}),
            };
        }) as unknown as pulumi.Output<Endpoint>;
}

/**
 * A benchmark run: a matrix of tests over client/server pairs, each cell repeated, interleaved
 * across pairs, with CPU cost accounted. Runs on create and again when inputs or `triggers` change;
 * raw data lands under `resultsDir` as each measurement finishes; `results` is the typed document.
 */
export class BenchmarkRun extends pulumi.CustomResource {
    /** The full results document (see ResultsDocSchema). */
    public readonly results!: pulumi.Output<ResultsDoc>;
    /** Headline numbers per pair, small enough to print. */
    public readonly summary!: pulumi.Output<Summary>;
    /** The results document on the machine running `pulumi up`. */
    public readonly resultsPath!: pulumi.Output<string>;
    /** The report (markdown; report.html and the SVG charts beside it), "" where it could not be rendered. */
    public readonly reportPath!: pulumi.Output<string>;
    public readonly wallSeconds!: pulumi.Output<number>;

    constructor(name: string, args: BenchmarkRunArgs, opts?: pulumi.CustomResourceOptions) {
        const pairs = args.pairs.map((p) => ({ label: p.label, topology: p.topology, client: endpoint(p.client), server: endpoint(p.server) }));
        const deps: pulumi.Resource[] = [];
        for (const p of args.pairs) {
            for (const e of [p.client, p.server]) {
                if ("host" in e) deps.push(e.host);
                else {
                    deps.push(e.vm);
                    if (e.via) deps.push(e.via);
                }
            }
        }
        super(
            "netbed:index:BenchmarkRun",
            name,
            {
                pairs,
                tests: args.tests,
                settings: args.settings,
                resultsDir: args.resultsDir ?? path.resolve("results"),
                triggers: args.triggers,
                allowFailedCells: args.allowFailedCells,
                results: undefined,
                summary: undefined,
                resultsPath: undefined,
                reportPath: undefined,
                wallSeconds: undefined,
            },
            withDeps(opts, ...deps),
        );
    }
}
