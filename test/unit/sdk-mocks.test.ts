// Resource graphs with Pulumi mocks: arguments reach the provider as given, and the outputs the
// SDK classes declare are the ones the provider returns (Host; a MicroVm under a SecurityProfile).
import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";

const created: { type: string; name: string; inputs: any }[] = [];

const PROFILE_WRAPPER = [
    "/usr/bin/setpriv",
    "--no-new-privs",
    "--",
    "/var/cache/netbed/native/x/netbed-confine",
    "--seccomp",
    "/run/netbed/profiles/netns-nb-server/p/filter.bpf",
    "--",
];
/** What the provider returns besides the inputs, for the types that need more than them here. */
const OUTPUTS: Record<string, (name: string, inputs: any) => Record<string, unknown>> = {
    "netbed:index:SecurityProfile": (name, inputs) => ({
        name,
        wrapper: PROFILE_WRAPPER,
        rules: { landlock: { enabled: true }, user: 1000, group: 1000 },
        landlockAbi: 6,
        filterSha256: "f".repeat(64),
        host: inputs.host,
    }),
    "netbed:index:Kernel": () => ({ path: "/var/cache/netbed/kernels/k/vmlinuz" }),
    "netbed:index:GuestImage": () => ({ path: "/var/cache/netbed/images/i/initramfs.cpio", size: 7e6 }),
    "netbed:index:MicroVm": (_name, inputs) => ({
        pid: 4242,
        accelUsed: "tcg",
        confinement: "none",
        interfaces: (inputs.nics as any[]).map((n, k) => ({ host: `tap${k}`, mac: `02:00:00:00:00:0${k + 1}`, address: n.address, backend: n.backend })),
    }),
};

pulumi.runtime.setMocks(
    {
        newResource(args) {
            created.push({ type: args.type, name: args.name, inputs: args.inputs });
            const state = OUTPUTS[args.type]?.(args.name, args.inputs);
            if (state) return { id: `${args.type}/${args.name}`, state: { ...args.inputs, ...state } };
            return {
                id: `netns:${args.inputs.namespace ?? "x"}`,
                state: {
                    ...args.inputs,
                    connection: { kind: "netns", name: args.name, namespace: args.inputs.namespace },
                    probe: { cores: 2, arch: "x86_64", landlockAbi: 6, seccompFilter: true, vhostNet: false, kvm: { usable: false } },
                },
            };
        },
        call: () => ({}),
    },
    "netbed",
    "mock",
    false,
);

function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

describe("Host resource graph (mocks)", () => {
    it("registers netbed:index:Host with the given args and exposes the provider's outputs", async () => {
        const { Host } = await import("../../sdk/host");
        const h = new Host("server", { kind: "netns", namespace: "nb-server", packages: ["iperf3"] });
        assert.deepEqual(await value(h.connection), { kind: "netns", name: "server", namespace: "nb-server" });
        assert.equal((await value(h.probe)).cores, 2);
        const reg = created.find((c) => c.name === "server")!;
        assert.equal(reg.type, "netbed:index:Host");
        assert.deepEqual(reg.inputs.packages, ["iperf3"]);
    });
});

describe("MicroVm under a SecurityProfile (mocks)", () => {
    it("passes the profile's name, wrapper, Landlock ABI, filter hash and uid/gid to the VM; the profile gets the host's probe", async () => {
        const { Host } = await import("../../sdk/host");
        const { Kernel } = await import("../../sdk/kernel");
        const { GuestImage } = await import("../../sdk/image");
        const { MicroVm } = await import("../../sdk/microvm");
        const { SecurityProfile } = await import("../../sdk/security");
        const host = new Host("vmhost", { kind: "netns", namespace: "nb-vmhost" });
        const p = new SecurityProfile("p", { host, seccomp: { preset: "strict" }, landlock: { denyTcp: true } });
        const kernel = new Kernel("k", { host, source: { kind: "build" } });
        const image = new GuestImage("i", { host });
        const vm = new MicroVm("vm", { host, kernel, image, nics: [{ backend: "virtio", tap: undefined, address: "10.0.0.2/24" }], security: p });
        await value(vm.id);
        const reg = created.find((c) => c.name === "vm")!;
        assert.deepEqual(reg.inputs.security, {
            profile: "p",
            wrapper: PROFILE_WRAPPER,
            landlock: { enabled: true, abi: 6 },
            filterSha256: "f".repeat(64),
            user: 1000,
            group: 1000,
            machine: "local",
            machineLabel: "the provider's machine",
        });
        const prof = created.find((c) => c.name === "p")!;
        assert.equal(prof.type, "netbed:index:SecurityProfile");
        assert.deepEqual(prof.inputs.seccomp, { preset: "strict" });
        assert.deepEqual(prof.inputs.host, { kind: "netns", name: "vmhost", namespace: "nb-vmhost" });
        assert.deepEqual(prof.inputs.hostCaps, { arch: "x86_64", landlockAbi: 6, seccompFilter: true });
    });
});

