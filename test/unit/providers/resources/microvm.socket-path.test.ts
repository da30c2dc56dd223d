// A MicroVm's run directory holds the VMM's unix sockets, whose paths sun_path bounds at 107 bytes:
// a VM name (with a namespace host's name) that makes one longer is refused at check, naming the
// fields and the length, instead of failing when QEMU or its launcher binds the socket at boot.
import { strict as assert } from "node:assert";
import { UNKNOWN } from "../../../../core/secrets";
import { runDir } from "../../../../providers/resources/microvm";
import { handlers } from "../../../../providers/resources/index";
import { MemoryLogger } from "../../../../providers/runtime/log";
import { NetbedProvider } from "../../../../providers/runtime/provider";

const urn = (name: string) => `urn:pulumi:dev::testbed::netbed:index:MicroVm::${name}`;
const CAPS = { cores: 2, vhostNet: false, kvmUsable: false };
const inputs = (host: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    host,
    kernel: "/var/cache/netbed/kernels/k/bzImage",
    image: "/var/cache/netbed/images/i/initrd.gz",
    nics: [{ backend: "virtio", tap: "tap0", address: "10.0.0.2/24" }],
    hostCaps: CAPS,
    ...extra,
});

async function failures(name: string, i: Record<string, unknown>): Promise<string[]> {
    const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
    const r = await p.check(urn(name), {}, i);
    return (r.failures ?? []).map((f) => `${f.property}: ${f.reason}`);
}

describe("a MicroVm's socket paths at check", () => {
    it("a name that makes the agent's socket longer than sun_path takes is refused, with its length", async () => {
        const host = { kind: "local" as const, name: "h" };
        const name = "v".repeat(63);
        const sock = `${runDir(host, name, urn(name))}/agent.sock`;
        assert.equal(Buffer.byteLength(sock), 108);
        const f = await failures(name, inputs(host));
        assert.deepEqual(f, [
            `name: the VM's socket ${sock} would be 108 bytes, and a unix socket path has at most 107 (sun_path): give the MicroVm a shorter name than '${name}' (63 bytes)`,
        ]);
        assert.deepEqual(await failures(name.slice(1), inputs(host)), []);
    });

    it("on a namespace host, the namespace counts too and is named, at preview as at up", async () => {
        const host = { kind: "netns", name: "srv", namespace: "n".repeat(40) };
        const name = "g".repeat(30);
        const want =
            /^host\.namespace: the VM's socket \/run\/netbed\/vms\/netns-n{40}\/g{30}-[0-9a-f]{12}\/agent\.sock would be 117 bytes, .*shorter name than 'g{30}' \(30 bytes\) or the host's namespace 'n{40}' \(40 bytes\)$/;
        const up = await failures(name, inputs(host));
        assert.equal(up.length, 1, up.join("; "));
        assert.match(up[0], want);
        // A first preview: the kernel and image are not built yet.
        const preview = await failures(name, inputs(host, { kernel: UNKNOWN, image: UNKNOWN }));
        assert.deepEqual(preview, up);
    });

    it("a VMM without sockets in its run directory (a custom template naming its NICs) is not refused", async () => {
        const custom = {
            driver: "custom",
            custom: { argv: ["/usr/bin/qemu-system-x86_64", "-netdev", "tap,id=n0,ifname={tap0},script=no", "-kernel", "{kernel}"] },
        };
        assert.deepEqual(await failures("v".repeat(100), inputs({ kind: "local", name: "h" }, custom)), []);
    });

    it("without the agent, QMP's socket decides", async () => {
        const host = { kind: "local" as const, name: "h" };
        const noAgent = inputs(host, { servers: ["iperf3"] });
        assert.deepEqual(await failures("v".repeat(64), noAgent), []);
        const f = await failures("v".repeat(65), noAgent);
        assert.match(f.join("; "), /^name: the VM's socket \/run\/netbed\/vms\/init\/v{65}-[0-9a-f]{12}\/qmp\.sock would be 108 bytes/);
    });
});
