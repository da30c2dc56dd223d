// The notification model: its inputs refused where the stack does not offer them, and the label
// the outputs and the results' `notification` dimension carry.
import { strict as assert } from "node:assert";
import { busyPollMismatch, notificationModel } from "../../../core/notification";
import { MicroVmArgsSchema } from "../../../schema/microvm";
import { microvmHandler } from "../../../providers/resources/microvm";

const host = { kind: "netns" as const, name: "srv", namespace: "nb20n-srv" };
const caps = (vhostNet: boolean) => ({ cores: 2, vhostNet, kvmUsable: false, kvmReason: "no /dev/kvm", tools: ["qemu-system-x86_64"] });
const virtio = { backend: "virtio", tap: "tap0", address: "10.0.0.2/24" };
const vhost = { ...virtio, backend: "vhost-net" };

function problems(nic: Record<string, unknown>, extra: Record<string, unknown> = {}, vhostNet = true): string[] {
    const r = MicroVmArgsSchema.safeParse({ host, kernel: "/k", image: "/i", nics: [nic], hostCaps: caps(vhostNet), ...extra });
    return r.success ? [] : r.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`);
}

describe("notification model (busy polling) of a MicroVm", () => {
    it("takes guest busy polling and vhost-net poll-us where the stack offers them", () => {
        const v = MicroVmArgsSchema.parse({
            host,
            kernel: "/k",
            image: "/i",
            nics: [{ ...vhost, vhostPollUs: 50 }],
            hostCaps: caps(true),
            busyPoll: { pollUs: 50 },
        });
        assert.deepEqual(v.busyPoll, { pollUs: 50, readUs: 0 });
        assert.equal(v.nics[0].vhostPollUs, 50);
    });

    it("refuses bad values and the wrong backend or VMM, naming the field", () => {
        assert.match(problems(virtio, { busyPoll: { pollUs: 20_000 } }).join(), /busyPoll.pollUs: 20000 must be at most 10000 µs/);
        assert.match(problems(virtio, { busyPoll: { readUs: -1 } }).join(), /busyPoll.readUs: -1 must be a whole number of µs/);
        assert.match(problems(virtio, { busyPoll: { pollUs: 50, spin: 1 } }).join(), /busyPoll: Unrecognized key/);
        assert.match(problems({ ...virtio, vhostPollUs: 50 }).join(), /nics.0.vhostPollUs: busy-polls the host's vhost-net worker .* backend is 'virtio'/);
        assert.match(problems({ ...vhost, vhostPollUs: 0.5 }).join(), /nics.0.vhostPollUs: 0.5 must be a whole number/);
        assert.match(
            problems({ ...vhost, vhostPollUs: 50 }, { driver: "cloud-hypervisor", binary: "/opt/ch" }).join(),
            /nics.0.vhostPollUs: is QEMU's tap poll-us: only with driver 'qemu'/,
        );
        // Where the host has no /dev/vhost-net (this machine), the vhost-net NIC itself is refused.
        assert.match(problems({ ...vhost, vhostPollUs: 50 }, {}, false).join(), /nics.0.backend: vhost-net backend needs \/dev\/vhost-net on host 'srv'/);
    });

    it("a change of either replaces the guest (its command line or QEMU argv changes)", () => {
        assert.ok(microvmHandler.replaceOn.includes("busyPoll"));
        assert.ok(microvmHandler.replaceOn.includes("nics"));
    });

    it("labels the model in effect and says why a guest's read-back differs", () => {
        assert.equal(notificationModel(null, []), "event-driven");
        assert.equal(notificationModel({ pollUs: 0, readUs: 0 }, [0]), "event-driven");
        assert.equal(notificationModel({ pollUs: 50, readUs: 50 }, [0]), "guest busy_poll=50 busy_read=50");
        assert.equal(notificationModel(undefined, [50, 50, 0]), "vhost poll-us=50");
        assert.equal(notificationModel({ pollUs: 0, readUs: 25 }, [100]), "guest busy_poll=0 busy_read=25, vhost poll-us=100");
        assert.equal(busyPollMismatch(undefined, undefined), undefined);
        assert.equal(busyPollMismatch({ pollUs: 50, readUs: 0 }, { pollUs: 50, readUs: 0 }), undefined);
        assert.match(busyPollMismatch({ pollUs: 50, readUs: 0 }, undefined)!, /reported no net.core.busy_poll/);
        assert.match(busyPollMismatch({ pollUs: 50, readUs: 0 }, { pollUs: 0, readUs: 0 })!, /asked busy_poll=50 busy_read=0, the guest reports busy_poll=0/);
    });
});
