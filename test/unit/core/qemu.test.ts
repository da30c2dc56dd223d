// QEMU's argv from a spec: machine types, NIC netdevs by tap or fd, the CPU slots of a TCG guest, and
// no option injection through a guest's values.
import { strict as assert } from "node:assert";
import { qemuArgv } from "../../../core/qemu";
import { DRIVER_MODELS } from "../../../core/vmm";
import { freezeSpec } from "../../../core/vmspec";
import { SPEC as spec } from "../../helpers/vmspec";

describe("QEMU argv (core/qemu)", () => {
    it("qemu: q35 with virtio-net-pci, tap and fd netdevs, QMP socket in the run directory", () => {
        const l = DRIVER_MODELS.qemu.render(freezeSpec(spec));
        const a = l.argv;
        assert.equal(a[0], "/usr/bin/qemu-system-x86_64");
        assert.equal(a[a.indexOf("-M") + 1], "q35");
        assert.deepEqual(
            a.filter((_, k) => a[k - 1] === "-netdev"),
            ["tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off", "tap,id=n1,fd=3,vhost=off"],
        );
        assert.ok(a.includes("virtio-net-pci,netdev=n0,mac=02:00:00:00:00:01,romfile="));
        assert.equal(a[a.indexOf("-qmp") + 1], "unix:/run/netbed/vms/x/vm1/qmp.sock,server=on,wait=off");
        assert.deepEqual(l.api, { kind: "qmp", path: "/run/netbed/vms/x/vm1/qmp.sock" });
        assert.equal(a[a.indexOf("-append") + 1], "console=ttyS0 quiet panic=-1 netbed.nic=02:00:00:00:00:01,10.0.0.2/24");
        assert.equal(DRIVER_MODELS.qemu.vcpuOf("CPU 1/TCG"), 1);
        assert.equal(DRIVER_MODELS.qemu.vcpuOf("qemu-system-x86"), undefined);
    });
    it("qemu: a one-vCPU TCG guest gets a second, unplugged CPU slot, so QEMU keeps its memory barriers; KVM and SMP guests do not", () => {
        const smp = (accel: "tcg" | "kvm", vcpus: number) => {
            const a = qemuArgv({ accel, vcpus, memoryMiB: 256, kernel: "/k", initrdPath: "/i", cmdline: [], nics: [] });
            return a[a.indexOf("-smp") + 1];
        };
        assert.equal(smp("tcg", 1), "1,maxcpus=2");
        assert.equal(smp("tcg", 2), "2");
        assert.equal(smp("kvm", 1), "1");
    });
    it("qemu: the microvm machine uses virtio-mmio devices; under TCG its kernel is told the host's TSC frequency", () => {
        const mvm = {
            machine: "microvm" as const,
            accel: "tcg" as const,
            vcpus: 1,
            memoryMiB: 256,
            kernel: "/k",
            initrdPath: "/i",
            cmdline: ["netbed.servers=agent"],
            nics: [{ tap: "tap0", mac: "02:00:00:00:00:01", vhost: true, queues: 2 }],
        };
        const a = qemuArgv({ ...mvm, tscKhz: 2694863 });
        assert.equal(a[a.indexOf("-append") + 1], "console=ttyS0 quiet panic=-1 tsc_early_khz=2694863 tsc=reliable netbed.servers=agent");
        assert.throws(() => qemuArgv(mvm), /machine 'microvm' under TCG needs the host's TSC frequency/);
        const kvm = qemuArgv({ ...mvm, accel: "kvm" });
        assert.ok(!kvm.some((w) => w.includes("tsc_early_khz")), "KVM guests get the frequency from kvmclock");
        assert.match(a[a.indexOf("-M") + 1], /^microvm,/);
        assert.ok(a.includes("virtio-net-device,netdev=n0,mac=02:00:00:00:00:01,mq=on"));
        assert.ok(a.includes("tap,id=n0,ifname=tap0,script=no,downscript=no,queues=2,vhost=on"));
        assert.ok(!a.some((w) => w.includes("virtio-net-pci")));
    });
    it("qemu: taps and QMP by fds the launcher opened: fd/fds with vhostfd(s), no queues= beside them, the QMP chardev on its fd", () => {
        const base = { accel: "tcg" as const, vcpus: 1, memoryMiB: 256, kernel: "/k", initrdPath: "/i", cmdline: [] };
        const a = qemuArgv({
            ...base,
            qmp: "/run/x/qmp.sock",
            qmpFd: 9,
            nics: [
                { tap: "tap0", fds: [5, 6], vhostFds: [3, 4], mac: "02:00:00:00:00:01", vhost: true, queues: 2 },
                { tap: "tap1", fds: [7], mac: "02:00:00:00:00:02", vhost: false, queues: 1 },
            ],
        });
        assert.ok(a.includes("tap,id=n0,fds=5:6,vhostfds=3:4,vhost=on"), a.join(" "));
        assert.ok(a.includes("tap,id=n1,fd=7,vhost=off"), a.join(" "));
        assert.deepEqual(a.slice(a.indexOf("-chardev"), a.indexOf("-chardev") + 4), [
            "-chardev",
            "socket,id=qmp,fd=9,server=on,wait=off",
            "-mon",
            "chardev=qmp,mode=control",
        ]);
        assert.ok(!a.includes("-qmp"));
        assert.throws(
            () => qemuArgv({ ...base, nics: [{ fds: [5, 6], vhostFds: [3], mac: "02:00:00:00:00:01", vhost: true, queues: 2 }] }),
            /one vhost-net fd per queue/,
        );
        const l = DRIVER_MODELS.qemu.render(freezeSpec({ ...spec, listenFds: { qmp: 8 } }));
        assert.deepEqual(l.listen, [{ name: "qmp", path: `${spec.dir}/qmp.sock` }]);
        assert.ok(l.argv.includes("socket,id=qmp,fd=8,server=on,wait=off"));
    });
});

describe("QEMU argv: guest kernel and option injection", () => {
    it("renders QEMU argv and refuses option injection", () => {
        const a = qemuArgv({
            accel: "tcg",
            vcpus: 2,
            memoryMiB: 256,
            kernel: "/k",
            initrdPath: "/i",
            cmdline: ["netbed.servers=iperf3"],
            nics: [{ tap: "tap0", mac: "02:00:00:00:00:01", vhost: false, queues: 1 }],
        });
        assert.ok(a.includes("virtio-net-pci,netdev=n0,mac=02:00:00:00:00:01,romfile="));
        assert.ok(a.includes("tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off"));
        assert.equal(a[a.indexOf("-append") + 1], "console=ttyS0 quiet panic=-1 netbed.servers=iperf3");
        // vhost-net busy polling is the tap netdev's poll-us, and only a vhost NIC takes it.
        const spec = { accel: "tcg" as const, vcpus: 1, memoryMiB: 64, kernel: "/k", initrdPath: "/i", cmdline: [] };
        const polled = qemuArgv({ ...spec, nics: [{ tap: "tap0", mac: "02:00:00:00:00:01", vhost: true, vhostPollUs: 50, queues: 2 }] });
        assert.equal(polled[polled.indexOf("-netdev") + 1], "tap,id=n0,ifname=tap0,script=no,downscript=no,queues=2,vhost=on,poll-us=50");
        assert.throws(
            () => qemuArgv({ ...spec, nics: [{ tap: "tap0", mac: "02:00:00:00:00:01", vhost: false, vhostPollUs: 50, queues: 1 }] }),
            /NIC 0: poll-us .* vhost off/,
        );
        assert.throws(
            () => qemuArgv({ ...spec, nics: [{ tap: "tap0", mac: "02:00:00:00:00:01", vhost: true, vhostPollUs: 2.5, queues: 1 }] }),
            /NIC 0: poll-us must be a whole/,
        );
        assert.throws(
            () =>
                qemuArgv({
                    accel: "tcg",
                    vcpus: 1,
                    memoryMiB: 64,
                    kernel: "/k",
                    initrdPath: "/i",
                    cmdline: [],
                    nics: [{ tap: "t,script=/x", mac: "02:00:00:00:00:01", vhost: false, queues: 1 }],
                }),
            /cannot appear/,
        );
    });
});
