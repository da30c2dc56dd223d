// core/vmspec.ts: the fds a VMM inherits for its NICs, the acceleration it runs with, and the spec
// the driver renders (vcpus through to QEMU's -smp).
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { DRIVER_MODELS } from "../../../core/vmm";
import { chooseAccel, nextFd, nicsOf, vmSpec } from "../../../core/vmspec";
import { MicroVmArgsSchema, guestServers } from "../../../schema/microvm";

const host = { kind: "local", name: "me" };
const caps = { cores: 4, vhostNet: true, kvmUsable: false, kvmReason: "no /dev/kvm", tools: ["qemu-system-x86_64"] };
const vm = (extra: Record<string, unknown> = {}) =>
    MicroVmArgsSchema.parse({
        host,
        kernel: "/k",
        image: "/i",
        hostCaps: caps,
        nics: [
            { backend: "macvtap", macvtap: "mv0", macvtapDevice: "/dev/tap7", macvtapMac: "02:00:00:00:00:07", address: "10.0.0.2/24" },
            { backend: "vhost-net", tap: "tap1", queues: 2, address: "10.0.1.2/24" },
        ],
        ...extra,
    });

describe("core/vmspec: a MicroVm's inputs as its VMM sees them", () => {
    it("numbers device fds from 3, then the launcher's taps after them", () => {
        const n = nicsOf(vm(), "urn:x", true);
        assert.deepEqual(n.devices, ["/dev/tap7", "/dev/vhost-net", "/dev/vhost-net"]);
        assert.deepEqual(n.vm[1].vhostFds, [4, 5]);
        assert.deepEqual(n.vm[1].fds, [6, 7]);
        assert.deepEqual(n.taps, ["--tap", "tap1=6,queues=2"]);
        assert.equal(nextFd(n), 8);
        assert.deepEqual(n.hostIf, ["/dev/tap7", "tap1"]);
    });

    it("lets the VMM open taps by name without a launcher", () => {
        const n = nicsOf(vm(), "urn:x", false);
        assert.deepEqual(n.devices, ["/dev/tap7"]);
        assert.equal(n.vm[1].fds, undefined);
        assert.deepEqual(n.taps, []);
    });

    it("names the tap a bridge NIC gets (the one the handler makes) and keeps the schema's fields on every NIC", () => {
        const i = vm({ nics: [{ backend: "virtio", bridge: "br0", address: "10.0.2.2/24", mtu: 9000 }] });
        const n = nicsOf(i, "urn:x", false);
        assert.equal(n.vm[0].tap, `nbv${createHash("sha256").update("urn:x#0").digest("hex").slice(0, 10)}`);
        assert.deepEqual(n.hostIf, [n.vm[0].tap]);
        assert.deepEqual({ ...n.vm[0], tap: undefined, mac: undefined }, { ...i.nics[0], tap: undefined, mac: undefined, vhost: false, vhostFds: undefined });
    });

    it("chooses TCG where the host has no usable KVM, with the warning its numbers carry", () => {
        assert.deepEqual(chooseAccel(vm()), {
            accel: "tcg",
            accelWarning: "running under TCG (software emulation): no /dev/kvm; its numbers are not comparable with KVM numbers",
        });
        assert.deepEqual(chooseAccel(vm({ hostCaps: { ...caps, kvmUsable: true } })), { accel: "kvm" });
    });

    it("carries vcpus to QEMU's -smp", () => {
        const i = vm({ vcpus: 3 });
        const nics = nicsOf(i, "urn:x", false);
        const spec = vmSpec(i, nics.vm, { name: "g", binary: "qemu-system-x86_64", accel: "tcg", dir: "/run/x", servers: guestServers(i) });
        assert.equal(spec.initrdPath, "/run/x/initrd");
        const argv = DRIVER_MODELS.qemu.render(spec).argv;
        assert.equal(argv[argv.indexOf("-smp") + 1], "3");
    });
});
