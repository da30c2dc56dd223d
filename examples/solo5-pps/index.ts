// solo5's packet-rate measurement: UDP packets per second with 1300-byte packets for each backend
// (bare metal, a virtio guest on a bridged tap, a macvtap guest), with the host CPU each packet
// cost and VM exits where the host exposes them; and solo5's I/O configurations as dimensions,
// measured in the same interleaved run: a virtio guest identical but unconfined (seccomp on/off),
// one that busy-polls inside the guest (the notification model), and, where the host has
// /dev/vhost-net and config `vhostNet` is true, vhost-net guests with and without the vhost
// worker's busy polling. Built from the resources directly (no Testbed), to show what a Testbed
// declares for you.
import * as pulumi from "@pulumi/pulumi";
import * as netbed from "netbed";
import { type Experiment, confinementCost, ppsCost, renderSolo5ModelTable, renderSolo5PpsTable, solo5ModelTable, solo5PpsTable } from "./view";

const PACKET_SIZE = 1300;
/** Busy-polling time of the polling rows, in µs (the kernel's recommendation for a few sockets). */
const POLL_US = 50;

function program() {
    const cfg = new pulumi.Config();
    const prefix = cfg.get("prefix") ?? "nbpps";
    const net = cfg.get("net") ?? "10.83";

    const { server, client, external, br0, tap0, tap1, tap2, mvtap0 } = fabric(prefix, net);

    // The local stack's kernel: built once, then served from the cache.
    const kernel = new netbed.Kernel("kernel", { host: server, source: { kind: "build" } });
    const image = new netbed.GuestImage("image", { host: server, kernel });
    const security = new netbed.SecurityProfile("security", { host: server });
    const vmVirtio = new netbed.MicroVm("vm-virtio", {
        host: server,
        kernel,
        image,
        security,
        nics: [{ backend: "virtio", tap: tap0, address: `${net}.1.10/24`, gateway: `${net}.1.1` }],
    });
    // The same backend without the profile: the cost of confinement is the difference.
    const vmOpen = new netbed.MicroVm("vm-virtio-open", {
        host: server,
        kernel,
        image,
        nics: [{ backend: "virtio", tap: tap1, address: `${net}.1.11/24`, gateway: `${net}.1.1` }],
    });
    // The same confined guest, busy-polling inside: its init sets net.core.busy_poll and busy_read.
    const vmBusy = new netbed.MicroVm("vm-virtio-busy-poll", {
        host: server,
        kernel,
        image,
        security,
        busyPoll: { pollUs: POLL_US, readUs: POLL_US },
        nics: [{ backend: "virtio", tap: tap2, address: `${net}.1.12/24`, gateway: `${net}.1.1` }],
    });
    const vmMacvtap = new netbed.MicroVm("vm-macvtap", {
        host: server,
        kernel,
        image,
        security,
        nics: [{ backend: "macvtap", macvtap: mvtap0, address: `${net}.2.10/24` }],
    });

    const vhost = vhostPairs(cfg.getBoolean("vhostNet") ?? false, server, client, br0, kernel, image, security, net);

    const bench = new netbed.BenchmarkRun("pps", {
        tests: [{ kind: "pps", sizes: [PACKET_SIZE] }],
        settings: { duration: cfg.getNumber("duration") ?? 2, repetitions: cfg.getNumber("repetitions") ?? 2, warmup: 0 },
        resultsDir: cfg.get("resultsDir"),
        pairs: [
            { label: "bare-metal", topology: "ext-host", client: { host: client }, server: { host: server, address: `${net}.1.1` } },
            { label: "virtio", topology: "ext-guest", client: { host: client }, server: { vm: vmVirtio } },
            { label: "virtio-unconfined", topology: "ext-guest", client: { host: client }, server: { vm: vmOpen } },
            { label: "virtio-busy-poll", topology: "ext-guest", client: { host: client }, server: { vm: vmBusy } },
            { label: "macvtap", topology: "ext-guest", client: { host: external }, server: { vm: vmMacvtap, via: external } },
            ...vhost.pairs,
        ],
    });
    const experiments = pulumi.output(vhost.experiments).apply((rows) => solo5Experiments(rows));
    const solo5Pps = pulumi.all([bench.results, experiments]).apply(([doc, rows]) => solo5PpsTable(doc, PACKET_SIZE, rows));
    const solo5Models = pulumi.all([bench.results, experiments]).apply(([doc, rows]) => solo5ModelTable(doc, PACKET_SIZE, rows));
    return {
        // solo5's two tables: PPS by I/O configuration, and VM exits and CPU usage per model.
        solo5Pps,
        solo5PpsText: solo5Pps.apply((lines) => renderSolo5PpsTable(lines, PACKET_SIZE).join("\n")),
        solo5Models,
        solo5ModelsText: solo5Models.apply((lines) => renderSolo5ModelTable(lines).join("\n")),
        pps: bench.results.apply((doc) => ppsCost(doc, PACKET_SIZE)),
        confinement: bench.results.apply((doc) => confinementCost(doc, PACKET_SIZE, "virtio-unconfined", "virtio")),
        resultsPath: bench.resultsPath,
    };
}

