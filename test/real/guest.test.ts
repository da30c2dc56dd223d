// Guest artifacts for real: a Debian kernel and one built from source with the minimal fragment,
// each booting a GuestImage under QEMU (TCG here) to the readiness line, with ping working.
// The source build takes minutes the first time on a machine; later runs hit the cache.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { PROBE_SCRIPT, parseProbe } from "../../core/probe";
import type { QemuMachine } from "../../core/qemu";
import { imageHandler } from "../../providers/resources/image";
import { kernelHandler } from "../../providers/resources/kernel";
import { GuestImageArgsSchema } from "../../schema/image";
import { KernelArgsSchema } from "../../schema/kernel";
import { boot, ping, tapInNetns } from "../helpers/boot";
import { dropNetns, must, sh, uniq } from "../helpers";
import { handlerCtx } from "../helpers/ctx";

const local = { kind: "local" as const, name: "me" };
describe("guest kernels and images (real builds, real boots under QEMU)", function () {
    this.timeout(60 * 60_000);
    const id = uniq();
    const ns = `nbt-guest-${id}`;
    const n = Math.floor(Math.random() * 200) + 20;
    before(() => must(["ip", "netns", "add", ns]));
    after(() => dropNetns(ns));

    async function bootAndPing(kernel: any, image: any, tap: string, last: number, machine?: { machine: QemuMachine; tscKhz?: number }) {
        tapInNetns(ns, tap, `10.253.${n}.${last - 1}/30`);
        const g = await boot({
            ns,
            kernel: kernel.path,
            initrd: image.path,
            tap,
            nic: { mac: `02:00:00:00:${n.toString(16).padStart(2, "0")}:${last.toString(16).padStart(2, "0")}`, address: `10.253.${n}.${last}/30` },
            servers: ["iperf3"],
            ...machine,
        });
        try {
            assert.ok(g.ready.uptime > 0 && g.ready.uptime < 60, `uptime ${g.ready.uptime}`);
            assert.deepEqual(Object.values(g.ready.nics), [`10.253.${n}.${last}/30`]);
            assert.deepEqual(g.ready.servers, ["iperf3"]);
            const p = ping(ns, `10.253.${n}.${last}`);
            assert.ok(p.ok, p.out + g.console().slice(-2000));
            console.log(`      ${kernel.release}: ready at guest uptime ${g.ready.uptime} s, ${(g.wallMs / 1000).toFixed(1)} s wall`);
        } finally {
            const code = await g.stop();
            assert.equal(code, 0, `qemu exited with ${code} after poweroff; console: ${g.console().slice(-1500)}`);
            assert.match(g.console(), /NETBED-POWEROFF/);
        }
    }

    it("on a netns host, whose network has no route out, Debian's kernel is fetched through the machine's", async () => {
        const cacheDir = fs.mkdtempSync("/var/tmp/nbt-guest-cache-");
        try {
            const host = { kind: "netns" as const, name: "srv", namespace: ns };
            const k = await kernelHandler.create(
                handlerCtx("Kernel", "netns", { project: "guest" }),
                KernelArgsSchema.parse({ host, cacheDir, source: { kind: "debian", package: "linux-image-amd64" } }),
            );
            assert.ok((k.outs as any).buildSeconds > 0, "a fresh cache: the package was downloaded");
            assert.equal((k.outs as any).virtio, "modules");
        } finally {
            fs.rmSync(cacheDir, { recursive: true, force: true });
        }
    });

    it("a Debian kernel package (modular virtio) boots the image, NIC configured, ping works", async () => {
        const kctx = handlerCtx("Kernel", "debian", { project: "guest" });
        const k = await kernelHandler.create(kctx, KernelArgsSchema.parse({ host: local, source: { kind: "debian", package: "linux-image-amd64" } }));
        const kernel = k.outs as any;
        assert.equal(kernel.virtio, "modules");
        assert.ok(fs.existsSync(`${kernel.modulesDir}/netbed.order`));
        // The second create with the same inputs is a cache hit.
        const again = await kernelHandler.create(kctx, KernelArgsSchema.parse({ host: local, source: { kind: "debian", package: "linux-image-amd64" } }));
        assert.equal((again.outs as any).buildSeconds, 0);
        assert.equal(again.id, k.id);

        const ictx = handlerCtx("GuestImage", "debian", { project: "guest" });
        const img = await imageHandler.create(ictx, GuestImageArgsSchema.parse({ host: local, modulesDir: kernel.modulesDir }));
        const image = img.outs as any;
        assert.ok(image.size > 1e6 && image.size < 64e6, `image size ${image.size}`);
        assert.deepEqual(Object.keys(image.manifest.tools).sort(), ["iperf3", "netperf", "netserver", "ping", "sockperf"]);
        assert.ok(image.manifest.modules.includes("virtio_net.ko"));
        assert.ok(image.manifest.modules.includes("virtio_console.ko"), "the agent's virtio-serial port");
        assert.ok(image.manifest.modules.indexOf("virtio_ring.ko") < image.manifest.modules.indexOf("virtio_net.ko"));

        assert.equal(((await kernelHandler.read(kctx, k.id, k.outs)) as any).release, kernel.release);
        assert.equal(((await imageHandler.read(ictx, img.id, img.outs)) as any).sha256, image.sha256);
        assert.equal(await kernelHandler.read(kctx, "0".repeat(64), k.outs), undefined, "an entry that is gone reads as deleted");
        await bootAndPing(kernel, image, "tapd0", 2);
        await kernelHandler.delete(kctx, k.id, k.outs);
        await imageHandler.delete(ictx, img.id, img.outs);
    });

    it("a kernel built from linux-source with the minimal fragment (virtio built in) boots an image without modules, on q35 and on microvm", async () => {
        const kctx = handlerCtx("Kernel", "minimal", { project: "guest" });
        const k = await kernelHandler.create(kctx, KernelArgsSchema.parse({ host: local, source: { kind: "build" } }));
        const kernel = k.outs as any;
        assert.equal(kernel.virtio, "builtin");
        assert.equal(kernel.modulesDir, "");
        assert.match(kernel.release, /^6\.1\./);
        const ictx = handlerCtx("GuestImage", "minimal", { project: "guest" });
        const img = await imageHandler.create(ictx, GuestImageArgsSchema.parse({ host: local }));
        assert.deepEqual((img.outs as any).manifest.modules, []);
        await bootAndPing(kernel, img.outs, "tapm0", 6);
        // The microvm machine hung 3 boots in 4 under TCG without the host's TSC frequency (core/qemu.ts tscWords).
        const tscKhz = parseProbe(sh(["sh", "-c", PROBE_SCRIPT]).stdout).tscKhz;
        if (tscKhz === undefined) console.log("      (this host's /proc/cpuinfo states no TSC frequency: the microvm boots are skipped)");
        else for (const [k, last] of [10, 14, 18].entries()) await bootAndPing(kernel, img.outs, `tapv${k}`, last, { machine: "microvm", tscKhz });
        await kernelHandler.delete(kctx, k.id, k.outs);
        await imageHandler.delete(ictx, img.id, img.outs);
    });

    it("bad sources fail clearly and leave nothing half-written in the cache", async () => {
        const cacheDir = fs.mkdtempSync("/tmp/netbed-cache-");
        try {
            const ctx = handlerCtx("Kernel", "bad", { project: "guest" });
            await assert.rejects(
                kernelHandler.create(ctx, KernelArgsSchema.parse({ host: local, cacheDir, source: { kind: "debian", package: "linux-image-does-not-exist" } })),
                /'linux-image-does-not-exist' is not in the host's apt sources/,
            );
            await assert.rejects(
                kernelHandler.create(ctx, KernelArgsSchema.parse({ host: local, cacheDir, source: { kind: "build", tarball: "/nonexistent/linux.tar.xz" } })),
                /kernel source \/nonexistent\/linux\.tar\.xz does not exist; install linux-source-6\.1/,
            );
            await assert.rejects(
                kernelHandler.create(ctx, KernelArgsSchema.parse({ host: local, cacheDir, source: { kind: "file", path: "/nonexistent/bzImage" } })),
                /sha256sum .*\/nonexistent\/bzImage/,
            );
            // A tarball that is not a kernel source: fails during the build, leaving no entry.
            fs.writeFileSync(`${cacheDir}/bogus.tar.xz`, "not a tarball");
            await assert.rejects(
                kernelHandler.create(ctx, KernelArgsSchema.parse({ host: local, cacheDir, source: { kind: "build", tarball: `${cacheDir}/bogus.tar.xz` } })),
                /tar -xf/,
            );
            const ictx = handlerCtx("GuestImage", "bad", { project: "guest" });
            await assert.rejects(
                imageHandler.create(ictx, GuestImageArgsSchema.parse({ host: local, cacheDir, modulesDir: "/nonexistent" })),
                /no such file|ENOENT/i,
            );
            assert.deepEqual(fs.readdirSync(`${cacheDir}/tmp`), [], "temporary build directories left behind");
            assert.ok(!fs.existsSync(`${cacheDir}/kernels`) || fs.readdirSync(`${cacheDir}/kernels`).length === 0);
            // Schema: a malformed fragment line and an unknown source kind are refused before anything runs.
            const f = KernelArgsSchema.safeParse({ host: local, source: { kind: "build", fragments: ["CONFIG_VIRTIO_NET=yes please"] } });
            assert.ok(!f.success && f.error.issues[0].path.join(".") === "source.fragments.0");
            const u = KernelArgsSchema.safeParse({ host: local, source: { kind: "git" } });
            assert.ok(!u.success && /kind must be 'debian', 'file' or 'build'/.test(u.error.issues[0].message));
            const tool = GuestImageArgsSchema.safeParse({ host: local, tools: ["wireshark"] });
            assert.ok(!tool.success && /must be one of iperf3/.test(tool.error.issues[0].message));
        } finally {
            fs.rmSync(cacheDir, { recursive: true, force: true });
        }
    });
});
