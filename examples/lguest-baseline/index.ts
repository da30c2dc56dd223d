// lguest's network baseline: TCP bandwidth of a guest as client (guest-to-host), as server
// (host-to-guest) and guest-to-guest, with the guests bridged (taps in a bridge, one L2 segment)
// and routed (each tap its own /30 subnet, the host forwarding between them), as percent of native
// (the host talking to itself over loopback). One network-namespace host runs four TCG guests.
import * as pulumi from "@pulumi/pulumi";
import * as netbed from "netbed";
import { percentOfNative } from "./view";

function program() {
    const cfg = new pulumi.Config();
    const prefix = cfg.get("prefix") ?? "nblg";
    const net = cfg.get("net") ?? "10.82";
    const nic = (tap: string, address: string, gateway: string) => [{ backend: "virtio", tap, address, gateway }];

    const tb = new netbed.Testbed("lguest", {
        config: {
            hosts: { server: { kind: "netns", namespace: `${prefix}-server` } },
            // Routed guest-to-guest needs the host to forward between the two routed taps.
            tuning: { server: { sysctls: { "net.ipv4.ip_forward": 1 } } },
            fabric: {
                bridges: { br0: { host: "server", addresses: [`${net}.1.1/24`] } },
                taps: {
                    tapb1: { host: "server", bridge: "br0" },
                    tapb2: { host: "server", bridge: "br0" },
                    // Routed: the host end of each tap carries the guest's gateway address.
                    tapr1: { host: "server", addresses: [`${net}.2.1/30`] },
                    tapr2: { host: "server", addresses: [`${net}.3.1/30`] },
                },
            },
            guests: {
                kernel: { source: { kind: "build" } },
                vms: {
                    "vm-b1": { host: "server", nics: nic("tapb1", `${net}.1.10/24`, `${net}.1.1`) },
                    "vm-b2": { host: "server", nics: nic("tapb2", `${net}.1.11/24`, `${net}.1.1`) },
                    "vm-r1": { host: "server", nics: nic("tapr1", `${net}.2.2/30`, `${net}.2.1`) },
                    "vm-r2": { host: "server", nics: nic("tapr2", `${net}.3.2/30`, `${net}.3.1`) },
                },
            },
            benchmark: {
                tests: [{ kind: "tcp", streams: 1 }],
                settings: { duration: cfg.getNumber("duration") ?? 1, repetitions: cfg.getNumber("repetitions") ?? 1, warmup: 0 },
                resultsDir: cfg.get("resultsDir") ?? "results",
                pairs: [
                    { label: "native-loopback", topology: "loopback", client: { host: "server" }, server: { host: "server", address: "127.0.0.1" } },
                    { label: "bridged-guest-to-host", topology: "guest-host", client: { vm: "vm-b1" }, server: { host: "server", address: `${net}.1.1` } },
                    { label: "bridged-host-to-guest", topology: "host-guest", client: { host: "server" }, server: { vm: "vm-b1" } },
                    { label: "bridged-guest-to-guest", topology: "guest-guest", client: { vm: "vm-b2" }, server: { vm: "vm-b1" } },
                    { label: "routed-guest-to-host", topology: "guest-host", client: { vm: "vm-r1" }, server: { host: "server", address: `${net}.2.1` } },
                    { label: "routed-host-to-guest", topology: "host-guest", client: { host: "server" }, server: { vm: "vm-r1" } },
                    { label: "routed-guest-to-guest", topology: "guest-guest", client: { vm: "vm-r2" }, server: { vm: "vm-r1" } },
                ],
            },
        },
    });
    const bench = tb.benchmark!;
    return {
        percentOfNative: bench.results.apply((doc) => percentOfNative(doc, "native-loopback")),
        summary: bench.summary,
        resultsPath: bench.resultsPath,
    };
}

// Pulumi's program runner calls a function the module exports as a whole (a CommonJS module's
// `default` export is not called).
export = program;
