// Out-of-band drift of every cheap resource type on the real engine (test/fixtures/drift): each
// object is changed behind netbed's back (deleted, renamed, address changed, a setting rewritten,
// a file netbed wrote removed or overwritten); `pulumi refresh` must record it (the resource
// deleted from state or its outputs showing the changed value), `pulumi up` must put the real
// object back as declared, and a preview afterwards must plan nothing. MicroVm (a killed VMM) is
// covered by test/engine/fabric.engine.test.ts and test/real/providers/resources/microvm.test.ts; BenchmarkRun observes nothing on
// a host (its read returns its recorded results), so it has no drift of its own.
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { openStack } from "../../scripts/engine";
import { dropNetns, must, netnsList, sh, tempBackend, uniq } from "../helpers";

const FIXTURE = path.join(__dirname, "..", "fixtures", "drift");

const sha256 = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** A link as `ip -json -details addr show` gives it, or undefined when there is none. */
function link(ns: string, name: string): any {
    const r = sh(["ip", "-n", ns, "-json", "-details", "addr", "show", "dev", name]);
    return r.code === 0 ? JSON.parse(r.stdout)[0] : undefined;
}

const cidrs = (l: any): string[] => (l?.addr_info ?? []).filter((a: any) => a.family === "inet").map((a: any) => `${a.local}/${a.prefixlen}`);

/**
 * A real guest kernel for the Kernel's file source, from the cache other tests fill: the minimal
 * one with virtio built in (with its config) when it is there, so a guest boots in seconds.
 */
function someKernel(): { file: string; config?: string; builtin: boolean } | undefined {
    const dir = "/var/cache/netbed/kernels";
    if (!fs.existsSync(dir)) return undefined;
    const found = fs
        .readdirSync(dir)
        .map((e) => path.join(dir, e))
        .filter((d) => fs.existsSync(path.join(d, "vmlinuz")) && fs.existsSync(path.join(d, "meta.json")))
        .map((d) => ({
            file: path.join(d, "vmlinuz"),
            config: fs.existsSync(path.join(d, "config")) ? path.join(d, "config") : undefined,
            builtin: JSON.parse(fs.readFileSync(path.join(d, "meta.json"), "utf8")).virtio === "builtin",
        }));
    return found.find((k) => k.builtin && k.config) ?? found[0];
}