/** Three namespace hosts, their wires, the bridge with three taps, and the macvtap on the "physical NIC". */
function fabric(prefix: string, net: string) {
    const server = new netbed.Host("server", { kind: "netns", namespace: `${prefix}-server` });
    const client = new netbed.Host("client", { kind: "netns", namespace: `${prefix}-client` });
    const external = new netbed.Host("external", { kind: "netns", namespace: `${prefix}-external` });

    // The client's wire ends in the server's bridge; the external host's wire is the "physical NIC"
    // (ext0) that the macvtap sits on.
    const clientWire = new netbed.VethPair("wire-client", {
        a: { host: server, name: "cli0" },
        b: { host: client, name: "eth0", addresses: [`${net}.1.2/24`] },
    });
    const externalWire = new netbed.VethPair("wire-external", {
        a: { host: server, name: "ext0", addresses: [`${net}.2.1/24`] },
        b: { host: external, name: "eth0", addresses: [`${net}.2.2/24`] },
    });
    const br0 = new netbed.Bridge("br0", { host: server, name: "br0", addresses: [`${net}.1.1/24`], members: ["cli0"] }, { dependsOn: [clientWire] });
    const tap0 = new netbed.Tap("tap0", { host: server, name: "tap0", bridge: br0 });
    const tap1 = new netbed.Tap("tap1", { host: server, name: "tap1", bridge: br0 });
    const tap2 = new netbed.Tap("tap2", { host: server, name: "tap2", bridge: br0 });
    const mvtap0 = new netbed.MacvtapLink("mvtap0", { host: server, name: "mvtap0", parent: "ext0", mode: "bridge" }, { dependsOn: [externalWire] });
    return { server, client, external, br0, tap0, tap1, tap2, mvtap0 };
}

/** solo5's rows in its order: vhost on (event-driven, then polling), vhost off (seccomp off/on, then guest polling), macvtap, bare metal. */
function solo5Experiments(vhostRows: Experiment[]): Experiment[] {
    return [
        ...vhostRows,
        { experiment: "QEMU vhost=off (virtio), no seccomp, event-driven", pair: "virtio-unconfined" },
        { experiment: "QEMU vhost=off (virtio), seccomp, event-driven", pair: "virtio" },
        { experiment: `QEMU vhost=off (virtio), seccomp, guest busy polling ${POLL_US} µs`, pair: "virtio-busy-poll" },
        { experiment: "QEMU macvtap, seccomp, event-driven", pair: "macvtap" },
        { experiment: "bare metal (no guest)", pair: "bare-metal" },
    ];
}

/**
 * The vhost-net rows: two guests (the vhost worker event-driven, and busy-polling with QEMU's
 * poll-us) where `enabled`; else the rows say why they are absent, from the server's probe. On a
 * host without /dev/vhost-net, `enabled` is refused at preview by the MicroVm's check.
 */
function vhostPairs(
    enabled: boolean,
    server: netbed.Host,
    client: netbed.Host,
    br0: netbed.Bridge,
    kernel: netbed.Kernel,
    image: netbed.GuestImage,
    security: netbed.SecurityProfile,
    net: string,
): { pairs: netbed.BenchmarkRunArgs["pairs"]; experiments: pulumi.Output<Experiment[]> } {
    const rows = [
        { experiment: "QEMU vhost=on (vhost-net), seccomp, event-driven", label: "vhost-net", pollUs: undefined },
        { experiment: `QEMU vhost=on (vhost-net), seccomp, vhost busy polling (poll-us ${POLL_US})`, label: "vhost-net-poll", pollUs: POLL_US },
    ];
    if (!enabled) {
        const why = server.probe.apply((p) => (p.vhostNet ? "not measured: set config vhostNet true" : "not on this machine: no /dev/vhost-net"));
        return { pairs: [], experiments: why.apply((absent) => rows.map((r) => ({ experiment: r.experiment, absent }))) };
    }
    const pairs = rows.map((r, k) => {
        const tap = new netbed.Tap(`tap-${r.label}`, { host: server, name: `tapv${k}`, bridge: br0 });
        const vm = new netbed.MicroVm(`vm-${r.label}`, {
            host: server,
            kernel,
            image,
            security,
            nics: [{ backend: "vhost-net", tap, vhostPollUs: r.pollUs, address: `${net}.1.${20 + k}/24`, gateway: `${net}.1.1` }],
        });
        return { label: r.label, topology: "ext-guest", client: { host: client }, server: { vm } };
    });
    return { pairs, experiments: pulumi.output(rows.map((r) => ({ experiment: r.experiment, pair: r.label }))) };
}

// Pulumi's program runner calls a function the module exports as a whole (a CommonJS module's
// `default` export is not called).
export = program;
