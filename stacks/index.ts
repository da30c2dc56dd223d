// The default program: one testbed from the selected stack's config.
import * as pulumi from "@pulumi/pulumi";
import { Bridge } from "../sdk/bridge";
import { Host } from "../sdk/host";
import { MacvtapLink } from "../sdk/macvtap";
import { Tap } from "../sdk/tap";
import { VethPair } from "../sdk/veth";
import { GuestImage } from "../sdk/image";
import { Kernel } from "../sdk/kernel";
import { MicroVm, NicArgs } from "../sdk/microvm";
import { SecurityProfile } from "../sdk/security";
import { BenchmarkRun, EndpointArgs } from "../sdk/benchmark";
import * as path from "path";
import { EndpointConfig, parseStackConfig } from "./config";

export default async function program(): Promise<Record<string, unknown>> {
    const cfg = new pulumi.Config("testbed");
    // Validate everything before declaring anything.
    const c = parseStackConfig({ hosts: cfg.requireObject("hosts"), fabric: cfg.getObject("fabric"), guests: cfg.getObject("guests"), benchmark: cfg.getObject("benchmark") });

    const hosts: Record<string, Host> = {};
    for (const [name, args] of Object.entries(c.hosts)) {
        const ssh = args.ssh ? { ...args.ssh, privateKey: pulumi.secret(args.ssh.privateKey) } : undefined;
        hosts[name] = new Host(name, { ...args, ssh });
    }
    const strip = <T extends { host: unknown }>(a: T): Omit<T, "host"> => {
        const { host: _h, ...rest } = a;
        return rest;
    };

    const wires = Object.entries(c.wires).map(
        ([name, w]) =>
            new VethPair(`wire-${name}`, {
                a: { ...strip(w.args.a), host: hosts[w.a] },
                b: { ...strip(w.args.b), host: hosts[w.b] },
                mtu: w.args.mtu,
            }),
    );
    // Bridge members and macvtap parents may be wire ends: create the wires first.
    const bridges: Record<string, Bridge> = {};
    for (const [name, b] of Object.entries(c.bridges)) {
        bridges[`${b.host}/${b.args.name}`] = new Bridge(`${b.host}-${name}`, { ...strip(b.args), host: hosts[b.host] }, { dependsOn: wires });
    }
    const taps: Record<string, Tap> = {};
    for (const [name, t] of Object.entries(c.taps)) {
        const br = t.args.bridge ? bridges[`${t.host}/${t.args.bridge}`] : undefined;
        taps[`${t.host}/${t.args.name}`] = new Tap(`${t.host}-${name}`, { ...strip(t.args), host: hosts[t.host], bridge: br ?? t.args.bridge });
    }
    const macvtaps: Record<string, MacvtapLink> = {};
    for (const [name, m] of Object.entries(c.macvtaps)) {
        macvtaps[`${m.host}/${m.args.name}`] = new MacvtapLink(`${m.host}-${name}`, { ...strip(m.args), host: hosts[m.host] }, { dependsOn: wires });
    }

    // One kernel and image on every host that runs VMs (a netns host shares this machine's cache).
    const artifacts: Record<string, { kernel: Kernel; image: GuestImage; security?: SecurityProfile }> = {};
    const vms: Record<string, MicroVm> = {};
    for (const [name, vm] of Object.entries(c.vms)) {
        if (!artifacts[vm.host]) {
            const kernel = new Kernel(`${vm.host}-kernel`, { ...c.kernel!, host: hosts[vm.host] });
            const image = new GuestImage(`${vm.host}-image`, { ...c.image!, host: hosts[vm.host], kernel });
            const security = c.security ? new SecurityProfile(`${vm.host}-security`, { ...(c.security as any), host: hosts[vm.host] }) : undefined;
            artifacts[vm.host] = { kernel, image, security };
        }
        const nics: NicArgs[] = vm.nics.map(({ tap, macvtap, ...rest }) => ({
            ...(rest as Omit<NicArgs, "tap" | "macvtap">),
            tap: tap !== undefined ? taps[`${vm.host}/${tap}`] : undefined,
            macvtap: macvtap !== undefined ? macvtaps[`${vm.host}/${macvtap}`] : undefined,
        }));
        const { host: _h, nics: _n, ...rest } = vm.args as any;
        vms[name] = new MicroVm(name, { ...rest, host: hosts[vm.host], kernel: artifacts[vm.host].kernel, image: artifacts[vm.host].image, security: artifacts[vm.host].security, nics });
    }

    let bench: BenchmarkRun | undefined;
    if (c.benchmark) {
        const b = c.benchmark;
        const end = (e: EndpointConfig): EndpointArgs => ("vm" in e ? { vm: vms[e.vm], nic: e.nic, via: e.via ? hosts[e.via] : undefined } : { host: hosts[e.host], address: e.address });
        bench = new BenchmarkRun("bench", {
            pairs: b.pairs.map((p) => ({ label: p.label, topology: p.topology, client: end(p.client), server: end(p.server) })),
            tests: b.tests,
            settings: b.settings,
            resultsDir: path.resolve(b.resultsDir),
            allowFailedCells: b.allowFailedCells,
        });
    }

    const hostOut = Object.fromEntries(
        Object.entries(hosts).map(([name, h]) => [
            name,
            pulumi.all([h.id, h.namespace, h.probe]).apply(([id, namespace, probe]) => ({
                id,
                namespace,
                kernel: probe.kernelRelease,
                cpu: probe.cpuModel,
                cores: probe.cores,
                memoryMiB: probe.memoryMiB,
                kvm: probe.kvm,
                vhostNet: probe.vhostNet,
                macvtap: probe.macvtap,
                landlockAbi: probe.landlockAbi,
                tools: probe.tools,
            })),
        ]),
    );
    return {
        ...(bench ? { results: bench.results, summary: bench.summary, resultsPath: bench.resultsPath } : {}),
        hosts: hostOut,
        guests: Object.fromEntries(
            Object.entries(vms).map(([k, v]) => [
                k,
                pulumi.all([v.pid, v.accelUsed, v.accelWarning, v.bootTime, v.interfaces, v.placement, v.confinement]).apply(([pid, accel, accelWarning, bootTime, interfaces, placement, confinement]) => ({ pid, accel, accelWarning, bootTime, interfaces, placement, confinement })),
            ]),
        ),
        artifacts: Object.fromEntries(
            Object.entries(artifacts).map(([h, a]) => [
                h,
                pulumi.all([a.kernel.release, a.kernel.virtio, a.kernel.size, a.image.size, a.image.manifest]).apply(([release, virtio, kernelSize, imageSize, manifest]) => ({ kernel: { release, virtio, size: kernelSize }, image: { size: imageSize, tools: manifest.tools } })),
            ]),
        ),
        fabric: {
            bridges: Object.fromEntries(Object.entries(bridges).map(([k, b]) => [k, b.observed])),
            taps: Object.fromEntries(Object.entries(taps).map(([k, t]) => [k, t.observed])),
            macvtaps: Object.fromEntries(
                Object.entries(macvtaps).map(([k, m]) => [k, pulumi.all([m.mac, m.device, m.observed]).apply(([mac, device, observed]) => ({ mac, device, observed }))]),
            ),
            wires: Object.fromEntries(Object.keys(c.wires).map((name, n) => [name, wires[n].observed])),
        },
    };
}
