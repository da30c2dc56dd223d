// solo5's packet-rate measurement: UDP packets per second with 1300-byte packets for each backend
// (bare metal, a virtio guest on a bridged tap, a macvtap guest), with the host CPU each packet
// cost and VM exits where the host exposes them; and solo5's seccomp row as a dimension: a second
// virtio guest, identical but unconfined, measured in the same interleaved run. Built from the resources directly (no Testbed),
// to show what a Testbed declares for you.
import * as pulumi from "@pulumi/pulumi";
import * as netbed from "netbed";
import { confinementCost, ppsCost } from "./view";

const PACKET_SIZE = 1300;

function program() {
    const cfg = new pulumi.Config();
    const prefix = cfg.get("prefix") ?? "nbpps";
    const net = cfg.get("net") ?? "10.83";

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
    const mvtap0 = new netbed.MacvtapLink("mvtap0", { host: server, name: "mvtap0", parent: "ext0", mode: "bridge" }, { dependsOn: [externalWire] });

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
    const vmMacvtap = new netbed.MicroVm("vm-macvtap", {
        host: server,
        kernel,
        image,
        security,
        nics: [{ backend: "macvtap", macvtap: mvtap0, address: `${net}.2.10/24` }],
    });

    const bench = new netbed.BenchmarkRun("pps", {
        tests: [{ kind: "pps", sizes: [PACKET_SIZE] }],
        settings: { duration: cfg.getNumber("duration") ?? 2, repetitions: cfg.getNumber("repetitions") ?? 2, warmup: 0 },
        resultsDir: cfg.get("resultsDir"),
        pairs: [
            { label: "bare-metal", topology: "ext-host", client: { host: client }, server: { host: server, address: `${net}.1.1` } },
            { label: "virtio", topology: "ext-guest", client: { host: client }, server: { vm: vmVirtio } },
            { label: "virtio-unconfined", topology: "ext-guest", client: { host: client }, server: { vm: vmOpen } },
            { label: "macvtap", topology: "ext-guest", client: { host: external }, server: { vm: vmMacvtap, via: external } },
        ],
    });
    return {
        pps: bench.results.apply((doc) => ppsCost(doc, PACKET_SIZE)),
        confinement: bench.results.apply((doc) => confinementCost(doc, PACKET_SIZE, "virtio-unconfined", "virtio")),
        resultsPath: bench.resultsPath,
    };
}

// Pulumi's program runner calls a function the module exports as a whole (a CommonJS module's
// `default` export is not called).
export = program;
