// The KVM criteria's matrix: topologies (external host to host, host to guest, guest to guest,
// external host to guest) x pinned / unpinned guests x TCP / UDP / ICMP x packet sizes, with
// service demand (host CPU per KB or per transaction) and latency under increasing load with its
// knee. One netbed.Testbed on network-namespace hosts; four TCG guests, two of them pinned.
import * as pulumi from "@pulumi/pulumi";
import * as netbed from "netbed";
import { knees, matrix } from "./view";

function program() {
    const cfg = new pulumi.Config();
    const prefix = cfg.get("prefix") ?? "nbkvm";
    const net = cfg.get("net") ?? "10.84";
    // Host CPUs for the pinned guests: vCPU on one, the VMM's other threads on the other (and the
    // second guest the other way round). This machine has two.
    const [c0, c1] = cfg.getObject<[number, number]>("cpus") ?? [0, 1];
    const guest = (tap: string, host: number, pinning?: object) => ({
        host: "server",
        ...(pinning ? { pinning } : {}),
        nics: [{ backend: "virtio", tap, address: `${net}.1.${host}/24`, gateway: `${net}.1.1` }],
    });
    const pairs: object[] = [{ label: "bare-metal", topology: "ext-host", client: { host: "client" }, server: { host: "server", address: `${net}.1.1` } }];
    for (const pin of ["pinned", "unpinned"]) {
        const [a, b] = [`vm-${pin}-a`, `vm-${pin}-b`];
        pairs.push(
            { label: `${pin}-host-guest`, topology: "host-guest", client: { host: "server" }, server: { vm: a } },
            { label: `${pin}-guest-guest`, topology: "guest-guest", client: { vm: b }, server: { vm: a } },
            { label: `${pin}-ext-guest`, topology: "ext-guest", client: { host: "client" }, server: { vm: a } },
        );
    }

    const tb = new netbed.Testbed("kvm", {
        config: {
            hosts: { server: { kind: "netns", namespace: `${prefix}-server` }, client: { kind: "netns", namespace: `${prefix}-client` } },
            fabric: {
                wires: { client: { a: { host: "server", name: "cli0" }, b: { host: "client", name: "eth0", addresses: [`${net}.1.2/24`] } } },
                bridges: { br0: { host: "server", addresses: [`${net}.1.1/24`], members: ["cli0"] } },
                taps: {
                    tpa: { host: "server", bridge: "br0" },
                    tpb: { host: "server", bridge: "br0" },
                    tua: { host: "server", bridge: "br0" },
                    tub: { host: "server", bridge: "br0" },
                },
            },
            guests: {
                kernel: { source: { kind: "build" } },
                vms: {
                    "vm-pinned-a": guest("tpa", 10, { vcpus: [c0], other: [c1] }),
                    "vm-pinned-b": guest("tpb", 11, { vcpus: [c1], other: [c0] }),
                    "vm-unpinned-a": guest("tua", 20),
                    "vm-unpinned-b": guest("tub", 21),
                },
            },
            benchmark: {
                tests: [
                    { kind: "tcp", streams: 1 },
                    // Both directions at once.
                    { kind: "tcp", streams: 1, bidir: true },
                    { kind: "udp", rateMbps: "max", sizes: [64, 512, 1400] },
                    { kind: "icmp", count: 20, interval: 0.05, size: 56 },
                    { kind: "icmp", count: 20, interval: 0.05, size: 1400 },
                    // Flood ping as a load generator: 500 echoes paced at 1000/s, with its loss.
                    { kind: "flood", size: 56, rate: 1000, count: 500 },
                    { kind: "rr", test: "TCP_RR", sizes: [1, 64, 1024] },
                    { kind: "rr", test: "UDP_RR", sizes: [1, 64, 1024] },
                    // Latency vs offered load: sockperf under-load at rising rates; the knee is where
                    // P99 passes twice its unloaded value.
                    { kind: "load", protocol: "udp", mps: cfg.getObject<number[]>("loadMps") ?? [500, 1000, 2000, 4000], factor: 2, size: 64 },
                ],
                settings: { duration: cfg.getNumber("duration") ?? 1, repetitions: cfg.getNumber("repetitions") ?? 1, warmup: 0 },
                resultsDir: cfg.get("resultsDir") ?? "results",
                pairs,
            },
        },
    });
    const bench = tb.benchmark!;
    return {
        matrix: bench.results.apply(matrix),
        knees: bench.results.apply(knees),
        resultsPath: bench.resultsPath,
    };
}

// Pulumi's program runner calls a function the module exports as a whole (a CommonJS module's
// `default` export is not called).
export = program;
