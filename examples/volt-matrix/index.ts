// The Volt template's matrix (TCP 1/8 streams and reverse, UDP, ICMP, TCP latency, PPS, netperf
// RR/CRR) over bare metal, a virtio guest and a macvtap guest, built by one netbed.Testbed.
// Three network-namespace "machines": the server (bridge br0 with a virtio guest's tap; ext0, the
// "physical NIC" a macvtap guest sits on), a client on br0's segment, an external host on ext0's.
import * as pulumi from "@pulumi/pulumi";
import * as netbed from "netbed";

function program() {
    const cfg = new pulumi.Config();
    // Namespace names and subnets: distinct from the `local` stack (10.77.x) so both can exist at once.
    const prefix = cfg.get("prefix") ?? "nbvolt";
    const net = cfg.get("net") ?? "10.81";
    const ns = (h: string) => ({ kind: "netns", namespace: `${prefix}-${h}` });

    const tb = new netbed.Testbed("volt", {
        config: {
            hosts: { server: ns("server"), client: ns("client"), external: ns("external") },
            fabric: {
                wires: {
                    client: { a: { host: "server", name: "cli0" }, b: { host: "client", name: "eth0", addresses: [`${net}.1.2/24`] } },
                    external: {
                        a: { host: "server", name: "ext0", addresses: [`${net}.2.1/24`] },
                        b: { host: "external", name: "eth0", addresses: [`${net}.2.2/24`] },
                    },
                },
                bridges: { br0: { host: "server", addresses: [`${net}.1.1/24`], members: ["cli0"] } },
                taps: { tap0: { host: "server", bridge: "br0" } },
                macvtaps: { mvtap0: { host: "server", parent: "ext0", mode: "bridge" } },
            },
            guests: {
                // The same kernel as the local stack: built once, then served from the cache.
                kernel: { source: { kind: "build" } },
                vms: {
                    "vm-virtio": { host: "server", nics: [{ backend: "virtio", tap: "tap0", address: `${net}.1.10/24`, gateway: `${net}.1.1` }] },
                    "vm-macvtap": { host: "server", nics: [{ backend: "macvtap", macvtap: "mvtap0", address: `${net}.2.10/24` }] },
                },
            },
            benchmark: {
                tests: "volt",
                settings: { duration: cfg.getNumber("duration") ?? 1, repetitions: cfg.getNumber("repetitions") ?? 1, warmup: 0 },
                resultsDir: cfg.get("resultsDir") ?? "results",
                pairs: [
                    { label: "bare-metal", topology: "ext-host", client: { host: "client" }, server: { host: "server", address: `${net}.1.1` } },
                    { label: "virtio", topology: "ext-guest", client: { host: "client" }, server: { vm: "vm-virtio" } },
                    // A macvtap guest is not reachable from its own host: drive it from the external host.
                    { label: "macvtap", topology: "ext-guest", client: { host: "external" }, server: { vm: "vm-macvtap", via: "external" } },
                ],
            },
        },
    });
    const bench = tb.benchmark!;
    return {
        summary: bench.summary,
        resultsPath: bench.resultsPath,
        results: bench.results,
        // The filled-in Volt template (markdown, HTML, SVG charts) from this run's results.
        report: pulumi.interpolate`npm run netbed -- report ${bench.resultsPath}`,
    };
}

// Pulumi's program runner calls a function the module exports as a whole (a CommonJS module's
// `default` export is not called).
export = program;
