// The VMM driver model (pure): each driver's rendering of one frozen spec, and QMP framing.
import { strict as assert } from "node:assert";
import { cloudHvArgv } from "../../../core/cloudhv";
import { parseToolVersion } from "../../../core/probe";
import { QmpFramer, encode, parseCpusFast, replyTo } from "../../../core/qmp";
import { qemuArgv } from "../../../core/qemu";
import { isVhostWorker } from "../../../core/procstat";
import { DRIVER_MODELS } from "../../../core/vmm";
import { type VmSpec, freezeSpec } from "../../../core/vmspec";

const spec: VmSpec = {
    driver: "qemu",
    binary: "/usr/bin/qemu-system-x86_64",
    machine: "q35",
    accel: "tcg",
    vcpus: 2,
    memoryMiB: 512,
    kernel: "/k/bzImage",
    image: "/i/initrd.gz",
    initrdPath: "/i/initrd.gz",
    cmdline: ["netbed.nic=02:00:00:00:00:01,10.0.0.2/24"],
    nics: [
        { backend: "virtio", tap: "tap0", mac: "02:00:00:00:00:01", vhost: false, address: "10.0.0.2/24", queues: 1 },
        { backend: "macvtap", fd: 3, mac: "02:00:00:00:00:02", vhost: false, address: "10.0.1.2/24", queues: 1 },
    ],
    dir: "/run/netbed/vms/x/vm1",
    name: "vm1",
    agent: false,
};

