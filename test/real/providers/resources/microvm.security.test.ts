// MicroVm under a SecurityProfile: real TCG guests in test namespaces, confined by the QEMU and the
// strict preset; the VMM's /proc status, traffic to the guest, and Landlock seen through QMP.
import { agentCall } from "../../../../providers/hostops/agent";
import { LocalTransport } from "../../../../providers/transport/local";
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { hostHandler } from "../../../../providers/resources/host";
import { imageHandler } from "../../../../providers/resources/image";
import { kernelHandler } from "../../../../providers/resources/kernel";
import { macvtapHandler } from "../../../../providers/resources/macvtap";
import { microvmHandler, runDir } from "../../../../providers/resources/microvm";
import { securityHandler } from "../../../../providers/resources/security";
import { tapHandler } from "../../../../providers/resources/tap";
import { vethHandler } from "../../../../providers/resources/veth";
import { HostArgsSchema, type HostConnection } from "../../../../schema/host";
import { GuestImageArgsSchema } from "../../../../schema/image";
import { KernelArgsSchema } from "../../../../schema/kernel";
import { MacvtapLinkArgsSchema } from "../../../../schema/macvtap";
import { MicroVmArgsSchema } from "../../../../schema/microvm";
import { SecurityProfileArgsSchema, vmSecurityOf } from "../../../../schema/security";
import { TapArgsSchema } from "../../../../schema/tap";
import { VethPairArgsSchema } from "../../../../schema/veth";
import { iperf3, ping, qmp } from "../../../helpers/boot";
import { netnsList, uniq } from "../../../helpers";
import { handlerCtx } from "../../../helpers/ctx";

const local = { kind: "local" as const, name: "me" };
const statusField = (pid: number, name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];

