import { z } from "zod";
import { RunSettingsSchema, TestSpecSchema, VOLT_MATRIX, duplicateCells, testProblems } from "../core/bench/spec";
import { MAX_RUN_NOMINAL_SECONDS, runNominalSeconds } from "../core/bench/measure";
import { ipProblem } from "../core/net";
import type { ResultsDoc, Summary } from "../core/bench/results";
import { hostPath, observedObject, refineWith } from "./common";
import { HostConnectionSchema } from "./host";
import { NIC_BACKENDS } from "./microvm";

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
        /** The host the guest was reached from when its agent listened on the network; the agent is now reached on `host`. */
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
        /** The MicroVm's notification model where it busy-polls (absent: event-driven). */
        notification: z.string().optional(),
        /** QEMU's QMP socket on the VM's host, for KVM exit counters (absent: none). */
        qmpSocket: z.string().optional(),
        /** The guest agent's unix socket on the VM's host, and the key its requests carry (absent: the guest runs no agent). */
        agent: z
            .object({
                socket: hostPath(" (the MicroVm's agentSocket output)"),
                key: z.string().regex(/^[0-9a-f]{64}$/, "must be the MicroVm's agentKey output (64 hex digits)"),
            })
            .strict()
            .optional(),
    })
    .strict();

const EndpointSchema = z.discriminatedUnion("kind", [HostEndpoint, VmEndpoint]);
export type Endpoint = z.output<typeof EndpointSchema>;

const PairSchema = z
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
            ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["server", "address"],
                message: "a host that runs the servers needs `address`, the address its peer connects to",
            });
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
        if (dup.length > 0)
            ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["tests"], message: `give each test once: ${dup.join(", ")} appear more than once` });
        for (const p of testProblems(v.tests)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["tests", p.index, p.field], message: p.message });
        const nominal = runNominalSeconds(v.pairs.length, v.tests, v.settings);
        if (nominal > MAX_RUN_NOMINAL_SECONDS)
            ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["settings"],
                message:
                    `the run would measure for ${(nominal / 3600).toFixed(1)} h (every pair, cell, repetition and warm-up at its nominal time: ` +
                    `duration, ICMP count x interval, flood count / rate), over the ${MAX_RUN_NOMINAL_SECONDS / 3600} h a run may take: ` +
                    `lower those, or split the tests into several runs`,
            });
        const seen = new Map<string, number>();
        v.pairs.forEach((p, i) => {
            if (seen.has(p.label))
                ctx.addIssue({ code: z.ZodIssueCode.custom, path: ["pairs", i, "label"], message: `'${p.label}' is also pairs[${seen.get(p.label)}]'s label` });
            seen.set(p.label, i);
        });
    });

export type BenchmarkRunInputs = z.output<typeof BenchmarkRunArgsSchema>;

/** What create and update return besides the inputs. */
export const BenchmarkRunOutputsSchema = z
    .object({
        /** The full results document (see ResultsDocSchema). */
        results: observedObject<ResultsDoc>("a results document"),
        /** Headline numbers per pair. */
        summary: observedObject<Summary>("a summary"),
        resultsPath: z.string(),
        reportPath: z.string(),
        wallSeconds: z.number(),
    })
    .strict();
export type BenchmarkRunOutputs = z.output<typeof BenchmarkRunOutputsSchema>;
export type BenchmarkRunState = BenchmarkRunInputs & BenchmarkRunOutputs;
