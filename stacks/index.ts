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
    const { hosts } = tb;
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
    // `pulumi up` prints every output in full, and the one mark its display collapses (to
    // "[secret]") is secret: the results document (thousands of lines of repetitions) and the
    // testbed's details (probes, observed links, guests: hundreds) carry it, so the summary and
    // the paths end the run. They stay typed outputs: `pulumi stack output --json --show-secrets`,
    // a StackReference, `netbed outputs`.
    const benchOut = bench && {
        summary: bench.summary,
        reportPath: bench.reportPath,
        reportHtml: bench.reportPath.apply((p) => (p ? `file://${encodeURI(path.join(path.dirname(p), "report.html"))}` : "")),
        resultsPath: bench.resultsPath,
        results: pulumi.secret(bench.results),
    };
    return { ...benchOut, ...details(hostOut, tb) };
}

/** What the testbed is made of, as built: each output collapsed in `pulumi up`'s display (above). */
function details(hostOut: Record<string, unknown>, tb: Testbed): Record<string, pulumi.Output<unknown>> {
    const { vms, artifacts, bridges, taps, macvtaps, wires } = tb;
    const shown = {
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
    return Object.fromEntries(Object.entries(shown).map(([k, v]) => [k, pulumi.secret(v)]));
}

// Pulumi's program runner calls a function the module exports as a whole (a CommonJS module's
// `default` export is not called).
export = program;
