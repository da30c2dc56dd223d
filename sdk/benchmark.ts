import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import type { RunSettingsSchema, TestSpecSchema } from "../core/bench/spec";
import { urnName } from "../core/names";
import { EVENT_DRIVEN } from "../core/notification";
import { type BenchmarkRunOutputs, BenchmarkRunOutputsSchema, type Endpoint } from "../schema/benchmark";
import type { Host } from "./host";
import type { MicroVm } from "./microvm";
import { type DeepInput, type Outputs, outputSlots, withDeps } from "./types";
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
    if ("host" in e)
        return pulumi.output({ host: e.host.placement, address: e.address }).apply(({ host, address }): Endpoint => ({ kind: "host", host, address }));
    const vm = e.vm;
    const nic = e.nic ?? 0;
    return pulumi
        .output({
            urn: vm.urn,
            host: vm.host,
            via: e.via?.placement ?? vm.host,
            interfaces: vm.interfaces,
            pid: vm.pid,
            accel: vm.accelUsed,
            driver: vm.driver,
            kernelPath: vm.kernel,
            kernelRelease: vm.kernelRelease,
            vcpus: vm.vcpus,
            memoryMiB: vm.memoryMiB,
            pinning: vm.pinning,
            confinement: vm.confinement,
            qmpSocket: vm.qmpSocket,
            peerAddress: e.address,
            notification: vm.notification,
            agentSocket: vm.agentSocket,
            agentKey: vm.agentKey,
        })
        .apply((v): Endpoint => {
            const i = v.interfaces[nic];
            if (!i) throw new Error(`MicroVm ${urnName(v.urn)} has no NIC ${nic}`);
            const pinning = v.pinning ?? {};
            return {
                kind: "vm",
                name: urnName(v.urn),
                host: v.host,
                via: v.via,
                address: i.address.split("/")[0],
                peerAddress: v.peerAddress,
                pid: v.pid,
                backend: i.backend,
                accel: v.accel,
                driver: v.driver,
                // The release where the VM knows it, else its kernel's path.
                kernel: v.kernelRelease || v.kernelPath,
                vcpus: v.vcpus,
                memoryMiB: v.memoryMiB,
                pinned: (pinning.vcpus?.length ?? 0) > 0 || (pinning.other?.length ?? 0) > 0 || (pinning.vhost?.length ?? 0) > 0,
                security: v.confinement ?? "none",
                ...(v.qmpSocket ? { qmpSocket: v.qmpSocket } : {}),
                ...(v.agentSocket ? { agent: { socket: v.agentSocket, key: v.agentKey } } : {}),
                // Only where it busy-polls: an event-driven guest's pair stays what it was before the field existed.
                ...(v.notification && v.notification !== EVENT_DRIVEN ? { notification: v.notification } : {}),
            };
        });
}

/**
 * The BenchmarkRun's outputs: the full results document (see ResultsDocSchema), headline numbers per
 * pair small enough to print, the results document's path on the machine running `pulumi up`, the
 * report's (markdown; report.html and the SVG charts beside it; "" where it could not be rendered)
 * and the run's wall time.
 */
export interface BenchmarkRun extends Outputs<BenchmarkRunOutputs> {}

/**
 * A benchmark run: a matrix of tests over client/server pairs, each cell repeated, interleaved
 * across pairs, with CPU cost accounted. Runs on create and again when inputs or `triggers` change;
 * raw data lands under `resultsDir` as each measurement finishes; `results` is the typed document.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the fields are the outputs registerResource sets on each instance, typed from the schema
export class BenchmarkRun extends pulumi.CustomResource {
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
                ...outputSlots(BenchmarkRunOutputsSchema),
                pairs,
                tests: args.tests,
                settings: args.settings,
                resultsDir: args.resultsDir ?? path.resolve("results"),
                triggers: args.triggers,
                allowFailedCells: args.allowFailedCells,
            },
            withDeps(opts, ...deps),
        );
    }
}