describe("VMM drivers (pure)", () => {
    it("a frozen spec cannot be changed after validation, down to its NICs", () => {
        const f = freezeSpec(spec);
        assert.throws(() => ((f as any).vcpus = 8), TypeError);
        assert.throws(() => ((f.nics[0] as any).mac = "02:00:00:00:00:09"), TypeError);
        assert.equal(spec.vcpus, 2, "the caller's object is not frozen");
    });

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

    it("firecracker: a config file with boot source, machine config and taps by name; no API socket", () => {
        const s = freezeSpec({ ...spec, driver: "firecracker", binary: "/opt/fc/firecracker", accel: "kvm", nics: [spec.nics[0]] });
        const l = DRIVER_MODELS.firecracker.render(s);
        assert.deepEqual(l.argv, ["/opt/fc/firecracker", "--no-api", "--config-file", "/run/netbed/vms/x/vm1/firecracker.json", "--level", "Warning"]);
        assert.equal(l.files[0].name, "firecracker.json");
        const cfg = JSON.parse(l.files[0].content);
        assert.deepEqual(cfg["boot-source"], {
            kernel_image_path: "/k/bzImage",
            initrd_path: "/i/initrd.gz",
            boot_args: "console=ttyS0 quiet panic=-1 reboot=k pci=off netbed.nic=02:00:00:00:00:01,10.0.0.2/24",
        });
        assert.deepEqual(cfg["machine-config"], { vcpu_count: 2, mem_size_mib: 512, smt: false });
        assert.deepEqual(cfg["network-interfaces"], [{ iface_id: "eth0", guest_mac: "02:00:00:00:00:01", host_dev_name: "tap0" }]);
        assert.equal(DRIVER_MODELS.firecracker.stopLine, "reboot", "Firecracker has no ACPI power-off");
        assert.equal(DRIVER_MODELS.firecracker.vcpuOf("fc_vcpu 1"), 1);
        assert.equal(DRIVER_MODELS.firecracker.supports.macvtap, false);
    });

    it("cloud-hypervisor: its command line with tap and fd NICs, serial console on stdio, API socket", () => {
        const l = DRIVER_MODELS["cloud-hypervisor"].render(
            freezeSpec({ ...spec, driver: "cloud-hypervisor", binary: "/usr/bin/cloud-hypervisor", accel: "kvm" }),
        );
        const a = l.argv;
        assert.equal(a[a.indexOf("--cpus") + 1], "boot=2");
        assert.equal(a[a.indexOf("--memory") + 1], "size=512M");
        assert.deepEqual(
            a.filter((_, k) => a[k - 1] === "--net"),
            ["tap=tap0,mac=02:00:00:00:00:01", "fd=3,mac=02:00:00:00:00:02"],
        );
        assert.equal(a[a.indexOf("--serial") + 1], "tty");
        assert.equal(a[a.indexOf("--api-socket") + 1], "path=/run/netbed/vms/x/vm1/api.sock");
        assert.equal(DRIVER_MODELS["cloud-hypervisor"].vcpuOf("vcpu3"), 3);
        assert.ok(
            cloudHvArgv({
                binary: "/ch",
                kernel: "/k",
                initrdPath: "/i",
                cmdline: [],
                vcpus: 1,
                memoryMiB: 64,
                api: "/a",
                nics: [{ tap: "t", mac: "02:00:00:00:00:01", queues: 2 }],
            }).includes("tap=t,mac=02:00:00:00:00:01,num_queues=4"),
        );
        assert.throws(
            () => cloudHvArgv({ binary: "/ch", kernel: "/k,x", initrdPath: "/i", cmdline: [], vcpus: 1, memoryMiB: 64, api: "/a", nics: [] }),
            /contains ','/,
        );
    });

    it("custom: the template gets the spec's values, its binary first", () => {
        const s = freezeSpec({
            ...spec,
            driver: "custom",
            binary: "/opt/volt/volt",
            custom: { argv: ["/opt/volt/volt", "--kernel={kernel}", "--net", "tap={tap0},mac={mac0}", "--net", "fd={fd1}", "--cpus", "{vcpus}"] },
        });
        assert.deepEqual(DRIVER_MODELS.custom.render(s).argv, [
            "/opt/volt/volt",
            "--kernel=/k/bzImage",
            "--net",
            "tap=tap0,mac=02:00:00:00:00:01",
            "--net",
            "fd=3",
            "--cpus",
            "2",
        ]);
    });

    it("QMP: frames split across reads, events skipped, errors carry QEMU's class and text", () => {
        const f = new QmpFramer();
        assert.deepEqual(f.push('{"QMP": {"version": {}}}\n{"ret'), [{ QMP: { version: {} } }]);
        const msgs = f.push(
            'urn": {}, "id": "a"}\n{"event": "NIC_RX_FILTER_CHANGED"}\n{"return": [{"cpu-index": 1, "thread-id": 4321, "qom-path": "/machine/unattached/device[1]"}, {"cpu-index": 0, "thread-id": 4320}], "id": "b"}\n',
        );
        assert.deepEqual(replyTo("a", "qmp_capabilities", msgs), { done: true, value: {} });
        assert.deepEqual(parseCpusFast(replyTo("b", "query-cpus-fast", msgs).value), [
            { index: 1, thread: 4321 },
            { index: 0, thread: 4320 },
        ]);
        assert.deepEqual(replyTo("c", "x", msgs), { done: false });
        assert.throws(
            () => replyTo("e", "query-foo", [{ id: "e", error: { class: "CommandNotFound", desc: "The command query-foo has not been found" } }]),
            /QMP query-foo failed: CommandNotFound: The command query-foo has not been found/,
        );
        assert.throws(() => parseCpusFast([{ "cpu-index": 0 }]), /lacks cpu-index or thread-id/);
        assert.equal(encode({ execute: "query-cpus-fast", id: "x" }), '{"execute":"query-cpus-fast","id":"x"}\n');
    });

    it("vhost workers and VMM versions are recognised by name", () => {
        assert.ok(isVhostWorker("vhost-1234", 1234));
        assert.ok(!isVhostWorker("vhost-12345", 1234));
        assert.equal(parseToolVersion("firecracker", "Firecracker v1.7.0"), "1.7.0");
        assert.equal(parseToolVersion("cloud-hypervisor", "cloud-hypervisor v40.0.0"), "40.0.0");
    });
});
