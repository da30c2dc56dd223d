// Resource graphs with Pulumi mocks: arguments reach the provider as given, and the outputs the
// SDK classes declare are the ones the provider returns (Host; a MicroVm under a SecurityProfile).
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";

const created: { type: string; name: string; inputs: any }[] = [];

const PROFILE_WRAPPER = ["/usr/bin/setpriv", "--no-new-privs", "--", "/var/cache/netbed/native/x/netbed-confine", "--seccomp", "/run/netbed/profiles/netns-nb-server/p/filter.bpf", "--"];
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
    "netbed:index:GuestImage": () => ({ path: "/var/cache/netbed/images/i/initramfs.cpio.gz", size: 7e6 }),
};

pulumi.runtime.setMocks(
    {
        newResource(args) {
            created.push({ type: args.type, name: args.name, inputs: args.inputs });
            const state = OUTPUTS[args.type]?.(args.name, args.inputs);
            if (state) return { id: `${args.type}/${args.name}`, state: { ...args.inputs, ...state } };
            return {
                id: `netns:${args.inputs.namespace ?? "x"}`,
                state: { ...args.inputs, connection: { kind: "netns", name: args.name, namespace: args.inputs.namespace }, probe: { cores: 2, arch: "x86_64", landlockAbi: 6, seccompFilter: true, vhostNet: false, kvm: { usable: false } } },
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
        const { Host } = await import("../sdk/host");
        const h = new Host("server", { kind: "netns", namespace: "nb-server", packages: ["iperf3"] });
        assert.deepEqual(await value(h.connection), { kind: "netns", name: "server", namespace: "nb-server" });
        assert.equal((await value(h.probe)).cores, 2);
        assert.equal(await value(h.id), "netns:nb-server");
        const reg = created.find((c) => c.name === "server")!;
        assert.equal(reg.type, "netbed:index:Host");
        assert.deepEqual(reg.inputs.packages, ["iperf3"]);
    });
});

describe("MicroVm under a SecurityProfile (mocks)", () => {
    it("passes the profile's name, wrapper, Landlock ABI, filter hash and uid/gid to the VM; the profile gets the host's probe", async () => {
        const { Host } = await import("../sdk/host");
        const { Kernel } = await import("../sdk/kernel");
        const { GuestImage } = await import("../sdk/image");
        const { MicroVm } = await import("../sdk/microvm");
        const { SecurityProfile } = await import("../sdk/security");
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
            machine: "the provider's machine",
        });
        const prof = created.find((c) => c.name === "p")!;
        assert.equal(prof.type, "netbed:index:SecurityProfile");
        assert.deepEqual(prof.inputs.seccomp, { preset: "strict" });
        assert.deepEqual(prof.inputs.host, { kind: "netns", name: "vmhost", namespace: "nb-vmhost" });
        assert.deepEqual(prof.inputs.hostCaps, { arch: "x86_64", landlockAbi: 6, seccompFilter: true });
        assert.deepEqual(await value(p.wrapper), PROFILE_WRAPPER);
    });
});
