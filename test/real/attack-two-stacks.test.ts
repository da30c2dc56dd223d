// Two stacks with the same logical names, on the handlers: a name the user chooses (a netns Host's
// namespace, a Bridge's, a VethPair's ends, a MacvtapLink's) is refused to the second stack,
// naming the field and the first's URN, and the second's refresh and delete never adopt or remove
// the first's object; the names a resource chooses itself (a VM's run directory, a profile's directory, a
// benchmark's progress file) differ between the two. State from before those names carried the
// URN's hash is still read and deleted at its recorded paths.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openProgress } from "../../providers/benchmark/resume";
import { bridgeHandler } from "../../providers/resources/bridge";
import { hostHandler, OWNER_DIR } from "../../providers/resources/host";
import { macvtapHandler } from "../../providers/resources/macvtap";
import { microvmHandler, runDir } from "../../providers/resources/microvm";
import { profileDir, securityHandler } from "../../providers/resources/security";
import { vethHandler } from "../../providers/resources/veth";
import type { BenchmarkRunInputs } from "../../schema/benchmark";
import { BridgeArgsSchema } from "../../schema/bridge";
import { type HostConnection, HostArgsSchema } from "../../schema/host";
import { MacvtapLinkArgsSchema } from "../../schema/macvtap";
import { SecurityProfileArgsSchema } from "../../schema/security";
import { VethPairArgsSchema } from "../../schema/veth";
import { dropNetns, must, netnsList, sh, uniq } from "../helpers";
import { handlerCtx } from "../helpers/ctx";

const urnOf = (stack: string, type: string, name: string) => `urn:pulumi:${stack}::p::netbed:index:${type}::${name}`;