describe("MicroVm under a SecurityProfile on an SSH host (mocks)", () => {
    it("the profile is on the VM's machine: both are placed from the Host's arguments, with the SSH defaults", async () => {
        const { Host } = await import("../../sdk/host");
        const { Kernel } = await import("../../sdk/kernel");
        const { GuestImage } = await import("../../sdk/image");
        const { MicroVm } = await import("../../sdk/microvm");
        const { MicroVmArgsSchema } = await import("../../schema/microvm");
        const { SecurityProfile } = await import("../../sdk/security");
        const ssh = { host: "10.0.0.5", agent: true as const, hostKeyFingerprint: `SHA256:${"C".repeat(43)}` };
        const m1 = new Host("m1", { kind: "ssh", ssh });
        const p = new SecurityProfile("sec", { host: m1, seccomp: { preset: "strict" } });
        const kernel = new Kernel("k-ssh", { host: m1, source: { kind: "build" } });
        const image = new GuestImage("i-ssh", { host: m1 });
        const vm = new MicroVm("vm-ssh", { host: m1, kernel, image, nics: [{ backend: "virtio", tap: undefined, address: "10.0.0.2/24" }], security: p });
        await value(vm.id);
        const reg = created.find((c) => c.name === "vm-ssh")!;
        assert.equal(reg.inputs.security.machine, "ssh:10.0.0.5:22");
        // What the provider's check does with these inputs (the host validated with its defaults).
        const r = MicroVmArgsSchema.safeParse({
            ...reg.inputs,
            kernel: "/k",
            image: "/i",
            imageSize: 7e6,
            nics: [{ backend: "virtio", tap: "tap0", address: "10.0.0.2/24" }],
            hostCaps: undefined,
        });
        assert.deepEqual(r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`), []);
    });
});

describe("Testbed component (mocks)", () => {
    const config = {
        hosts: { server: { kind: "netns" }, client: { kind: "netns" } },
        fabric: {
            wires: { client: { a: { host: "server", name: "cli0" }, b: { host: "client", name: "eth0", addresses: ["10.88.1.2/24"] } } },
            bridges: { br0: { host: "server", addresses: ["10.88.1.1/24"], members: ["cli0"] } },
            taps: { tap0: { host: "server", bridge: "br0" } },
        },
        tuning: { server: { sysctls: { "net.core.somaxconn": 4096 } } },
        guests: {
            kernel: { source: { kind: "build" } },
            vms: { vm1: { host: "server", nics: [{ backend: "virtio", tap: "tap0", address: "10.88.1.10/24" }] } },
        },
        benchmark: {
            tests: [{ kind: "tcp" }],
            settings: { duration: 1, repetitions: 1, warmup: 0 },
            pairs: [{ label: "virtio", client: { host: "client" }, server: { vm: "vm1" } }],
        },
    };

    it("builds hosts, fabric, tuning, artifacts, VMs and the BenchmarkRun as its children, named after it; setup hooks (@pulumi/command) come before the benchmarks", async () => {
        const { Testbed } = await import("../../sdk/testbed");
        const command = await import("@pulumi/command");
        let hostsSeen: string[] = [];
        const tb = new Testbed("tb", {
            config,
            setup: (t) => {
                hostsSeen = Object.keys(t.hosts);
                return [new command.local.Command("tb-hook", { create: "true", delete: "true" }, { parent: t })];
            },
        });
        assert.deepEqual(hostsSeen, ["server", "client"], "the hook sees the testbed's hosts");
        const urn = await value(tb.vms.vm1.urn);
        assert.match(urn, /netbed:index:Testbed\$netbed:index:MicroVm::tb-vm1$/);
        assert.match(await value(tb.benchmark!.urn), /netbed:index:Testbed\$netbed:index:BenchmarkRun::tb-bench$/);
        await value(tb.benchmark!.id);
        const names = created.filter((c) => c.name.startsWith("tb-")).map((c) => `${c.type}/${c.name}`);
        for (const want of [
            "netbed:index:Host/tb-server",
            "netbed:index:Host/tb-client",
            "netbed:index:HostTuning/tb-server-tuning",
            "netbed:index:VethPair/tb-wire-client",
            "netbed:index:Bridge/tb-server-br0",
            "netbed:index:Tap/tb-server-tap0",
            "netbed:index:Kernel/tb-server-kernel",
            "netbed:index:GuestImage/tb-server-image",
            "netbed:index:SecurityProfile/tb-server-security",
            "netbed:index:MicroVm/tb-vm1",
            "command:local:Command/tb-hook",
            "netbed:index:BenchmarkRun/tb-bench",
        ])
            assert.ok(names.includes(want), `${want} in ${names.join(", ")}`);
        assert.deepEqual(created.find((c) => c.name === "tb-server-tuning")!.inputs.sysctls, { "net.core.somaxconn": "4096" });
    });

    it("a bad config fails before anything is declared, naming every wrong key", async () => {
        const { Testbed } = await import("../../sdk/testbed");
        const before = created.length;
        assert.throws(
            () => new Testbed("bad", { config: { ...config, tuning: { server: { governor: "turbo" }, nosuch: {} } } }),
            (e: Error) =>
                /testbed:tuning.server.governor: must be one of performance/.test(e.message) &&
                /testbed:tuning.nosuch: must name one of the hosts/.test(e.message),
        );
        assert.equal(created.slice(before).filter((c) => c.name.startsWith("bad")).length, 0);
    });
});
