import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { RunSettingsSchema, TestSpecSchema } from "../core/bench/spec";
import type { ResultsDoc, Summary } from "../core/bench/results";
import { urnName } from "../core/names";
import { EVENT_DRIVEN } from "../core/notification";
import type { Endpoint } from "../schema/benchmark";
import type { Host } from "./host";
import type { MicroVm } from "./microvm";
import { type DeepInput, withDeps } from "./types";
import { TOKENS } from "../core/tokens";

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
        .all([
            vm.urn,
            vm.host,
            e.via?.placement ?? vm.host,
            vm.interfaces,
            vm.pid,
            vm.accelUsed,
            vm.driver,
            vm.kernel,
            vm.kernelRelease,
            vm.vcpus,
            vm.memoryMiB,
            vm.pinning,
            vm.confinement,
            vm.qmpSocket,
            e.address,
            vm.notification,
            vm.agentSocket,
            vm.agentKey,
        ] as pulumi.Output<any>[])
        .apply(
            ([
                urn,
                host,
                via,
                ifs,
                pid,
                accel,
                driver,
                kernelPath,
                kernelRelease,
                vcpus,
                memoryMiB,
                pinning,
                confinement,
                qmpSocket,
                peerAddress,
                notification,
                agentSocket,
                agentKey,
            ]: any[]) => {
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
                    ...(agentSocket ? { agent: { socket: agentSocket, key: agentKey } } : {}),
                    // Only where it busy-polls: an event-driven guest's pair stays what it was before the field existed.
                    ...(notification && notification !== EVENT_DRIVEN ? { notification } : {}),
                };
            },
        ) as unknown as pulumi.Output<Endpoint>;
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
            TOKENS.BenchmarkRun,
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
