// The default program: one Testbed from the selected stack's config.
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Testbed } from "../sdk/testbed";

async function program(): Promise<Record<string, unknown>> {
    const cfg = new pulumi.Config("testbed");
    const tb = new Testbed("testbed", {
        config: {
            hosts: cfg.requireObject("hosts"),
            fabric: cfg.getObject("fabric"),
            tuning: cfg.getObject("tuning"),
            guests: cfg.getObject("guests"),
            benchmark: cfg.getObject("benchmark"),
        },
    });
    const { hosts, vms, artifacts, bridges, taps, macvtaps, wires } = tb;
    const bench = tb.benchmark;

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
    // `pulumi up` prints every output in full: the results document (thousands of lines of
    // repetitions) is marked secret, the one mark Pulumi's display collapses (to "[secret]"), so
    // the summary and the paths end the run. It stays a typed output: `pulumi stack output
    // results --json --show-secrets`, a StackReference, `netbed outputs`.
    const benchOut = bench && {
        summary: bench.summary,
        reportPath: bench.reportPath,
        reportHtml: bench.reportPath.apply((p) => (p ? `file://${encodeURI(path.join(path.dirname(p), "report.html"))}` : "")),
        resultsPath: bench.resultsPath,
        results: pulumi.secret(bench.results),
    };
    return {
        ...benchOut,
        hosts: hostOut,
        guests: Object.fromEntries(
            Object.entries(vms).map(([k, v]) => [
                k,
                pulumi
                    .all([v.pid, v.accelUsed, v.accelWarning, v.bootTime, v.interfaces, v.placement, v.confinement])
                    .apply(([pid, accel, accelWarning, bootTime, interfaces, placement, confinement]) => ({
                        pid,
                        accel,
                        accelWarning,
                        bootTime,
                        interfaces,
                        placement,
                        confinement,
                    })),
            ]),
        ),
        artifacts: Object.fromEntries(
            Object.entries(artifacts).map(([h, a]) => [
                h,
                pulumi
                    .all([a.kernel.release, a.kernel.virtio, a.kernel.size, a.image.size, a.image.manifest])
                    .apply(([release, virtio, kernelSize, imageSize, manifest]) => ({
                        kernel: { release, virtio, size: kernelSize },
                        image: { size: imageSize, tools: manifest.tools },
                    })),
            ]),
        ),
        fabric: {
            bridges: Object.fromEntries(Object.entries(bridges).map(([k, b]) => [k, b.observed])),
            taps: Object.fromEntries(Object.entries(taps).map(([k, t]) => [k, t.observed])),
            macvtaps: Object.fromEntries(
                Object.entries(macvtaps).map(([k, m]) => [
                    k,
                    pulumi.all([m.mac, m.device, m.observed]).apply(([mac, device, observed]) => ({ mac, device, observed })),
                ]),
            ),
            wires: Object.fromEntries(Object.entries(wires).map(([name, w]) => [name, w.observed])),
        },
        tuning: Object.fromEntries(Object.entries(tb.tuning).map(([h, t]) => [h, t.applied])),
    };
}

// Pulumi's program runner calls a function the module exports as a whole (a CommonJS module's
// `default` export is not called).
export = program;
