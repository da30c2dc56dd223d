// MicroVm against real QEMU guests (TCG here) in test namespaces: virtio on a bridge, macvtap on
// a veth parent reached from the far end, guest to guest, pinning, refresh of a killed VMM.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { bridgeHandler } from "../../../../providers/resources/bridge";
import { hostHandler } from "../../../../providers/resources/host";
import { imageHandler } from "../../../../providers/resources/image";
import { kernelHandler } from "../../../../providers/resources/kernel";
import { macvtapHandler } from "../../../../providers/resources/macvtap";
import { microvmHandler, runDir } from "../../../../providers/resources/microvm";
import { tapHandler } from "../../../../providers/resources/tap";
import { vethHandler } from "../../../../providers/resources/veth";
import { BridgeArgsSchema } from "../../../../schema/bridge";
import { HostArgsSchema, type HostConnection } from "../../../../schema/host";
import { GuestImageArgsSchema } from "../../../../schema/image";
import { KernelArgsSchema } from "../../../../schema/kernel";
import { MacvtapLinkArgsSchema } from "../../../../schema/macvtap";
import { MicroVmArgsSchema } from "../../../../schema/microvm";
import { TapArgsSchema } from "../../../../schema/tap";
import { VethPairArgsSchema } from "../../../../schema/veth";
import { agentCall } from "../../../../providers/hostops/agent";
import { LocalTransport } from "../../../../providers/transport/local";
import { ping } from "../../../helpers/boot";
import { freeSubnet, netnsList, sh, uniq } from "../../../helpers";
import { startSshd } from "../../../helpers/sshd";
import { closeAll, hostTransport } from "../../../../providers/transport";
import { handlerCtx } from "../../../helpers/ctx";

