// Attacks on the VMM's confinement under the default SecurityProfile: what a compromised QEMU
// could do as its own uid (capabilities, netlink, signals, links planted where root writes), a
// tampered filter, and a guest flooding its console. Real TCG guests in a test namespace.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { guestCmdline } from "../../core/guestinit";
import { qemuArgv } from "../../core/qemu";
import { withLauncherArgs } from "../../core/security";
import { hostHandler } from "../../providers/resources/host";
import { imageHandler } from "../../providers/resources/image";
import { kernelHandler } from "../../providers/resources/kernel";
import { detachArgv } from "../../core/detach";
import { microvmHandler, runDir } from "../../providers/resources/microvm";
import { securityHandler } from "../../providers/resources/security";
import { tapHandler } from "../../providers/resources/tap";
import { HostArgsSchema, type HostConnection } from "../../schema/host";
import { GuestImageArgsSchema } from "../../schema/image";
import { KernelArgsSchema } from "../../schema/kernel";
import { MicroVmArgsSchema } from "../../schema/microvm";
import { SecurityProfileArgsSchema, vmSecurityOf } from "../../schema/security";
import { TapArgsSchema } from "../../schema/tap";
import { qmp } from "../helpers/boot";
import { must, netnsList, sh, uniq } from "../helpers";
import { handlerCtx } from "../helpers/ctx";

const local = { kind: "local" as const, name: "me" };
const statusField = (pid: number, name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, "m").exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Tries what a compromised VMM would: netlink (routes, nftables), packet and inet sockets, a unix
// socket (what QEMU needs), and signalling init.
const PROBE = `#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>
static const char *r(int v) { return v >= 0 ? "ok" : strerrorname_np(errno); }
int main(void) {
	printf("uid=%d netlink=%s", (int)getuid(), r(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)));
	printf(" packet=%s inet=%s", r(socket(AF_PACKET, SOCK_RAW, 0)), r(socket(AF_INET, SOCK_DGRAM, 0)));
	printf(" unix=%s kill1=%s\\n", r(socket(AF_UNIX, SOCK_STREAM, 0)), r(kill(1, 0)));
	return 0;
}
`;