describe("attack: a second stack with the same names", function () {
    this.timeout(120_000);
    const ns = `s11s-${uniq()}`;
    const conn: HostConnection = { kind: "netns", name: "h", namespace: ns };
    const hostArgs = HostArgsSchema.parse({ kind: "netns", namespace: ns });
    let host: Awaited<ReturnType<typeof hostHandler.create>>;
    const linkIn = (name: string) => sh(["ip", "-n", ns, "-json", "-details", "link", "show", "dev", name]);
    const ownerRecord = (link: string) => fs.readFileSync(`${OWNER_DIR}/links/netns-${ns}/link-${link}`, "utf8").trim();

    before(async () => {
        host = await hostHandler.create(handlerCtx("Host", "h", { project: "p", stack: "A" }), hostArgs);
    });
    after(() => dropNetns(ns));

    it("a netns Host: the second's create is refused naming the first; its refresh and delete leave the first's namespace", async () => {
        const b = handlerCtx("Host", "h", { project: "p", stack: "B" });
        await assert.rejects(
            hostHandler.create(b, hostArgs),
            new RegExp(`namespace '${ns}' already exists and belongs to ${urnOf("A", "Host", "h")}; choose another 'namespace'`),
        );
        assert.equal(await hostHandler.read(b, host.id, host.outs), undefined, "the second stack's refresh adopted the first's namespace");
        await hostHandler.delete(b, host.id, host.outs);
        assert.ok(netnsList().includes(ns), "the second stack's delete removed the first's namespace");
        assert.equal(fs.readFileSync(`${OWNER_DIR}/netns-${ns}`, "utf8").trim(), urnOf("A", "Host", "h"));
        assert.ok(await hostHandler.read(handlerCtx("Host", "h", { project: "p", stack: "A" }), host.id, host.outs));
    });

    it("a Bridge: the second's create is refused naming `name`; its refresh and delete leave the first's bridge and its members", async () => {
        must(["ip", "-n", ns, "tuntap", "add", "dev", "s11sm0", "mode", "tap"]);
        const args = BridgeArgsSchema.parse({ host: conn, name: "s11sbr0", members: ["s11sm0"] });
        const [a, b] = [handlerCtx("Bridge", "br", { project: "p", stack: "A" }), handlerCtx("Bridge", "br", { project: "p", stack: "B" })];
        const made = await bridgeHandler.create(a, args);
        await assert.rejects(
            bridgeHandler.create(b, args),
            new RegExp(`'s11sbr0' already exists and belongs to ${urnOf("A", "Bridge", "br")}; choose another \`name\``),
        );
        assert.equal(await bridgeHandler.read(b, made.id, made.outs), undefined, "the second stack's refresh adopted the first's bridge");
        await bridgeHandler.delete(b, made.id, made.outs);
        assert.equal(linkIn("s11sbr0").code, 0, "the second stack's delete removed the first's bridge");
        assert.equal(JSON.parse(linkIn("s11sm0").stdout)[0].master, "s11sbr0", "the second stack's delete detached the first's member");
        assert.ok(await bridgeHandler.read(a, made.id, made.outs));
        await bridgeHandler.delete(a, made.id, made.outs);
        assert.notEqual(linkIn("s11sbr0").code, 0);
    });

    it("a VethPair: the second's create is refused naming `a.name`; its delete leaves the first's pair and owner records", async () => {
        const args = VethPairArgsSchema.parse({ a: { host: conn, name: "s11sva" }, b: { host: conn, name: "s11svb" } });
        const [a, b] = [handlerCtx("VethPair", "w", { project: "p", stack: "A" }), handlerCtx("VethPair", "w", { project: "p", stack: "B" })];
        const made = await vethHandler.create(a, args);
        await assert.rejects(vethHandler.create(b, args), /'s11sva' already exists and belongs to urn:pulumi:A::.*choose another `a.name`/);
        assert.equal(await vethHandler.read(b, made.id, made.outs), undefined, "the second stack's refresh adopted the first's pair");
        await vethHandler.delete(b, made.id, made.outs);
        assert.equal(linkIn("s11sva").code, 0, "the second stack's delete removed the first's pair");
        assert.deepEqual([ownerRecord("s11sva"), ownerRecord("s11svb")], [a.urn, a.urn], "the first's owner records are kept");
        await vethHandler.delete(a, made.id, made.outs);
        assert.notEqual(linkIn("s11sva").code, 0);
    });

    it("a MacvtapLink: the second's refresh and delete leave the first's link and its device node", async () => {
        must(["ip", "-n", ns, "link", "add", "s11sup", "type", "veth", "peer", "name", "s11sup1"]);
        const [a, b] = [handlerCtx("MacvtapLink", "mv", { project: "p", stack: "A" }), handlerCtx("MacvtapLink", "mv", { project: "p", stack: "B" })];
        const args = MacvtapLinkArgsSchema.parse(macvtapHandler.defaults!({ host: conn, name: "s11smv", parent: "s11sup" }, "mv", a.urn));
        const made = await macvtapHandler.create(a, args);
        await assert.rejects(macvtapHandler.create(b, args), /'s11smv' already exists and belongs to urn:pulumi:A::.*choose another `name`/);
        assert.equal(await macvtapHandler.read(b, made.id, made.outs), undefined, "the second stack's refresh adopted the first's macvtap");
        await macvtapHandler.delete(b, made.id, made.outs);
        assert.equal(linkIn("s11smv").code, 0, "the second stack's delete removed the first's macvtap");
        assert.ok(fs.existsSync(made.outs.device as string), "the second stack's delete removed the first's device node");
        await macvtapHandler.delete(a, made.id, made.outs);
        assert.ok(linkIn("s11smv").code !== 0 && !fs.existsSync(made.outs.device as string));
    });

    it("a VM's run directory and a profile's directory differ between stacks; a benchmark's interrupted run is not resumed by the other stack's", async () => {
        assert.notEqual(runDir(conn, "vm", urnOf("A", "MicroVm", "vm")), runDir(conn, "vm", urnOf("B", "MicroVm", "vm")));
        assert.notEqual(profileDir(conn, "p", urnOf("A", "SecurityProfile", "p")), profileDir(conn, "p", urnOf("B", "SecurityProfile", "p")));
        const results = fs.mkdtempSync(path.join(os.tmpdir(), "s11s-results-"));
        try {
            const inputs = { resultsDir: results, pairs: [], tests: [], settings: {}, triggers: {} } as unknown as BenchmarkRunInputs;
            const runOf = (stack: string) => ({ name: "bench", urn: urnOf(stack, "BenchmarkRun", "bench") });
            const first = await openProgress(runOf("A"), inputs, Date.UTC(2026, 0, 1));
            const other = await openProgress(runOf("B"), inputs, Date.UTC(2026, 0, 2));
            assert.equal(other.resumed, false, "the second stack's run resumed the first's");
            assert.notEqual(other.file, first.file);
            assert.deepEqual([(await openProgress(runOf("A"), inputs, Date.now())).resumed, first.resumed], [true, false], "the first still resumes its own");
        } finally {
            fs.rmSync(results, { recursive: true, force: true });
        }
    });

    it("a VM recorded by the previous version (run directory by name alone) is deleted at its recorded path, and another stack's run directory is kept", async () => {
        const ctx = handlerCtx("MicroVm", "s11s-old", { project: "p", stack: "A" });
        const legacy = `/run/netbed/vms/netns-${ns}/s11s-old`;
        const others = runDir(conn, "s11s-old", urnOf("B", "MicroVm", "s11s-old"));
        for (const d of [legacy, others]) {
            fs.mkdirSync(d, { recursive: true });
            fs.writeFileSync(`${d}/console.log`, "");
        }
        // A VMM long gone: pid and start time of no live process.
        const state = {
            host: conn,
            driver: "qemu",
            kernel: "/nonexistent/vmlinuz",
            image: "/nonexistent/initramfs",
            nics: [{ backend: "virtio", tap: "s11st0", address: "10.77.0.2/24" }],
            pid: 2 ** 22 + 1,
            startTime: "1",
            consoleLog: `${legacy}/console.log`,
            irqs: [],
        };
        // Only what delete reads of a state an older version wrote: typed state has more.
        await microvmHandler.delete(ctx, "x", state as never);
        assert.ok(!fs.existsSync(legacy), "the recorded run directory was not removed");
        assert.ok(fs.existsSync(`${others}/console.log`), "another stack's run directory was removed");
    });

    it("a profile recorded by the previous version (no profileDir: its directory by name alone) is read and deleted there", async () => {
        const name = `s11s-prof-${ns.slice(5)}`;
        const ctx = handlerCtx("SecurityProfile", name, { project: "p", stack: "A" });
        const local: HostConnection = { kind: "local", name: "me" };
        const made = await securityHandler.create(ctx, SecurityProfileArgsSchema.parse({ host: local, landlock: { enabled: false } }));
        const legacy = `/run/netbed/profiles/init/${name}`;
        try {
            assert.equal(made.outs.profileDir, profileDir(local, name, ctx.urn));
            fs.renameSync(String(made.outs.profileDir), legacy);
            const { profileDir: _, ...recorded } = made.outs;
            const old = { ...recorded, filterPath: `${legacy}/filter.bpf` };
            assert.deepEqual(await securityHandler.read(ctx, made.id, old), old, "the recorded profile was not found");
            await securityHandler.delete(ctx, made.id, old);
            assert.ok(!fs.existsSync(legacy), "the recorded profile's directory was not removed");
        } finally {
            fs.rmSync(legacy, { recursive: true, force: true });
            fs.rmSync(String(made.outs.profileDir), { recursive: true, force: true });
        }
    });
});