describe("drift of every resource type on the real engine: refresh sees it, up repairs it", function () {
    this.timeout(600_000);
    tempBackend();
    const id = uniq();
    const prefix = `nbd${id}`;
    const stackName = `d${id}`;
    const nsA = `${prefix}-a`;
    const nsB = `${prefix}-b`;
    const net = Math.floor(Math.random() * 200) + 20;
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);
    const tail = () => log.join("").slice(-4000);
    let work: string;
    let stack: Stack;
    let withVm = false;

    /**
     * The steps the engine took per netbed resource name: for `up`, as each step starts (create,
     * update, replace...); for `refresh`, its outcome (same, update, delete).
     */
    function opsOf(events: EngineEvent[], which: "resourcePreEvent" | "resOutputsEvent"): Record<string, string[]> {
        const out: Record<string, string[]> = {};
        for (const e of events) {
            const m = e[which]?.metadata;
            if (!m?.type.startsWith("netbed:")) continue;
            (out[m.urn.slice(m.urn.lastIndexOf("::") + 2)] ??= []).push(m.op);
        }
        return out;
    }

    /** The names whose refresh outcome was not "same", with it. */
    const changed = (ops: Record<string, string[]>) =>
        Object.fromEntries(
            Object.entries(ops)
                .filter(([, o]) => o.join() !== "same")
                .map(([n, o]) => [n, o.join()]),
        );

    /** The stack's resources by name, as the state holds them. */
    async function state(): Promise<Record<string, any>> {
        const dep = await stack.exportStack();
        const out: Record<string, any> = {};
        for (const r of dep.deployment.resources ?? []) if (r.type.startsWith("netbed:")) out[r.urn.slice(r.urn.lastIndexOf("::") + 2)] = r.outputs;
        return out;
    }

    async function refresh() {
        const events: EngineEvent[] = [];
        const r = await stack.refresh({ onOutput, onEvent: (e) => events.push(e), color: "never" });
        assert.equal(r.summary.result, "succeeded", tail());
        return { changes: r.summary.resourceChanges ?? {}, seen: changed(opsOf(events, "resOutputsEvent")), state: await state() };
    }

    async function up() {
        const events: EngineEvent[] = [];
        const r = await stack.up({ onOutput, onEvent: (e) => events.push(e), color: "never" });
        assert.equal(r.summary.result, "succeeded", tail());
        return { changes: r.summary.resourceChanges ?? {}, ops: opsOf(events, "resourcePreEvent") };
    }

    async function assertConverged(): Promise<void> {
        const pv = await stack.preview({ onOutput, color: "never" });
        assert.deepEqual(Object.keys(pv.changeSummary), ["same"], `a preview after the repair plans nothing (${JSON.stringify(pv.changeSummary)}): ${tail()}`);
    }

    before(async () => {
        work = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-drift-"));
        // Without a cached kernel (a fresh machine), any file will do for the Kernel's drift: netbed
        // caches a file source as it is; only the guest needs a real one.
        const kernel = someKernel() ?? { file: "", builtin: false, config: undefined };
        // Copies: the test deletes the Kernel's cached copy, never the shared cache's.
        if (kernel.file) fs.copyFileSync(kernel.file, path.join(work, "vmlinuz"));
        else fs.writeFileSync(path.join(work, "vmlinuz"), crypto.randomBytes(1 << 20));
        const config: Record<string, string> = { prefix, net: String(net), cacheDir: path.join(work, "cache"), kernelFile: path.join(work, "vmlinuz") };
        if (kernel.config) fs.copyFileSync(kernel.config, (config.kernelConfig = path.join(work, "config")));
        // A guest only with the minimal kernel (under TCG it boots in a fraction of Debian's time).
        withVm = kernel.builtin && kernel.config !== undefined;
        if (withVm) config.vm = "true";
        stack = await openStack({ stack: stackName, dir: FIXTURE });
        await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: v }])));
        const first = await up();
        assert.deepEqual(first.changes, { create: withVm ? 13 : 12 }, tail());
        await assertConverged();
    });

    after(async () => {
        if (stack) {
            await stack.destroy({ onOutput, color: "never" }).catch(() => undefined);
            await stack.workspace.removeStack(stackName).catch(() => undefined);
        }
        dropNetns(nsA);
        dropNetns(nsB);
        sh(["rm", "-rf", "--", `/run/netbed/profiles/netns-${nsA}`]);
        fs.rmSync(path.join(FIXTURE, `Pulumi.${stackName}.yaml`), { force: true });
        if (work) fs.rmSync(work, { recursive: true, force: true });
    });

    it("links, a sysctl and files netbed wrote, changed at once: refresh records each, up restores each, preview is then empty", async () => {
        const before = await state();
        const devNode = before.mvtap.device as string;
        const filterPath = before.prof.filterPath as string;
        const kernelPath = before.kernel.path as string;
        const imagePath = before.image.path as string;
        const kernelSha = sha256(kernelPath);
        assert.equal(before.image.sha256, sha256(imagePath));

        // Bridge: its address changed.
        must(["ip", "-n", nsA, "addr", "del", `10.${net}.1.1/24`, "dev", "br0"]);
        must(["ip", "-n", nsA, "addr", "add", `10.${net}.1.99/24`, "dev", "br0"]);
        // Tap: one renamed (a rename needs the link down), one deleted.
        must(["ip", "-n", nsA, "link", "set", "dev", "tap0", "down"]);
        must(["ip", "-n", nsA, "link", "set", "dev", "tap0", "name", "tapx0"]);
        must(["ip", "-n", nsA, "link", "del", "dev", "tap1"]);
        // VethPair: end b's address changed.
        must(["ip", "-n", nsB, "addr", "del", `10.${net}.0.2/24`, "dev", "eth0"]);
        must(["ip", "-n", nsB, "addr", "add", `10.${net}.0.3/24`, "dev", "eth0"]);
        // MacvtapLink: set down, and the device node netbed made for the VMM removed.
        must(["ip", "-n", nsB, "link", "set", "dev", "mvtap0", "down"]);
        fs.rmSync(devNode);
        // HostTuning: the namespace's sysctl set back by hand.
        must(["ip", "netns", "exec", nsA, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]);
        // SecurityProfile: its compiled filter overwritten.
        fs.writeFileSync(filterPath, "not a filter");
        // Kernel: the cached image deleted. GuestImage: the cached initramfs overwritten.
        fs.rmSync(kernelPath);
        fs.writeFileSync(imagePath, "not an initramfs");

        const r = await refresh();
        const s = r.state;
        // The engine's own account: each drifted resource, and no other, deleted or updated.
        const gone = ["tap0", "tap1", "prof", "kernel", "image"];
        const updated = ["br", "wire", "mvtap", "tune"];
        assert.deepEqual(r.seen, Object.fromEntries([...gone.map((n) => [n, "delete"]), ...updated.map((n) => [n, "update"])]), tail());
        assert.deepEqual({ delete: r.changes.delete, update: r.changes.update }, { delete: 5, update: 4 });
        // Gone (deleted, renamed away, or no longer what was built): dropped from state.
        for (const name of gone) assert.ok(!(name in s), `refresh dropped ${name} (${Object.keys(s).join(", ")})`);
        // Changed: the state shows the value the kernel has now.
        assert.deepEqual(s.br.addresses, [`10.${net}.1.99/24`]);
        assert.deepEqual(s.wire.b.addresses, [`10.${net}.0.3/24`]);
        assert.equal(s.mvtap.up, false);
        assert.equal(s.mvtap.device, "", "the missing device node shows as an empty device");
        assert.match(s.tune.drift.join(), /net.ipv4.ip_forward: .* is 0, was set to 1/);
        assert.equal(s.tune.sysctls["net.ipv4.ip_forward"], "0");

        const u = await up();
        for (const name of gone) assert.deepEqual(u.ops[name], ["create"], `${name}: ${JSON.stringify(u.ops)}`);
        for (const name of ["br", "wire", "mvtap"]) assert.deepEqual(u.ops[name], ["update"], `${name}: ${JSON.stringify(u.ops)}`);
        assert.ok(u.ops.tune?.includes("replace"), `tune: ${JSON.stringify(u.ops)}`);

        // The real objects are back as declared.
        assert.deepEqual(cidrs(link(nsA, "br0")), [`10.${net}.1.1/24`]);
        assert.equal(link(nsA, "tap0")?.master, "br0");
        assert.equal(link(nsA, "tap1")?.mtu, 1400);
        assert.deepEqual(cidrs(link(nsB, "eth0")), [`10.${net}.0.2/24`]);
        assert.ok(link(nsB, "mvtap0")?.flags.includes("UP"));
        // The VMM's device node is back, with the numbers the kernel gives the link now.
        const mv = link(nsB, "mvtap0");
        const want = must(["ip", "netns", "exec", nsB, "cat", `/sys/class/net/mvtap0/macvtap/tap${mv.ifindex}/dev`]).trim();
        const node = fs.statSync(devNode);
        assert.ok(node.isCharacterDevice());
        assert.equal(`${Math.floor(node.rdev / 256) & 0xfff}:${(node.rdev & 0xff) | ((node.rdev >> 12) & 0xfff00)}`, want);
        assert.equal(must(["ip", "netns", "exec", nsA, "sysctl", "-n", "net.ipv4.ip_forward"]).trim(), "1");
        const after = await state();
        assert.equal(after.tune.sysctls["net.ipv4.ip_forward"], "1");
        assert.equal(sha256(after.prof.filterPath), after.prof.filterSha256, "the filter is the one compiled");
        assert.equal(sha256(after.kernel.path), kernelSha, "the kernel is back in the cache");
        assert.equal(sha256(after.image.path), after.image.sha256, "the image is rebuilt");
        // Host a reaches b's declared address over the repaired wire.
        assert.equal(sh(["ip", "netns", "exec", nsA, "ping", "-c", "1", "-W", "2", `10.${net}.0.2`]).code, 0);
        await assertConverged();
    });

    it("MicroVm: its VMM killed behind netbed's back: refresh drops it, up boots a new guest that answers", async function () {
        if (!withVm) this.skip(); // no minimal kernel in the cache: test/real/providers/resources/microvm.test.ts builds it (many minutes)
        const pid = Number((await stack.outputs()).vmPid.value);
        process.kill(pid, "SIGKILL");
        for (let n = 0; n < 50 && fs.existsSync(`/proc/${pid}/stat`) && !/\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8")); n++)
            await new Promise((r) => setTimeout(r, 100));
        const r = await refresh();
        assert.deepEqual(r.seen, { vm: "delete" });
        assert.ok(!("vm" in r.state), "refresh dropped the dead guest");
        const u = await up();
        assert.deepEqual(u.ops.vm, ["create"], JSON.stringify(u.ops));
        const now = Number((await stack.outputs()).vmPid.value);
        assert.notEqual(now, pid);
        assert.ok(fs.readFileSync(`/proc/${now}/comm`, "utf8").startsWith("qemu"));
        assert.equal(sh(["ip", "netns", "exec", nsA, "ping", "-c", "1", "-W", "3", `10.${net}.1.10`]).code, 0, "the new guest answers on the bridge");
        await assertConverged();
    });

    it("a host's namespace deleted: refresh drops it and everything in it, up recreates them", async () => {
        must(["ip", "netns", "del", nsB]);
        const r = await refresh();
        assert.deepEqual(r.seen, { b: "delete", mvtap: "delete", wire: "delete" });
        for (const name of ["b", "wire", "mvtap"]) assert.ok(!(name in r.state), `refresh dropped ${name}`);
        const u = await up();
        for (const name of ["b", "wire", "mvtap"]) assert.deepEqual(u.ops[name], ["create"], `${name}: ${JSON.stringify(u.ops)}`);
        assert.ok(netnsList().includes(nsB));
        assert.deepEqual(cidrs(link(nsB, "eth0")), [`10.${net}.0.2/24`]);
        assert.equal(link(nsB, "mvtap0")?.link, "eth0");
        assert.equal(sh(["ip", "netns", "exec", nsA, "ping", "-c", "1", "-W", "2", `10.${net}.0.2`]).code, 0);
        await assertConverged();
    });

    it("destroy after the repairs leaves nothing of the stack: no namespace, no /run/netbed record, no cache reference", async () => {
        const s = await state();
        const refs = [s.kernel.path, s.image.path].map((p: string) => path.join(path.dirname(p), "refs"));
        const vmPid = withVm ? Number((await stack.outputs()).vmPid.value) : undefined;
        const d = await stack.destroy({ onOutput, color: "never" });
        assert.equal(d.summary.result, "succeeded", tail());
        assert.deepEqual(
            netnsList().filter((n) => n.startsWith(prefix)),
            [],
        );
        const records = sh(["find", "/run/netbed", "-path", `*${prefix}*`]).stdout.trim();
        assert.equal(records, "", "netbed records of the stack's namespaces");
        for (const r of refs) assert.deepEqual(fs.existsSync(r) ? fs.readdirSync(r) : [], [], `references left in ${r}`);
        if (vmPid) assert.ok(!fs.existsSync(`/proc/${vmPid}/stat`) || /\) Z/.test(fs.readFileSync(`/proc/${vmPid}/stat`, "utf8")), "the VMM is gone");
        await stack.workspace.removeStack(stackName);
        stack = undefined as unknown as Stack;
    });
});