describe("attacks on the VMM under the default SecurityProfile", function () {
    this.timeout(10 * 60_000);
    const id = uniq();
    const ns = `nbt-s11v-${id}`;
    const cleanup: (() => Promise<void> | void)[] = [];
    let host: { outs: any; conn: HostConnection };
    let kernel: any;
    let image: any;
    let profile: any;
    let vm: Awaited<ReturnType<typeof up>> | undefined;

    before(async () => {
        const { outs } = await hostHandler.create(handlerCtx("Host", "h", { project: "attack-vmm" }), HostArgsSchema.parse({ kind: "netns", namespace: ns }));
        host = { outs, conn: outs.connection as HostConnection };
        kernel = (
            await kernelHandler.create(handlerCtx("Kernel", "k", { project: "attack-vmm" }), KernelArgsSchema.parse({ host: local, source: { kind: "build" } }))
        ).outs;
        image = (await imageHandler.create(handlerCtx("GuestImage", "i", { project: "attack-vmm" }), GuestImageArgsSchema.parse({ host: local }))).outs;
        const tap = await tapHandler.create(
            handlerCtx("Tap", "t", { project: "attack-vmm" }),
            TapArgsSchema.parse({ host: host.conn, name: "s11vtap0", addresses: ["10.251.7.1/24"] }),
        );
        cleanup.unshift(() => tapHandler.delete(handlerCtx("Tap", "t", { project: "attack-vmm" }), tap.id, tap.outs));
        const pctx = handlerCtx("SecurityProfile", `s11v-default-${id}`, { project: "attack-vmm" });
        const p = await securityHandler.create(pctx, SecurityProfileArgsSchema.parse({ host: host.conn }));
        cleanup.unshift(() => securityHandler.delete(pctx, p.id, p.outs));
        profile = p.outs;
    });

    after(async () => {
        for (const c of cleanup) await Promise.resolve(c()).catch((e) => console.error(e));
        await hostHandler.delete(handlerCtx("Host", "h", { project: "attack-vmm" }), "", host.outs);
        assert.ok(!netnsList().includes(ns));
    });

    async function up(name: string, p: any) {
        const ctx = handlerCtx("MicroVm", name, { project: "attack-vmm" });
        const args = MicroVmArgsSchema.parse({
            host: host.conn,
            kernel: kernel.path,
            image: image.path,
            imageSize: image.size,
            nics: [{ backend: "virtio", tap: "s11vtap0", address: "10.251.7.10/24" }],
            hostCaps: { cores: 2, vhostNet: false, kvmUsable: false, kvmReason: "no /dev/kvm" },
            security: vmSecurityOf(p),
        });
        const r = await microvmHandler.create(ctx, args);
        let deleted = false;
        const del = async () => {
            if (deleted) return;
            deleted = true;
            await microvmHandler.delete(ctx, r.id, r.outs);
        };
        cleanup.unshift(del);
        return { ctx, ...r, outs: r.outs as any, del };
    }

    it("makes its files root's: the profile directory 0755 and filter.bpf 0644", () => {
        const dir = fs.statSync(path.dirname(profile.filterPath));
        const filter = fs.statSync(profile.filterPath);
        assert.deepEqual([dir.uid, dir.mode & 0o7777], [0, 0o755]);
        assert.deepEqual([filter.uid, filter.mode & 0o7777], [0, 0o644]);
    });

    it("refuses a tampered filter before anything boots", async () => {
        const pctx = handlerCtx("SecurityProfile", `s11v-tamper-${id}`, { project: "attack-vmm" });
        const p = await securityHandler.create(pctx, SecurityProfileArgsSchema.parse({ host: host.conn }));
        cleanup.unshift(() => securityHandler.delete(pctx, p.id, p.outs));
        // One more instruction after the last: a valid program (RET ALLOW), but not the profile's.
        const allow = Buffer.alloc(8);
        allow.writeUInt16LE(0x06, 0);
        allow.writeUInt32LE(0x7fff0000, 4);
        fs.appendFileSync(p.outs.filterPath as string, allow);
        await assert.rejects(up("s11v-tampered", p.outs), /seccomp filter .*filter\.bpf of SecurityProfile .* has sha256 .*refusing to boot/);
        assert.ok(!fs.existsSync(runDir(host.conn, "s11v-tampered", handlerCtx("MicroVm", "s11v-tampered", { project: "attack-vmm" }).urn)), "nothing started");
    });

    it("runs QEMU as a non-root uid with no capabilities, scoped, with its console bounded", async () => {
        const g = await up("s11v-vm", profile);
        vm = g;
        const pid = g.outs.pid as number;
        const uid = fs.statSync(`/proc/${pid}`).uid;
        assert.notEqual(uid, 0, "not root");
        assert.equal(uid, profile.rules.user);
        assert.match(statusField(pid, "Uid")!, new RegExp(`^${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`));
        for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"]) assert.equal(statusField(pid, set), "0000000000000000", set);
        assert.equal(statusField(pid, "Seccomp"), "2");
        assert.match(g.ctx.log.lines.join("\n"), new RegExp(`confined by SecurityProfile 's11v-default-${id}' \\(uid ${uid},`));
        assert.deepEqual(profile.rules.landlock.scopes, ["abstract-unix", "signal"], "both scopes on this ABI 7 host");
        // Its tap and QMP socket came as fds: it opens no /dev/net/tun and binds nothing.
        assert.ok(!(g.outs.wrapper as string[]).includes("/dev/net/tun"));
        const fds = fs.readdirSync(`/proc/${pid}/fd`).map((f) => fs.readlinkSync(`/proc/${pid}/fd/${f}`));
        assert.ok(fds.includes("/dev/net/tun"), fds.join(" "));
        const [caps, status] = await qmp(g.outs.qmpSocket, [{ execute: "qmp_capabilities" }, { execute: "query-status" }]);
        assert.deepEqual(caps, { return: {} });
        assert.equal(status.return?.status, "running");
        // The console log: capped by RLIMIT_FSIZE, and SIGXFSZ ignored so a flood fails writes, not the VMM.
        assert.match(fs.readFileSync(`/proc/${pid}/limits`, "utf8"), /Max file size\s+67108864\s+67108864\s+bytes/);
        assert.equal(BigInt(`0x${statusField(pid, "SigIgn")}`) & (1n << 24n), 1n << 24n, "SIGXFSZ ignored");
    });

    it("gives the VMM's uid no way to plant a link where root writes the console command or reads the log", async () => {
        assert.ok(vm, "the guest above booted");
        const g = vm;
        const pid = g.outs.pid as number;
        const uid = fs.statSync(`/proc/${pid}`).uid;
        const dir = runDir(host.conn, "s11v-vm", handlerCtx("MicroVm", "s11v-vm", { project: "attack-vmm" }).urn);
        // As the VMM's uid: plant links where root writes the console command and reads the log.
        const target = `/tmp/s11v-target-${id}`;
        fs.writeFileSync(target, "untouched\n");
        cleanup.unshift(() => fs.rmSync(target, { force: true }));
        const asVmm = ["setpriv", `--reuid=${uid}`, `--regid=${fs.statSync(`/proc/${pid}`).gid}`, "--clear-groups", "--"];
        for (const name of ["console.in", "console.log", "pid"]) {
            const r = sh([...asVmm, "sh", "-c", 'rm -f "$1" && ln -s "$2" "$1"', "sh", `${dir}/${name}`, target]);
            assert.notEqual(r.code, 0, `the VMM's uid replaced ${name} with a link`);
            assert.match(r.stderr, /Permission denied/);
        }
        // Every name root touches in the run directory is root's, in a directory only root writes.
        assert.deepEqual([fs.statSync(dir).uid, fs.statSync(dir).gid, fs.statSync(dir).mode & 0o7777], [0, profile.rules.group, 0o750]);
        for (const f of fs.readdirSync(dir)) assert.equal(fs.lstatSync(`${dir}/${f}`).uid, 0, f);

        await g.del();
        assert.equal(fs.readFileSync(target, "utf8"), "untouched\n", "root's poweroff went to the guest, not through a link");
        assert.ok(!g.ctx.log.lines.some((l) => l.includes("killing VMM")), "the guest powered off on its console");
    });

    it("refuses netlink, packet and inet sockets and signals outside the VMM (a probe under the same chain)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "s11v-probe-"));
        cleanup.unshift(() => fs.rmSync(dir, { recursive: true, force: true }));
        fs.chmodSync(dir, 0o755);
        fs.writeFileSync(`${dir}/probe.c`, PROBE);
        must(["cc", "-static", "-O2", "-o", `${dir}/probe`, `${dir}/probe.c`]);
        const wrapper = withLauncherArgs(profile.wrapper, ["--exec", dir]);
        const r = sh([...wrapper, `${dir}/probe`]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), `uid=${profile.rules.user} netlink=EAFNOSUPPORT packet=EAFNOSUPPORT inet=EAFNOSUPPORT unix=ok kill1=EPERM`);
    });

    it("bounds a console flood: the log stops at its cap and the writer sees write errors", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "s11v-flood-"));
        cleanup.unshift(() => fs.rmSync(dir, { recursive: true, force: true }));
        must(["mkfifo", `${dir}/console.in`]);
        const cap = 2 ** 20;
        // The flooder reports how its writes ended: SIGXFSZ would kill it before it could.
        must(detachArgv(dir, ["sh", "-c", `yes flood; echo "exit $?" > ${dir}/done`], cap));
        for (let k = 0; k < 100 && !fs.existsSync(`${dir}/done`); k++) await sleep(100);
        assert.equal(fs.statSync(`${dir}/console.log`).size, cap);
        assert.match(fs.readFileSync(`${dir}/done`, "utf8"), /^exit [1-9]/, "yes failed its write and exited");
        assert.ok(fs.readFileSync(`${dir}/console.log`, "utf8").startsWith("flood\nflood\n"));
    });

    it("a guest whose console passes the cap keeps running: QEMU's writes fail, it is not killed", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "s11v-qflood-"));
        cleanup.unshift(() => fs.rmSync(dir, { recursive: true, force: true }));
        must(["mkfifo", `${dir}/console.in`]);
        // Without "quiet" the boot alone writes more than a 512-byte cap.
        const cmdline = guestCmdline([], []);
        const argv = qemuArgv({ accel: "tcg", vcpus: 1, memoryMiB: 256, kernel: kernel.path, initrdPath: image.path, cmdline, nics: [] });
        const noisy = argv.map((w) => (w.startsWith("console=ttyS0") ? w.replace(" quiet", "") : w));
        must(detachArgv(dir, noisy, 512));
        for (let k = 0; k < 50 && !fs.existsSync(`${dir}/pid`); k++) await sleep(100);
        const pid = Number(fs.readFileSync(`${dir}/pid`, "utf8"));
        const alive = () => fs.existsSync(`/proc/${pid}`) && !/\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
        cleanup.unshift(() => {
            if (alive()) process.kill(pid, "SIGKILL");
        });
        for (let k = 0; k < 300 && fs.statSync(`${dir}/console.log`).size < 512; k++) await sleep(100);
        await sleep(8000); // the guest boots on past the cap, to its init reading the console
        assert.equal(fs.statSync(`${dir}/console.log`).size, 512);
        assert.ok(alive(), "QEMU runs on past the cap");
        fs.writeFileSync(`${dir}/console.in`, "poweroff\n");
        for (let k = 0; k < 150 && alive(); k++) await sleep(200);
        assert.ok(!alive(), "the guest obeyed poweroff on its console: it was alive and reading it");
    });
});
