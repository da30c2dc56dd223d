import { strict as assert } from "node:assert";
import { GUEST_INIT, consoleErrors, guestCmdline, parseLdd, parseReadyLine } from "../../../core/guestinit";
import { MINIMAL_FRAGMENT, buildTools, fragmentLineProblem, releaseFromBzImage, unmetOptions, virtioMode } from "../../../core/kconfig";
import { loadOrder, parseModulesDep } from "../../../core/modules";
import { qemuArgv } from "../../../core/qemu";
import { sh } from "../../helpers";

describe("guest init, kernel config, modules, QEMU argv", () => {
    it("renders the command line the init reads", () => {
        assert.deepEqual(guestCmdline([{ mac: "02:00:00:00:00:01", address: "10.0.0.2/24", gateway: "10.0.0.1", mtu: 9000 }], ["iperf3", "sockperf"]), [
            "netbed.nic=02:00:00:00:00:01,10.0.0.2/24,gw=10.0.0.1,mtu=9000",
            "netbed.servers=iperf3,sockperf",
        ]);
        assert.throws(() => guestCmdline([{ mac: "02:00:00:00:00:01", address: "10.0.0.2" }], []), /prefix length/);
        assert.throws(() => guestCmdline([{ mac: "zz", address: "10.0.0.2/24" }], []), /MAC/);
        assert.deepEqual(guestCmdline([], ["agent"], { pollUs: 50, readUs: 0 }), ["netbed.servers=agent", "netbed.busy_poll=50,0"]);
        assert.throws(() => guestCmdline([], [], { pollUs: 50, readUs: 1.5 }), /busyPoll.readUs must be a whole number/);
        assert.throws(() => guestCmdline([], [], { pollUs: 20_000, readUs: 0 }), /busyPoll.pollUs must be at most 10000/);
    });
    it("parses the readiness line even after console escape sequences", () => {
        const r = parseReadyLine("SeaBIOS\n\x1bc\x1b[?7lNETBED-READY uptime=1.87 nics=eth0@10.0.0.2/24,eth1@fd00::2/64 servers=iperf3\r\n");
        assert.deepEqual(r, { uptime: 1.87, nics: { eth0: "10.0.0.2/24", eth1: "fd00::2/64" }, servers: ["iperf3"] });
        assert.equal(parseReadyLine("booting..."), undefined);
        // A console read while init writes the line: not ready until the line is whole.
        assert.equal(parseReadyLine("NETBED-READY uptime=1.8"), undefined);
        assert.equal(parseReadyLine("NETBED-READY uptime=1.87 nics=eth0@10.0.0.2/24 servers=iperf3\n")?.uptime, 1.87);
        // The busy polling init read back; "none" where the kernel has no such sysctl.
        assert.deepEqual(parseReadyLine("NETBED-READY uptime=1.9 nics= servers=agent busy_poll=50 busy_read=25\n")?.busyPoll, { pollUs: 50, readUs: 25 });
        assert.equal(parseReadyLine("NETBED-READY uptime=1.9 nics= servers=agent busy_poll=none busy_read=none\n")?.busyPoll, undefined);
        assert.deepEqual(consoleErrors("x\nNETBED-ERROR insmod virtio.ko failed\n"), ["insmod virtio.ko failed"]);
    });
    it("the init script is valid sh", () => {
        const r = sh(["sh", "-n"], GUEST_INIT);
        assert.equal(r.code, 0, r.stderr);
    });
    it("validates fragments and reads a final config", () => {
        assert.equal(fragmentLineProblem("CONFIG_NR_CPUS=64"), undefined);
        assert.equal(fragmentLineProblem('CONFIG_CMDLINE="console=ttyS0"'), undefined);
        assert.equal(fragmentLineProblem("# CONFIG_MODULES is not set"), undefined);
        for (const bad of ["CONFIG_X=yes", "VIRTIO_NET=y", "CONFIG_X = y", "CONFIG_X=y; rm"]) assert.ok(fragmentLineProblem(bad), bad);
        for (const l of MINIMAL_FRAGMENT) assert.equal(fragmentLineProblem(l), undefined, l);
        const final = "CONFIG_VIRTIO_NET=y\nCONFIG_VIRTIO_PCI=y\n# CONFIG_DEFAULT_CUBIC is not set\n";
        assert.equal(virtioMode(final), "builtin");
        assert.equal(virtioMode("CONFIG_VIRTIO_NET=m\nCONFIG_VIRTIO_PCI=m\n"), "modules");
        assert.equal(virtioMode(""), "absent");
        assert.deepEqual(unmetOptions(["CONFIG_VIRTIO_NET=y", "CONFIG_DEFAULT_CUBIC=y"], final), ["CONFIG_DEFAULT_CUBIC=y (got not set)"]);
    });
    it("names the programs a kernel build needs, with the compressor its fragment chose", () => {
        const tools = (f: readonly string[]) => buildTools(f).map((t) => `${t.tool}:${t.pkg}`);
        assert.deepEqual(tools(MINIMAL_FRAGMENT).slice(-1), ["lz4:lz4"], "the minimal kernel is LZ4-compressed");
        assert.deepEqual(tools(["CONFIG_KERNEL_ZSTD=y"]), ["make:make", "cc:build-essential", "flex:flex", "bison:bison", "bc:bc", "zstd:zstd"]);
        assert.ok(!tools([]).some((t) => t.startsWith("lz4")));
    });
    it("reads the release from a bzImage header", () => {
        const img = Buffer.alloc(0x1000);
        img.write("HdrS", 0x202, "latin1");
        img.writeUInt16LE(0x600, 0x20e);
        img.write("6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP\0", 0x800, "latin1");
        assert.equal(releaseFromBzImage(img), "6.1.0-56-amd64");
        assert.equal(releaseFromBzImage(Buffer.alloc(16)), undefined);
    });
    it("orders modules dependencies first", () => {
        const dep = parseModulesDep(
            [
                "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko",
                "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko",
                "kernel/net/core/failover.ko:",
                "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko",
                "kernel/drivers/virtio/virtio_ring.ko:",
                "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko",
                "kernel/drivers/virtio/virtio_pci_modern_dev.ko:",
            ].join("\n"),
        );
        const { order, missing } = loadOrder(dep, ["virtio_pci", "virtio_mmio", "virtio_net"]);
        const names = order.map((p) => p.split("/").pop()!);
        assert.deepEqual(missing, ["virtio_mmio"]);
        assert.deepEqual([...names].sort(), [
            "failover.ko",
            "net_failover.ko",
            "virtio.ko",
            "virtio_net.ko",
            "virtio_pci.ko",
            "virtio_pci_modern_dev.ko",
            "virtio_ring.ko",
        ]);
        for (const [p, deps] of dep) for (const d of deps) if (order.includes(p)) assert.ok(order.indexOf(d) < order.indexOf(p), `${d} before ${p}`);
    });
    it("parses ldd output", () => {
        const libs = parseLdd(
            "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibiperf.so.0 => /lib/x86_64-linux-gnu/libiperf.so.0 (0x7f)\n\t/lib64/ld-linux-x86-64.so.2 (0x7f)\n",
        );
        assert.deepEqual(libs, ["/lib/x86_64-linux-gnu/libiperf.so.0", "/lib64/ld-linux-x86-64.so.2"]);
    });
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