describe("MicroVm under a SecurityProfile (real QEMU guests)", function () {
    this.timeout(20 * 60_000);
    const id = uniq();
    const n = Math.floor(Math.random() * 200) + 20;
    const ns = { srv: `nbt-sec-srv-${id}`, ext: `nbt-sec-ext-${id}` };
    const hosts: Record<string, { outs: any; conn: HostConnection }> = {};
    const profiles: Record<string, any> = {};
    const cleanup: (() => Promise<void>)[] = [];
    let kernel: any;
    let image: any;
    let macvtap: any;

    before(async () => {
        for (const h of ["srv", "ext"] as const) {
            const { outs } = await hostHandler.create(handlerCtx("Host", h, { project: "vmsec" }), HostArgsSchema.parse({ kind: "netns", namespace: ns[h] }));
            hosts[h] = { outs, conn: outs.connection as HostConnection };
        }
        kernel = (
            await kernelHandler.create(handlerCtx("Kernel", "k", { project: "vmsec" }), KernelArgsSchema.parse({ host: local, source: { kind: "build" } }))
        ).outs;
        image = (await imageHandler.create(handlerCtx("GuestImage", "i", { project: "vmsec" }), GuestImageArgsSchema.parse({ host: local }))).outs;
        const srv = hosts.srv.conn;
        for (const [k, t] of ["tap0", "tap1"].entries()) {
            const r = await tapHandler.create(
                handlerCtx("Tap", t, { project: "vmsec" }),
                TapArgsSchema.parse({ host: srv, name: t, addresses: [`10.${243 + k}.${n}.1/24`] }),
            );
            cleanup.unshift(() => tapHandler.delete(handlerCtx("Tap", t, { project: "vmsec" }), r.id, r.outs));
        }
        const w = await vethHandler.create(
            handlerCtx("VethPair", "w", { project: "vmsec" }),
            VethPairArgsSchema.parse({ a: { host: srv, name: "ext0" }, b: { host: hosts.ext.conn, name: "eth0", addresses: [`10.245.${n}.2/24`] } }),
        );
        cleanup.unshift(() => vethHandler.delete(handlerCtx("VethPair", "w", { project: "vmsec" }), w.id, w.outs));
        const mctx = handlerCtx("MacvtapLink", "mv", { project: "vmsec" });
        const mv = await macvtapHandler.create(
            mctx,
            MacvtapLinkArgsSchema.parse(macvtapHandler.defaults!({ host: srv, name: "mvtap0", parent: "ext0" }, "mv", mctx.urn)),
        );
        cleanup.unshift(() => macvtapHandler.delete(mctx, mv.id, mv.outs));
        macvtap = mv.outs;
        for (const preset of ["qemu", "strict"]) {
            const pctx = handlerCtx("SecurityProfile", `vm-${preset}`, { project: "vmsec" });
            // QEMU needs no TCP (QMP is a unix socket) and signals nothing outside itself.
            const p = await securityHandler.create(
                pctx,
                SecurityProfileArgsSchema.parse({
                    host: srv,
                    seccomp: { preset },
                    landlock: { denyTcp: true, scopes: ["abstract-unix", "signal"], mode: "best-effort" },
                }),
            );
            cleanup.unshift(() => securityHandler.delete(pctx, p.id, p.outs));
            profiles[preset] = p.outs;
        }
    });

    after(async () => {
        for (const c of cleanup) await c().catch((e) => console.error(e));
        for (const h of Object.keys(hosts)) await hostHandler.delete(handlerCtx("Host", h, { project: "vmsec" }), "", hosts[h].outs);
        assert.ok(!netnsList().some((x) => x.endsWith(id)));
    });

    const caps = { cores: 2, vhostNet: false, kvmUsable: false, kvmReason: "no /dev/kvm" };
    async function up(name: string, nic: Record<string, unknown>, profile: any) {
        const ctx = handlerCtx("MicroVm", name, { project: "vmsec" });
        const args = MicroVmArgsSchema.parse({
            host: hosts.srv.conn,
            kernel: kernel.path,
            image: image.path,
            imageSize: image.size,
            nics: [nic],
            hostCaps: caps,
            servers: ["iperf3", "agent"],
            security: vmSecurityOf(profile),
        });
        const r = await microvmHandler.create(ctx, args);
        cleanup.unshift(() => microvmHandler.delete(ctx, r.id, r.outs));
        return { ctx, ...r, outs: r.outs as any };
    }

    it("boots under the QEMU preset: Seccomp 2 in the VMM, ping and iperf3 work, Landlock refuses a path outside its rules over QMP", async () => {
        const p = profiles.qemu;
        const g = await up("vmq", { backend: "virtio", tap: "tap0", address: `10.243.${n}.10/24` }, p);
        const pid = g.outs.pid;
        assert.equal(statusField(pid, "Seccomp"), "2");
        assert.equal(statusField(pid, "NoNewPrivs"), "1");
        assert.equal(statusField(pid, "CapEff"), "0000000000000000");
        assert.equal(fs.statSync(`/proc/${pid}`).uid, p.rules.user, "the default user, not root");
        assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0], /^\/usr\/bin\/qemu-system-x86_64$/);
        assert.equal(g.outs.security.profile, "vm-qemu");
        assert.equal(g.outs.security.filterSha256, p.filterSha256);
        assert.deepEqual(g.outs.security.landlock, { enabled: true, abi: p.landlockAbi });
        const w: string[] = g.outs.wrapper;
        // After the root stage (which opens the tap and binds QMP), the profile's chain, its rules first.
        const chain = (x: string[]) => x.slice(x.indexOf("--"), x.indexOf("--seccomp"));
        assert.deepEqual(chain(w), chain(p.wrapper));
        assert.deepEqual(w.slice(2, w.indexOf("--")), [
            "--tap",
            "tap0=3",
            "--listen",
            `${runDir(hosts.srv.conn, "vmq", handlerCtx("MicroVm", "vmq", { project: "vmsec" }).urn)}/qmp.sock=4`,
            "--listen",
            `${runDir(hosts.srv.conn, "vmq", handlerCtx("MicroVm", "vmq", { project: "vmsec" }).urn)}/agent.sock=5`,
        ]);
        assert.ok(!w.includes("/dev/net/tun"), "QEMU opens no tap itself");
        for (const [opt, path] of [
            ["--ro", runDir(hosts.srv.conn, "vmq", handlerCtx("MicroVm", "vmq", { project: "vmsec" }).urn)],
            ["--ro", kernel.path],
            ["--ro", image.path],
            ["--exec", "/usr"],
        ]) {
            assert.ok(
                w.some((x, k) => x === opt && w[k + 1] === path),
                `${opt} ${path} in ${w.join(" ")}`,
            );
        }
        assert.match(g.ctx.log.lines.join("\n"), /confined by SecurityProfile 'vm-qemu'/);

        const pg = ping(ns.srv, `10.243.${n}.10`);
        assert.ok(pg.ok, pg.out);
        assert.ok(iperf3(ns.srv, `10.243.${n}.10`, 2) > 0);

        const [caps0, denied, allowed] = await qmp(g.outs.qmpSocket, [
            { execute: "qmp_capabilities" },
            { execute: "blockdev-add", arguments: { driver: "file", "node-name": "forbidden", filename: "/etc/hostname", "read-only": true } },
            { execute: "blockdev-add", arguments: { driver: "file", "node-name": "allowed", filename: image.path, "read-only": true } },
        ]);
        assert.deepEqual(caps0, { return: {} });
        assert.match(denied.error?.desc ?? "", /Could not open '\/etc\/hostname': Permission denied/, JSON.stringify(denied));
        assert.deepEqual(allowed, { return: {} }, JSON.stringify(allowed));
        assert.ok(fs.readFileSync("/etc/hostname"), "the file is there: Landlock, not DAC, refused it");
    });

    it("boots under the strict preset, serves traffic, and still reads its console (it powers off when told)", async () => {
        const p = profiles.strict;
        assert.ok(p.syscallCount < profiles.qemu.syscallCount);
        const g = await up("vms", { backend: "virtio", tap: "tap1", address: `10.244.${n}.10/24` }, p);
        assert.equal(statusField(g.outs.pid, "Seccomp"), "2");
        const pg = ping(ns.srv, `10.244.${n}.10`);
        assert.ok(pg.ok, pg.out);
        assert.ok(iperf3(ns.srv, `10.244.${n}.10`, 2) > 0);
        // The agent's port works under the filter: QEMU listens on its socket and moves its bytes.
        const up1 = await agentCall(new LocalTransport(), g.outs.agentSocket, g.outs.agentKey, ["uptime"], 5);
        assert.match(up1.stdout, /^\d+\.\d+ \d+\.\d+\n$/);
        const [, status] = await qmp(g.outs.qmpSocket, [{ execute: "qmp_capabilities" }, { execute: "query-status" }]);
        assert.equal(status.return?.status, "running");
        // The guest answers "poweroff" on the console only if QEMU could read its stdin (readv).
        const dir = runDir(hosts.srv.conn, "vms", handlerCtx("MicroVm", "vms", { project: "vmsec" }).urn);
        fs.writeFileSync(`${dir}/console.in`, "poweroff\n");
        for (let k = 0; k < 100 && fs.existsSync(`/proc/${g.outs.pid}/stat`) && !/\) Z/.test(fs.readFileSync(`/proc/${g.outs.pid}/stat`, "utf8")); k++)
            await new Promise((r) => setTimeout(r, 200));
        assert.match(fs.readFileSync(`${dir}/console.log`, "utf8"), /NETBED-POWEROFF/);
        await microvmHandler.delete(g.ctx, g.id, g.outs);
        assert.ok(!g.ctx.log.lines.some((l) => l.includes("killing VMM")));
    });

    it("a macvtap guest under the profile: its fd is opened before the confinement, and the external host reaches it", async () => {
        const g = await up(
            "vmm",
            { backend: "macvtap", macvtap: "mvtap0", macvtapDevice: macvtap.device, macvtapMac: macvtap.mac, address: `10.245.${n}.10/24` },
            profiles.qemu,
        );
        assert.equal(statusField(g.outs.pid, "Seccomp"), "2");
        assert.ok(!(g.outs.wrapper as string[]).includes("/dev/net/tun"), "no tap to open by name");
        const pg = ping(ns.ext, `10.245.${n}.10`);
        assert.ok(pg.ok, pg.out);
        await microvmHandler.delete(g.ctx, g.id, g.outs);
    });

    it("runs the VMM as another uid/gid given by the profile, with no capabilities; its run directory stays root's", async () => {
        const pctx = handlerCtx("SecurityProfile", "vm-nobody", { project: "vmsec" });
        const p = await securityHandler.create(
            pctx,
            SecurityProfileArgsSchema.parse({ host: hosts.srv.conn, user: 65534, group: 65534, landlock: { mode: "best-effort" } }),
        );
        cleanup.unshift(() => securityHandler.delete(pctx, p.id, p.outs));
        // A macvtap's fd is opened by the shell step as root, before the chain drops to the uid.
        const g = await up(
            "vmu",
            { backend: "macvtap", macvtap: "mvtap0", macvtapDevice: macvtap.device, macvtapMac: macvtap.mac, address: `10.245.${n}.11/24` },
            p.outs,
        );
        assert.match(statusField(g.outs.pid, "Uid")!, /^65534\s+65534\s+65534\s+65534$/);
        assert.equal(statusField(g.outs.pid, "CapEff"), "0000000000000000");
        assert.equal(fs.statSync(g.outs.qmpSocket).uid, 0, "root bound it and handed QEMU the fd");
        assert.equal(fs.statSync(runDir(hosts.srv.conn, "vmu", handlerCtx("MicroVm", "vmu", { project: "vmsec" }).urn)).uid, 0);
        const pg = ping(ns.ext, `10.245.${n}.11`);
        assert.ok(pg.ok, pg.out);
        // The VM's own initrd (its agent key) is root's, readable by the VMM's group and nobody else; root
        // bound the agent's socket too; the agent answers.
        const dir = runDir(hosts.srv.conn, "vmu", handlerCtx("MicroVm", "vmu", { project: "vmsec" }).urn);
        const st = fs.statSync(`${dir}/initrd`);
        assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [0, 65534, 0o640]);
        assert.equal(fs.statSync(g.outs.agentSocket).uid, 0);
        const up1 = await agentCall(new LocalTransport(), g.outs.agentSocket, g.outs.agentKey, ["uptime"], 5);
        assert.match(up1.stdout, /^\d+\.\d+ \d+\.\d+\n$/);
    });

    it("refuses a profile from another machine", () => {
        const r = MicroVmArgsSchema.safeParse({
            host: hosts.srv.conn,
            kernel: "/k",
            image: "/i",
            nics: [{ backend: "virtio", tap: "tap0", address: "10.0.0.2/24" }],
            security: { ...vmSecurityOf(profiles.qemu), machine: "ssh:10.0.0.5:22", machineLabel: "ssh root@10.0.0.5:22" },
        });
        assert.ok(!r.success);
        assert.match(
            r.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join(),
            /security: SecurityProfile 'vm-qemu' is on ssh root@10\.0\.0\.5:22, host 'srv' on the provider's machine/,
        );
        // A state written before the machine was recorded as an id (with its label) still reads back.
        const { machineLabel: _label, ...legacy } = vmSecurityOf(profiles.qemu);
        const old = MicroVmArgsSchema.safeParse({
            host: hosts.srv.conn,
            kernel: "/k",
            image: "/i",
            nics: [{ backend: "virtio", tap: "tap0", address: "10.0.0.2/24" }],
            security: { ...legacy, machine: "the provider's machine" },
        });
        assert.ok(old.success, JSON.stringify(old.error?.issues));
    });
});