const local = { kind: "local" as const, name: "me" };
describe("MicroVm (real QEMU guests)", function () {
    this.timeout(30 * 60_000);
    const id = uniq();
    const n = Math.floor(Math.random() * 200) + 20;
    const hosts: Record<string, { outs: any; conn: HostConnection }> = {};
    const cleanup: (() => Promise<void>)[] = [];
    let kernel: any;
    let image: any;

    before(async () => {
        for (const h of ["srv", "ext"]) {
            const { outs } = await hostHandler.create(
                handlerCtx("Host", h, { project: "vm" }),
                HostArgsSchema.parse({ kind: "netns", namespace: `nbt-vm${h}-${id}` }),
            );
            hosts[h] = { outs, conn: outs.connection as HostConnection };
        }
        kernel = (await kernelHandler.create(handlerCtx("Kernel", "k", { project: "vm" }), KernelArgsSchema.parse({ host: local, source: { kind: "build" } })))
            .outs;
        image = (await imageHandler.create(handlerCtx("GuestImage", "i", { project: "vm" }), GuestImageArgsSchema.parse({ host: local }))).outs;
        const srv = hosts.srv.conn;
        const br = await bridgeHandler.create(
            handlerCtx("Bridge", "br", { project: "vm" }),
            BridgeArgsSchema.parse({ host: srv, name: "br0", addresses: [`10.240.${n}.1/24`] }),
        );
        cleanup.unshift(() => bridgeHandler.delete(handlerCtx("Bridge", "br", { project: "vm" }), br.id, br.outs));
        for (const t of ["tap0", "tap1", "tap2", "tap3", "tap4"]) {
            const r = await tapHandler.create(handlerCtx("Tap", t, { project: "vm" }), TapArgsSchema.parse({ host: srv, name: t, bridge: "br0" }));
            cleanup.unshift(() => tapHandler.delete(handlerCtx("Tap", t, { project: "vm" }), r.id, r.outs));
        }
        const w = await vethHandler.create(
            handlerCtx("VethPair", "w", { project: "vm" }),
            VethPairArgsSchema.parse({ a: { host: srv, name: "ext0" }, b: { host: hosts.ext.conn, name: "eth0", addresses: [`10.241.${n}.2/24`] } }),
        );
        cleanup.unshift(() => vethHandler.delete(handlerCtx("VethPair", "w", { project: "vm" }), w.id, w.outs));
        const mctx = handlerCtx("MacvtapLink", "mv", { project: "vm" });
        const mv = await macvtapHandler.create(
            mctx,
            MacvtapLinkArgsSchema.parse(macvtapHandler.defaults!({ host: srv, name: "mvtap0", parent: "ext0" }, "mv", mctx.urn)),
        );
        cleanup.unshift(() => macvtapHandler.delete(mctx, mv.id, mv.outs));
        hosts.srv.outs.macvtap = mv.outs;
    });

    after(async () => {
        for (const c of cleanup) await c().catch((e) => console.error(e));
        for (const h of Object.keys(hosts)) await hostHandler.delete(handlerCtx("Host", h, { project: "vm" }), "", hosts[h].outs);
        assert.ok(!netnsList().some((x) => x.endsWith(id)));
    });

    const caps = { cores: 2, vhostNet: false, kvmUsable: false, kvmReason: "no /dev/kvm", tools: ["qemu-system-x86_64", "iperf3"] };
    const vmArgs = (nics: unknown[], extra: Record<string, unknown> = {}) =>
        MicroVmArgsSchema.parse({
            host: hosts.srv.conn,
            kernel: kernel.path,
            image: image.path,
            imageSize: image.size,
            nics,
            hostCaps: caps,
            servers: ["iperf3"],
            ...extra,
        });

    async function up(name: string, args: any) {
        const ctx = handlerCtx("MicroVm", name, { project: "vm" });
        const r = await microvmHandler.create(ctx, args);
        cleanup.unshift(() => microvmHandler.delete(ctx, r.id, r.outs));
        return { ctx, ...r, outs: r.outs as any };
    }

    it("virtio guests on one bridge (one with a tap it made itself) reach the host and each other; pinned threads really run where asked", async () => {
        const a = await up(
            "vma",
            vmArgs([{ backend: "virtio", tap: "tap0", address: `10.240.${n}.10/24` }], { vcpus: 2, pinning: { vcpus: [1, 0], other: [0] } }),
        );
        // b has no Tap of its own: it makes one on the bridge, and removes it with itself. It busy-polls.
        const b = await up(
            "vmb",
            vmArgs([{ backend: "virtio", bridge: "br0", address: `10.240.${n}.11/24` }], {
                servers: ["iperf3", "agent"],
                busyPoll: { pollUs: 50, readUs: 25 },
            }),
        );
        const ownTap = b.outs.interfaces[0].host;
        assert.match(ownTap, /^nbv[0-9a-f]{10}$/);
        assert.equal(JSON.parse(sh(["ip", "-n", `nbt-vmsrv-${id}`, "-json", "link", "show", ownTap]).stdout)[0].master, "br0");
        assert.equal(a.outs.accelUsed, "tcg");
        assert.match(a.outs.accelWarning, /not comparable with KVM/);
        assert.ok(a.outs.bootTime.guestSeconds > 0 && a.outs.bootTime.wallSeconds >= a.outs.bootTime.guestSeconds / 10);
        const p = ping(`nbt-vmsrv-${id}`, `10.240.${n}.10`);
        assert.ok(p.ok, p.out);
        const p2 = ping(`nbt-vmsrv-${id}`, `10.240.${n}.11`);
        assert.ok(p2.ok, p2.out);
        // Guest to guest over the bridge: b's agent (on its socket on the VM's host) pings a.
        const reply = await agentCall(new LocalTransport(), b.outs.agentSocket, b.outs.agentKey, ["ping", "-c", "3", "-W", "2", `10.240.${n}.10`], 15);
        assert.equal(reply.code, 0, `${reply.stdout}\n${reply.stderr}`);
        // iputils' summary ("3 received"): the image's ping, not busybox's applet ("3 packets received").
        assert.match(reply.stdout, /3 packets transmitted, 3 received/);
        const fdb = sh(["ip", "-n", `nbt-vmsrv-${id}`, "neigh", "show", "dev", "br0"]).stdout;
        assert.match(fdb, new RegExp(`10\\.240\\.${n}\\.10 .*lladdr`));
        // Guest busy polling: the sysctls as init read them back inside b, and the model its outputs record.
        assert.deepEqual(b.outs.guestBusyPoll, { pollUs: 50, readUs: 25 });
        assert.equal(b.outs.notification, "guest busy_poll=50 busy_read=25");
        assert.deepEqual(a.outs.guestBusyPoll, { pollUs: 0, readUs: 0 });
        assert.equal(a.outs.notification, "event-driven");
        // Pinning: vCPU i's thread id from QMP query-cpus-fast, checked against the kernel's view of
        // that thread (its name, which QEMU sets, and where it may run).
        assert.equal(a.outs.placement.source, "qmp");
        assert.deepEqual(
            a.outs.placement.vcpus.map((v: any) => [v.index, v.cpus]),
            [
                [0, "1"],
                [1, "0"],
            ],
        );
        for (const v of a.outs.placement.vcpus) {
            const status = fs.readFileSync(`/proc/${a.outs.pid}/task/${v.thread}/status`, "utf8");
            assert.equal(/Cpus_allowed_list:\s*(\S+)/.exec(status)![1], v.cpus);
            assert.equal(/Name:\s*(.*)/.exec(status)![1], `CPU ${v.index}/TCG`);
        }
        assert.ok(a.outs.placement.other.every((o: any) => o.cpus === "0"));
        await microvmHandler.delete(b.ctx, b.id, b.outs);
        assert.notEqual(sh(["ip", "-n", `nbt-vmsrv-${id}`, "link", "show", ownTap]).code, 0, "the VM's own tap must go with it");
    });

    it("a macvtap guest is reachable from the external host over the parent link", async () => {
        const mv = hosts.srv.outs.macvtap;
        const g = await up(
            "vmm",
            vmArgs([{ backend: "macvtap", macvtap: "mvtap0", macvtapDevice: mv.device, macvtapMac: mv.mac, address: `10.241.${n}.10/24` }]),
        );
        assert.equal(g.outs.interfaces[0].mac, mv.mac);
        const p = ping(`nbt-vmext-${id}`, `10.241.${n}.10`);
        assert.ok(p.ok, p.out);
    });

    it("refresh notices a VMM killed by hand; delete leaves no process and no files", async () => {
        const g = await up("vmk", vmArgs([{ backend: "virtio", tap: "tap2", address: `10.240.${n}.12/24` }]));
        assert.ok(await microvmHandler.read(g.ctx, g.id, g.outs));
        process.kill(g.outs.pid, "SIGKILL");
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(await microvmHandler.read(g.ctx, g.id, g.outs), undefined);
        await microvmHandler.delete(g.ctx, g.id, g.outs);
        assert.ok(!fs.existsSync(runDir(hosts.srv.conn, "vmk", handlerCtx("MicroVm", "vmk", { project: "vm" }).urn)));
        // a graceful delete: the guest powers off and the VMM exits by itself
        // IRQ affinity: the serial port's IRQ stands in for a NIC queue; a match with no IRQ is skipped.
        const irqFile = (irq: number) => `/proc/irq/${irq}/smp_affinity_list`;
        const h = await up(
            "vmh",
            vmArgs([{ backend: "virtio", tap: "tap3", address: `10.240.${n}.13/24` }], {
                irqAffinity: [
                    { match: "ttyS0", cpus: [1] },
                    { match: "nosuchnic0", cpus: [0] },
                ],
            }),
        );
        const irqs = h.outs.irqs as any[];
        assert.match(irqs.find((x) => x.match === "nosuchnic0").skipped, /no IRQ on host 'srv' matches 'nosuchnic0'/);
        const serial = irqs.find((x) => x.match === "ttyS0");
        if (serial && !serial.skipped) {
            assert.equal(fs.readFileSync(irqFile(serial.irq), "utf8").trim(), "1");
        } else if (serial) {
            assert.match(serial.skipped, /refused/);
        }
        await microvmHandler.delete(h.ctx, h.id, h.outs);
        if (serial && !serial.skipped) assert.equal(fs.readFileSync(irqFile(serial.irq), "utf8").trim(), serial.before, "restored on delete");
        const stat = fs.existsSync(`/proc/${h.outs.pid}/stat`) ? fs.readFileSync(`/proc/${h.outs.pid}/stat`, "utf8") : "";
        assert.ok(stat === "" || / Z /.test(stat.slice(stat.lastIndexOf(")"))), `VMM still running: ${stat}`);
        assert.match(h.ctx.log.lines.join("\n"), /guest ready/);
        assert.ok(!h.ctx.log.lines.some((l) => l.includes("killing VMM")), "the guest should power off on request");
    });

    it("the custom driver runs a VMM netbed does not know from an argv template (QEMU standing in)", async () => {
        const argv = [
            "/usr/bin/qemu-system-x86_64",
            "-M",
            "q35",
            "-accel",
            "tcg",
            "-cpu",
            "max",
            "-smp",
            "{vcpus}",
            "-m",
            "{memoryMiB}",
            "-nodefaults",
            "-no-user-config",
            "-nographic",
            "-serial",
            "stdio",
            "-kernel",
            "{kernel}",
            "-initrd",
            "{initrd}",
            "-append",
            "{cmdline}",
            "-netdev",
            "tap,id=n0,ifname={tap0},script=no,downscript=no",
            "-device",
            "virtio-net-pci,netdev=n0,mac={mac0},romfile=",
        ];
        const g = await up("vmc", vmArgs([{ backend: "virtio", tap: "tap4", address: `10.240.${n}.14/24` }], { driver: "custom", custom: { argv } }));
        assert.equal(g.outs.accelUsed, "vmm's own");
        assert.equal(g.outs.argv[g.outs.argv.indexOf("-append") + 1].split(" ")[0], "console=ttyS0");
        const p = ping(`nbt-vmsrv-${id}`, `10.240.${n}.14`);
        assert.ok(p.ok, p.out);
        await microvmHandler.delete(g.ctx, g.id, g.outs);
        assert.ok(!g.ctx.log.lines.some((l) => l.includes("killing VMM")), "the guest should power off on a console command");
        assert.ok(!fs.existsSync(runDir(hosts.srv.conn, "vmc", handlerCtx("MicroVm", "vmc", { project: "vm" }).urn)));
    });

    it("firecracker and cloud-hypervisor refuse clearly on a host without their binaries, leaving nothing behind", async () => {
        for (const driver of ["firecracker", "cloud-hypervisor"]) {
            const ctx = handlerCtx("MicroVm", `vm-${driver}`, { project: "vm" });
            // No hostCaps: as if the preview could not tell, so the refusal comes from create itself.
            const args = MicroVmArgsSchema.parse({
                host: hosts.srv.conn,
                driver,
                kernel: kernel.path,
                image: image.path,
                nics: [{ backend: "virtio", tap: "tap4", address: `10.240.${n}.15/24` }],
            });
            // Only where the host's probe found no such binary (a host that has it would start it).
            if (!hosts.srv.outs.probe.tools[driver]?.path) {
                await assert.rejects(
                    microvmHandler.create(ctx, args),
                    new RegExp(`on host 'srv': driver '${driver}' needs ${driver}, which is not on the host's PATH`),
                );
            }
            await assert.rejects(
                microvmHandler.create(ctx, { ...args, binary: `/opt/${driver}/bin/${driver}` }),
                new RegExp(`binary /opt/${driver}/bin/${driver} is not an executable file there`),
            );
            assert.ok(!fs.existsSync(runDir(hosts.srv.conn, `vm-${driver}`, handlerCtx("MicroVm", `vm-${driver}`, { project: "vm" }).urn)));
        }
    });

    it("a guest on an SSH host (a real sshd in a namespace): the same lifecycle over the SSH transport", async () => {
        const d = await startSshd(`nbt-vmssh-${id}`, `nbv${id}`, freeSubnet("10.250"));
        try {
            const hctx = handlerCtx("Host", "lab", { project: "vm" });
            const hin = HostArgsSchema.parse({
                kind: "ssh",
                ssh: { host: d.nsIp, port: d.port, privateKey: d.key, hostKeyFingerprint: d.fingerprint, connectTimeoutMs: 5000, dialRetries: 1 },
            });
            const h = await hostHandler.create(hctx, hin);
            const conn = (h.outs as any).connection as HostConnection;
            assert.ok((h.outs as any).probe.interfaces.includes(`nbv${id}p`), "probed over SSH inside the sshd's namespace");
            const tctx = handlerCtx("Tap", "sshtap", { project: "vm" });
            const tap = await tapHandler.create(tctx, TapArgsSchema.parse({ host: conn, name: "tapssh0", addresses: [`10.242.${n}.1/24`] }));
            try {
                const vctx = handlerCtx("MicroVm", "vmssh", { project: "vm" });
                const vm = await microvmHandler.create(
                    vctx,
                    MicroVmArgsSchema.parse({
                        host: conn,
                        kernel: kernel.path,
                        image: image.path,
                        nics: [{ backend: "virtio", tap: "tapssh0", address: `10.242.${n}.10/24` }],
                        servers: ["agent"],
                    }),
                );
                const p = ping(d.ns, `10.242.${n}.10`);
                assert.ok(p.ok, p.out);
                // The agent reached over SSH's streamlocal forwarding, on the VMM's host.
                const up = await agentCall(hostTransport(vctx, conn), (vm.outs as any).agentSocket, (vm.outs as any).agentKey, ["uptime"], 5);
                assert.match(up.stdout, /^\d+\.\d+ \d+\.\d+\n$/);
                // QMP reached over SSH's streamlocal forwarding.
                assert.equal((vm.outs as any).placement.source, "qmp");
                assert.equal((vm.outs as any).placement.vcpus.length, 1);
                assert.ok(await microvmHandler.read(vctx, vm.id, vm.outs));
                await microvmHandler.delete(vctx, vm.id, vm.outs);
                assert.ok(!vctx.log.lines.some((l) => l.includes("killing VMM")), "powered off through the console FIFO over SSH");
                assert.equal(await microvmHandler.read(vctx, vm.id, vm.outs), undefined);
            } finally {
                await tapHandler.delete(tctx, tap.id, tap.outs);
            }
            await hostHandler.delete(hctx, h.id, h.outs);
        } finally {
            await closeAll();
            d.stop();
        }
    });

    it("bad input is refused before anything starts", () => {
        const bad = (nics: unknown[], extra: Record<string, unknown> = {}) => {
            const r = MicroVmArgsSchema.safeParse({ host: hosts.srv.conn, kernel: "/k", image: "/i", imageSize: 7e6, nics, hostCaps: caps, ...extra });
            return r.success ? [] : r.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`);
        };
        const nic = { backend: "virtio", tap: "tap0", address: "10.0.0.2/24" };
        assert.match(bad([nic], { vcpus: 0 }).join(), /vcpus: must be at least 1/);
        assert.match(bad([nic], { memoryMiB: 40 }).join(), /memoryMiB: 40 MiB is too small for a 6\.7 MiB image: give at least 46 MiB/);
        assert.match(bad([{ ...nic, backend: "vfio" }]).join(), /nics.0.backend: must be one of virtio, vhost-net, macvtap/);
        assert.match(bad([{ backend: "macvtap", tap: "tap0", address: "10.0.0.2/24" }]).join(), /nics.0.tap: a macvtap NIC takes a MacvtapLink, not a tap/);
        assert.match(
            bad([
                { ...nic, mac: "02:00:00:00:00:01" },
                { ...nic, tap: "tap1", mac: "02:00:00:00:00:01" },
            ]).join(),
            /nics.1.mac: MAC 02:00:00:00:00:01 is also nics\[0\]'s/,
        );
        assert.match(bad([nic], { pinning: { vcpus: [7] } }).join(), /pinning.vcpus.0: CPU 7 does not exist on host 'srv'/);
        assert.match(bad([{ ...nic, backend: "vhost-net" }]).join(), /vhost-net backend needs \/dev\/vhost-net on host 'srv'/);
        assert.match(bad([nic], { accel: "kvm" }).join(), /cannot run stock guests under KVM \(no \/dev\/kvm\)/);
        assert.match(bad([nic], { driver: "custom" }).join(), /custom: the custom driver needs custom.argv/);
        assert.match(bad([nic], { driver: "custom", custom: { argv: ["/vmm", "{kernel}", "{tap1}"] } }).join(), /'\{tap1\}' refers to NIC 1, but the VM has 1/);
        assert.match(bad([nic], { driver: "custom", custom: { argv: ["vmm", "{kernel}"] } }).join(), /must be the VMM binary's absolute path/);
        assert.match(bad([nic], { driver: "custom", custom: { argv: ["/vmm", "{kernel}", "{disk}"] } }).join(), /'\{disk\}' is not a placeholder/);
        assert.match(bad([nic], { driver: "xen" }).join(), /driver: must be one of qemu, firecracker, cloud-hypervisor, custom/);
        // Firecracker and Cloud Hypervisor: KVM only, their own binaries, and what they cannot attach.
        for (const driver of ["firecracker", "cloud-hypervisor"]) {
            const msgs = bad([nic], { driver }).join();
            assert.match(msgs, new RegExp(`driver: driver '${driver}' needs KVM, and host 'srv' cannot run stock guests under it \\(no /dev/kvm\\)`));
            assert.match(msgs, new RegExp(`binary: driver '${driver}' needs ${driver}, which is not on host 'srv''s PATH`));
            assert.match(bad([nic], { driver, accel: "tcg" }).join(), /accel: .* runs guests under KVM only/);
            assert.match(bad([nic], { driver, machine: "microvm" }).join(), /machine: only applies to driver 'qemu'/);
            assert.match(bad([{ ...nic, backend: "vhost-net" }], { driver }).join(), /has no vhost-net backend/);
        }
        assert.match(bad([nic], { machine: "microvm" }).join(), /machine: 'microvm' under TCG needs the TSC frequency of host 'srv' .*: use machine 'q35'/);
        assert.deepEqual(bad([nic], { machine: "microvm", hostCaps: { ...caps, tscKhz: 2694863 } }), []);
        assert.match(
            bad([{ backend: "macvtap", macvtap: "mv0", macvtapDevice: "/dev/tap9", macvtapMac: "02:00:00:00:00:09", address: "10.0.0.2/24" }], {
                driver: "firecracker",
            }).join(),
            /nics.0.backend: driver 'firecracker' cannot take a macvtap device/,
        );
        assert.doesNotMatch(bad([nic], { driver: "firecracker", binary: "/opt/fc/firecracker" }).join(), /binary:/);
        assert.match(bad([nic], { binary: "qemu" }).join(), /binary: must be an absolute path/);
        // A given binary on this machine is checked at preview too.
        const parsed = (extra: Record<string, unknown>) => MicroVmArgsSchema.parse({ host: hosts.srv.conn, kernel: "/k", image: "/i", nics: [nic], ...extra });
        assert.deepEqual(microvmHandler.localCheck!(parsed({ binary: "/opt/nothing/qemu" })), [
            { property: "binary", reason: "/opt/nothing/qemu is not an executable file on host 'srv' (this machine)" },
        ]);
        const plain = `${fs.mkdtempSync("/tmp/nbt-bin-")}/qemu`;
        fs.writeFileSync(plain, "not a program", { mode: 0o644 });
        assert.deepEqual(
            microvmHandler.localCheck!(parsed({ binary: plain })).map((f) => f.property),
            ["binary"],
        );
        fs.rmSync(plain.slice(0, plain.lastIndexOf("/")), { recursive: true });
        assert.deepEqual(microvmHandler.localCheck!(parsed({ binary: "/usr/bin/qemu-system-x86_64" })), []);
        assert.match(bad([nic], { pinning: { vhost: [0] } }).join(), /pinning.vhost: pins vhost workers, but no NIC uses backend 'vhost-net'/);
        assert.match(
            bad([
                { backend: "macvtap", macvtap: "mv0", macvtapDevice: "/dev/tap9", macvtapMac: "02:00:00:00:00:09", address: "10.0.0.2/24", queues: 2 },
            ]).join(),
            /nics.0.queues: a macvtap NIC has one queue/,
        );
        assert.match(bad([{ ...nic, bridge: "br0" }]).join(), /needs either a tap \(a Tap\) or a bridge/);
    });
});
