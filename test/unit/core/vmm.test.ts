// The VMM driver model (pure): a frozen spec, the other drivers' rendering of it (QEMU's is in
// qemu.test.ts), and custom argv templates.
import { strict as assert } from "node:assert";
import { cloudHvArgv } from "../../../core/cloudhv";
import { parseToolVersion } from "../../../core/probe";
import { isVhostWorker } from "../../../core/procstat";
import { DRIVER_MODELS } from "../../../core/vmm";
import { freezeSpec } from "../../../core/vmspec";
import { SPEC as spec } from "../../helpers/vmspec";

describe("VMM drivers (pure)", () => {
    it("a frozen spec cannot be changed after validation, down to its NICs", () => {
        const f = freezeSpec(spec);
        assert.throws(() => ((f as any).vcpus = 8), TypeError);
        assert.throws(() => ((f.nics[0] as any).mac = "02:00:00:00:00:09"), TypeError);
        assert.equal(spec.vcpus, 2, "the caller's object is not frozen");
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

    it("vhost workers and VMM versions are recognised by name", () => {
        assert.ok(isVhostWorker("vhost-1234", 1234));
        assert.ok(!isVhostWorker("vhost-12345", 1234));
        assert.equal(parseToolVersion("firecracker", "Firecracker v1.7.0"), "1.7.0");
        assert.equal(parseToolVersion("cloud-hypervisor", "cloud-hypervisor v40.0.0"), "40.0.0");
    });
});

describe("custom VMM argv templates", () => {
    it("checks placeholders against the VM and renders each inside one argv word", async () => {
        const { renderTemplate, templateProblem } = await import("../../../core/vmm");
        assert.equal(templateProblem(["/usr/bin/vmm", "--kernel", "{kernel}", "--net", "tap={tap0},mac={mac0}"], 1), undefined);
        assert.match(templateProblem(["/usr/bin/vmm", "{kernel}", "{fd2}"], 2)!, /NIC 2, but the VM has 2/);
        assert.match(templateProblem(["/usr/bin/vmm"], 0)!, /never uses \{kernel\}/);
        const nic = { backend: "virtio" as const, tap: "tap0", mac: "02:00:00:00:00:01", vhost: false, address: "10.0.0.2/24", queues: 1 };
        const spec = { binary: "/v", kernel: "/k", initrdPath: "/i", cmdline: [], vcpus: 2, memoryMiB: 256, dir: "/run/v", nics: [nic] };
        const custom = (argv: string[]) => renderTemplate({ ...spec, custom: { argv } });
        const argv = custom(["/v", "{kernel}", "--cmdline", "{cmdline}", "tap={tap0},mac={mac0}", "{vcpus}x{memoryMiB}", "{console}"]);
        assert.deepEqual(argv, ["/v", "/k", "--cmdline", "console=ttyS0 quiet panic=-1", "tap=tap0,mac=02:00:00:00:00:01", "2x256", "/run/v/console.log"]);
        assert.throws(() => custom(["/v", "{kernel}", "{fd0}"]), /NIC 0 has no fd/);
    });
});
