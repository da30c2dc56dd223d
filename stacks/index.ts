// The default program: one testbed from the selected stack's config.
import * as pulumi from "@pulumi/pulumi";
import { Host } from "../sdk/host";
import { parseStackConfig } from "./config";

export default async function program(): Promise<Record<string, unknown>> {
    const cfg = new pulumi.Config("testbed");
    const parsed = parseStackConfig({ hosts: cfg.requireObject("hosts") });
    const hosts: Record<string, pulumi.Output<unknown>> = {};
    for (const [name, args] of Object.entries(parsed.hostArgs)) {
        const ssh = args.ssh ? { ...args.ssh, privateKey: pulumi.secret(args.ssh.privateKey) } : undefined;
        const h = new Host(name, { ...args, ssh });
        hosts[name] = pulumi.all([h.id, h.namespace, h.probe]).apply(([id, namespace, probe]) => ({
            id,
            namespace,
            kernel: probe.kernelRelease,
            cores: probe.cores,
            memoryMiB: probe.memoryMiB,
            kvm: probe.kvm,
            vhostNet: probe.vhostNet,
            macvtap: probe.macvtap,
            landlockAbi: probe.landlockAbi,
            tools: probe.tools,
        }));
    }
    return { hosts };
}
