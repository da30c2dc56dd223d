// lguest's network baseline in its own layout: TCP bandwidth (iperf3, one stream) with rows native /
// bridged / guest bridged / guest NAT / guest-to-host / guest-to-guest and columns loopback / client
// / server, as percent of native. Two network-namespace hosts stand in for lguest's two machines:
// `server` (the local system, running three TCG guests) and `ext` (the machine across the switched
// link). The server reaches ext over two wires: `wan` plain (native, and the NAT's outside) and
// `lan` enslaved to the bridge the bridged guests' taps are in (bridged). The NAT guest sits on a
// routed tap behind a netbed Nat: masquerade out of wan0, iperf3's port forwarded back to it.
import * as pulumi from "@pulumi/pulumi";
import * as netbed from "netbed";
import { lguestTable, pairLabel, renderLguestTable } from "./view";

function program() {
    const cfg = new pulumi.Config();
    const prefix = cfg.get("prefix") ?? "nblg";
    const net = cfg.get("net") ?? "10.82";
    const nic = (tap: string, address: string, gateway: string) => [{ backend: "virtio", tap, address, gateway }];
    const wan = { server: `${net}.10.1`, ext: `${net}.10.2` };
    const lan = { server: `${net}.1.1`, ext: `${net}.1.2` };
    const guest = { b1: `${net}.1.10`, b2: `${net}.1.11`, nat: `${net}.3.2` };
    const server = { host: "server" };
    const ext = { host: "ext" };
    const pair = (row: Parameters<typeof pairLabel>[0], column: Parameters<typeof pairLabel>[1], topology: string, client: object, srv: object) => ({
        label: pairLabel(row, column),
        topology,
        client,
        server: srv,
    });

    let nat: netbed.Nat | undefined;
    const tb = new netbed.Testbed("lguest", {
        config: {
            hosts: { server: { kind: "netns", namespace: `${prefix}-server` }, ext: { kind: "netns", namespace: `${prefix}-ext` } },
            // The NAT guest's packets are forwarded by the server.
            tuning: { server: { sysctls: { "net.ipv4.ip_forward": 1 } } },
            fabric: {
                wires: {
                    wan: {
                        a: { host: "server", name: "wan0", addresses: [`${wan.server}/24`] },
                        b: { host: "ext", name: "wan0", addresses: [`${wan.ext}/24`] },
                    },
                    lan: { a: { host: "server", name: "lan0" }, b: { host: "ext", name: "lan0", addresses: [`${lan.ext}/24`] } },
                },
                // lguest's "bridged": the server's external interface is a bridge port, its address on the bridge.
                bridges: { br0: { host: "server", addresses: [`${lan.server}/24`], members: ["lan0"] } },
                taps: {
                    tapb1: { host: "server", bridge: "br0" },
                    tapb2: { host: "server", bridge: "br0" },
                    // The NAT guest's own subnet; the host end is its gateway.
                    tapn1: { host: "server", addresses: [`${net}.3.1/30`] },
                },
            },
            guests: {
                kernel: { source: { kind: "build" } },
                vms: {
                    "vm-b1": { host: "server", nics: nic("tapb1", `${guest.b1}/24`, lan.server) },
                    "vm-b2": { host: "server", nics: nic("tapb2", `${guest.b2}/24`, lan.server) },
                    "vm-nat": { host: "server", nics: nic("tapn1", `${guest.nat}/30`, `${net}.3.1`) },
                },
            },
            benchmark: {
                tests: [{ kind: "tcp", streams: 1 }],
                settings: { duration: cfg.getNumber("duration") ?? 1, repetitions: cfg.getNumber("repetitions") ?? 1, warmup: 0 },
                resultsDir: cfg.get("resultsDir") ?? "results",
                // "client": the local side runs iperf's client; "server": it serves and ext sends.
                pairs: [
                    pair("native", "loopback", "loopback", server, { host: "server", address: "127.0.0.1" }),
                    pair("native", "client", "host-ext", server, { host: "ext", address: wan.ext }),
                    pair("native", "server", "ext-host", ext, { host: "server", address: wan.server }),
                    pair("bridged", "client", "host-ext", server, { host: "ext", address: lan.ext }),
                    pair("bridged", "server", "ext-host", ext, { host: "server", address: lan.server }),
                    pair("guest-bridged", "loopback", "loopback", { vm: "vm-b1" }, { vm: "vm-b1", address: "127.0.0.1" }),
                    pair("guest-bridged", "client", "guest-ext", { vm: "vm-b1" }, { host: "ext", address: lan.ext }),
                    pair("guest-bridged", "server", "ext-guest", ext, { vm: "vm-b1" }),
                    pair("guest-nat", "client", "guest-ext", { vm: "vm-nat" }, { host: "ext", address: wan.ext }),
                    // ext reaches the NAT guest only through the forwarded port on the server's wan address.
                    pair("guest-nat", "server", "ext-guest", ext, { vm: "vm-nat", address: wan.server }),
                    pair("guest-to-host", "client", "guest-host", { vm: "vm-b1" }, { host: "server", address: lan.server }),
                    pair("guest-to-host", "server", "host-guest", server, { vm: "vm-b1" }),
                    pair("guest-to-guest", "client", "guest-guest", { vm: "vm-b2" }, { vm: "vm-b1" }),
                ],
            },
        },
        // The NAT: netbed owns its nftables table in the server's namespace (created after the
        // forwarding sysctl; the benchmark waits for it).
        setup: (t) => [
            (nat = new netbed.Nat(
                "lguest-nat",
                {
                    host: t.hosts.server,
                    masquerade: [{ source: `${net}.3.0/30`, outInterface: "wan0" }],
                    forwards: [{ protocol: "tcp", port: 5201, to: guest.nat, inInterface: "wan0" }],
                },
                { parent: t, dependsOn: Object.values(t.tuning) },
            )),
        ],
    });
    const bench = tb.benchmark!;
    const table = bench.results.apply((doc) => lguestTable(doc));
    return {
        table,
        tableText: table.apply((rows) => renderLguestTable(rows).join("\n")),
        natRules: nat!.rules,
        summary: bench.summary,
        resultsPath: bench.resultsPath,
    };
}

// Pulumi's program runner calls a function the module exports as a whole (a CommonJS module's
// `default` export is not called).
export = program;
