// The fabric on the real engine: the local stack's topology from the default program (with its
// own namespaces), and a corpus of bad inputs that must fail in preview, creating nothing.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, openStack } from "../../scripts/engine";
import { BAD_CASES } from "../fixtures/bad-inputs/cases";
import { dropNetns, must, netnsList, sh, tempBackend, uniq } from "../helpers";

function linkNames(ns: string): string[] {
    return (JSON.parse(must(["ip", "-n", ns, "-json", "link", "show"])) as any[]).map((l) => l.ifname).sort();
}

function rootLinks(): string[] {
    return (JSON.parse(must(["ip", "-json", "link", "show"])) as any[]).map((l) => l.ifname).sort();
}

describe("fabric on the real engine", function () {
    this.timeout(600_000);
    tempBackend();
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);

    it("the local topology with a virtio and a macvtap guest comes up, carries traffic, a second up changes nothing, destroy leaves nothing", async () => {
        const id = uniq();
        const stackName = `fab${id}`;
        const n = Math.floor(Math.random() * 200) + 20;
        const nsOf = (h: string) => `nbt-${id}-${h}`;
        const cfgFile = path.join(ROOT, "stacks", `Pulumi.${stackName}.yaml`);
        const results = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-results-"));
        // The local stack's topology with this test's own namespaces and subnets.
        const config = {
            "testbed:hosts": Object.fromEntries(["server", "client", "external"].map((h) => [h, { kind: "netns", namespace: nsOf(h) }])),
            "testbed:fabric": {
                wires: {
                    client: { a: { host: "server", name: "cli0" }, b: { host: "client", name: "eth0", addresses: [`10.${n}.1.2/24`] } },
                    external: {
                        a: { host: "server", name: "ext0", addresses: [`10.${n}.2.1/24`] },
                        b: { host: "external", name: "eth0", addresses: [`10.${n}.2.2/24`] },
                    },
                },
                bridges: { br0: { host: "server", addresses: [`10.${n}.1.1/24`], members: ["cli0"] } },
                taps: { tap0: { host: "server", bridge: "br0" }, tap1: { host: "server", bridge: "br0" } },
                macvtaps: { mvtap0: { host: "server", parent: "ext0" } },
            },
            "testbed:guests": {
                kernel: { source: { kind: "debian", package: "linux-image-amd64" } },
                vms: {
                    vm1: { host: "server", nics: [{ backend: "virtio", tap: "tap0", address: `10.${n}.1.10/24`, gateway: `10.${n}.1.1` }] },
                    vm2: { host: "server", nics: [{ backend: "macvtap", macvtap: "mvtap0", address: `10.${n}.2.10/24` }] },
                },
            },
            // A tiny matrix: the pipeline through the engine, not the numbers (test/real/providers/benchmark/index.test.ts).
            "testbed:benchmark": {
                settings: { duration: 1, repetitions: 1, warmup: 0 },
                tests: [{ kind: "tcp" }, { kind: "icmp", count: 5, interval: 0.05 }],
                resultsDir: results,
                pairs: [
                    { label: "bare-metal", client: { host: "client" }, server: { host: "server", address: `10.${n}.1.1` } },
                    { label: "virtio", client: { host: "client" }, server: { vm: "vm1" } },
                    { label: "macvtap", client: { host: "external" }, server: { vm: "vm2", via: "external" } },
                ],
            },
        };
        fs.writeFileSync(cfgFile, JSON.stringify({ config }, null, 2));
        const before = rootLinks();
        try {
            const stack = await openStack({ stack: stackName });
            await stack.preview({ onOutput, color: "never" });
            const t0 = Date.now();
            const up = await stack.up({ onOutput, color: "never" });
            const upMs = Date.now() - t0;
            assert.equal(up.summary.result, "succeeded", log.join(""));
            assert.deepEqual(linkNames(nsOf("server")), ["br0", "cli0", "ext0", "lo", "mvtap0", "tap0", "tap1"]);
            const br = JSON.parse(must(["ip", "-n", nsOf("server"), "-json", "link", "show", "master", "br0"]))
                .map((l: any) => l.ifname)
                .sort();
            assert.deepEqual(br, ["cli0", "tap0", "tap1"]);
            // client -> server over the bridge; external -> server over the "10GbE" wire
            assert.equal(sh(["ip", "netns", "exec", nsOf("client"), "ping", "-c", "2", "-i", "0.2", "-W", "2", `10.${n}.1.1`]).code, 0);
            assert.equal(sh(["ip", "netns", "exec", nsOf("external"), "ping", "-c", "2", "-i", "0.2", "-W", "2", `10.${n}.2.1`]).code, 0);
            // host -> bridged guest, client -> bridged guest over L2, external -> macvtap guest
            for (const [from, to] of [
                ["server", `10.${n}.1.10`],
                ["client", `10.${n}.1.10`],
                ["external", `10.${n}.2.10`],
            ]) {
                const p = sh(["ip", "netns", "exec", nsOf(from), "ping", "-c", "2", "-i", "0.2", "-W", "3", to]);
                assert.equal(p.code, 0, `${from} -> ${to}: ${p.stdout}`);
            }
            const doc = up.outputs.results.value as any;
            assert.deepEqual(doc.cells.map((c: any) => `${c.pair}/${c.cell}/${c.status}`).sort(), [
                "bare-metal/icmp-56/ok",
                "bare-metal/tcp-1/ok",
                "macvtap/icmp-56/ok",
                "macvtap/tcp-1/ok",
                "virtio/icmp-56/ok",
                "virtio/tcp-1/ok",
            ]);
            assert.ok((up.outputs.summary.value as any).macvtap.tcpGbps > 0);
            assert.ok(fs.existsSync(up.outputs.resultsPath.value as string));
            const guests = up.outputs.guests.value as any;
            assert.equal(guests.vm1.accel, "tcg");
            assert.ok(guests.vm2.bootTime.guestSeconds > 0);
            const pids = [guests.vm1.pid, guests.vm2.pid];
            const outs = up.outputs.fabric.value as any;
            assert.match(outs.macvtaps["server/mvtap0"].device, /^\/run\/netbed\/dev\//);
            assert.equal(outs.taps["server/tap0"].txqueuelen, 1000);

            const pv = await stack.preview({ onOutput, color: "never" });
            const again = await stack.up({ onOutput, color: "never" });
            assert.deepEqual(Object.keys(pv.changeSummary), ["same"]);
            assert.deepEqual(Object.keys(again.summary.resourceChanges ?? {}), ["same"]);

            // A VMM killed behind netbed's back: refresh drops it, the next up boots a new one.
            process.kill(guests.vm1.pid, "SIGKILL");
            await new Promise((r) => setTimeout(r, 300));
            const refreshed = await stack.refresh({ onOutput, color: "never" });
            assert.equal(refreshed.summary.resourceChanges?.delete, 1, log.join("").slice(-3000));
            const healed = await stack.up({ onOutput, color: "never" });
            assert.equal(healed.summary.resourceChanges?.create, 1);
            // The new guest is a new measurement subject: the benchmark runs again.
            assert.equal(healed.summary.resourceChanges?.update, 1);
            const vm1 = (healed.outputs.guests.value as any).vm1;
            assert.notEqual(vm1.pid, guests.vm1.pid);
            pids.push(vm1.pid);
            assert.equal(sh(["ip", "netns", "exec", nsOf("server"), "ping", "-c", "1", "-W", "3", `10.${n}.1.10`]).code, 0);

            const t1 = Date.now();
            await stack.destroy({ onOutput, color: "never" });
            const destroyMs = Date.now() - t1;
            assert.ok(!netnsList().some((x) => x.startsWith(`nbt-${id}`)), "namespaces left behind");
            for (const pid of pids) {
                const stat = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, "utf8") : "";
                assert.ok(stat === "" || / Z /.test(stat.slice(stat.lastIndexOf(")"))), `VMM ${pid} still running`);
            }
            assert.ok(!fs.existsSync(`/run/netbed/vms/netns-${nsOf("server")}`));
            // New links only: another test's link may go away meanwhile (its own cleanup).
            assert.deepEqual(
                rootLinks().filter((l) => !before.includes(l)),
                [],
                "links left behind in the root namespace",
            );
            assert.ok(!fs.existsSync(`/run/netbed/dev/netns-${nsOf("server")}`));
            assert.ok(!fs.existsSync(`/run/netbed/owned/links/netns-${nsOf("server")}`));
            await stack.workspace.removeStack(stackName);
            console.log(`      local topology with 2 guests: up ${(upMs / 1000).toFixed(1)} s, destroy ${(destroyMs / 1000).toFixed(1)} s (16 resources)`);
        } finally {
            for (const h of ["server", "client", "external"]) dropNetns(nsOf(h));
            fs.rmSync(cfgFile, { force: true });
            fs.rmSync(results, { recursive: true, force: true });
        }
    });

    it(`${BAD_CASES.length} bad inputs each fail in preview, naming the field, and create nothing`, async () => {
        const id = uniq();
        const ns = `nbt-bad-${id}`;
        const dir = path.join(__dirname, "..", "fixtures", "bad-inputs");
        const stackName = `bad${id}`;
        const stack = await openStack({ stack: stackName, dir });
        try {
            await stack.setConfig("namespace", { value: ns });
            // The base exists, as on a real testbed, so checks can use the host's probe.
            await stack.up({ onOutput, color: "never" });
            const baseLinks = linkNames(ns);
            const seen: string[] = [];
            for (const c of BAD_CASES) {
                await stack.setConfig("case", { value: c.name });
                const err = await stack.preview({ onOutput, color: "never" }).then(
                    () => undefined,
                    (e) => String(e),
                );
                assert.ok(err, `case '${c.name}' passed preview`);
                const prop = c.property.replace(/[[\].]/g, (ch) => `\\${ch}`);
                assert.match(err!, new RegExp(`property ${prop} value .* has a problem: .*`), `case '${c.name}': ${err!.slice(-600)}`);
                assert.match(err!, c.says, `case '${c.name}': ${err!.slice(-600)}`);
                assert.deepEqual(linkNames(ns), baseLinks, `case '${c.name}' created something`);
                seen.push(c.name);
            }
            assert.ok(seen.length >= 15);
            await stack.setConfig("case", { value: "none" });
            await stack.destroy({ onOutput, color: "never" });
            assert.ok(!netnsList().includes(ns));
            await stack.workspace.removeStack(stackName);
        } finally {
            dropNetns(ns);
            fs.rmSync(path.join(dir, `Pulumi.${stackName}.yaml`), { force: true });
        }
    });
});
