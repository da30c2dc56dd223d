// The stand-alone examples under examples/ on the real engine: each VM example previews (its plan
// checked resource by resource; a full `up` boots TCG guests for minutes), and examples/consumer
// runs end to end: installed with `npm install`, it reads a cheap producer stack's results through
// a StackReference.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, openStack } from "../../scripts/engine";
import { dropNetns, netnsList, uniq, writeDefaultProject } from "../helpers";

const EXAMPLES = path.join(ROOT, "examples");

/** What a `preview --diff` plans to create: resource counts by type, the namespaces named, the benchmark pairs' labels. */
function plannedCreates(out: string): { types: Record<string, number>; namespaces: string[]; labels: string[] } {
    const types: Record<string, number> = {};
    for (const m of out.matchAll(/^\s*\+ (\S+:\S+:\S+): \(create\)$/gm)) types[m[1]] = (types[m[1]] ?? 0) + 1;
    const namespaces = [...new Set([...out.matchAll(/^\s*namespace\s*: "([^"]+)"$/gm)].map((m) => m[1]))].sort();
    const labels = [...out.matchAll(/^\s*label\s*: "([^"]+)"$/gm)].map((m) => m[1]);
    return { types, namespaces, labels };
}

describe("examples on the real engine", function () {
    this.timeout(600_000);
    const id = uniq();
    const saved = { ...process.env };
    const cleanup: (() => void)[] = [];
    const nsPrefixes: string[] = [];
    before(() => {
        const backend = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-state-"));
        cleanup.push(() => fs.rmSync(backend, { recursive: true, force: true }));
        process.env.PULUMI_BACKEND_URL = `file://${backend}`;
        process.env.PULUMI_CONFIG_PASSPHRASE = "test";
    });
    after(() => {
        for (const p of nsPrefixes) for (const ns of netnsList().filter((n) => n.startsWith(p))) dropNetns(ns);
        for (const f of cleanup.reverse()) f();
        process.env = saved;
    });

    // NETBED_EXAMPLES_UP=1 also brings each VM example up for real (TCG guests: minutes each)
    // and checks its outputs before destroying it; by default they only preview.
    const fullUp = process.env.NETBED_EXAMPLES_UP === "1";
    const previews: {
        dir: string;
        prefix: string;
        total: number;
        types: Record<string, number>;
        hosts: string[];
        pairs: string[];
        cells: number;
        check: (out: Record<string, any>) => void;
    }[] = [
        {
            dir: "volt-matrix",
            prefix: "nbev",
            // The stack, the Testbed, 3 hosts, 2 wires, bridge, tap, macvtap, kernel, image, security profile, 2 guests, the run.
            total: 16,
            types: {
                "netbed:index:Testbed": 1,
                "netbed:index:Host": 3,
                "netbed:index:VethPair": 2,
                "netbed:index:Bridge": 1,
                "netbed:index:Tap": 1,
                "netbed:index:MacvtapLink": 1,
                "netbed:index:Kernel": 1,
                "netbed:index:GuestImage": 1,
                "netbed:index:SecurityProfile": 1,
                "netbed:index:MicroVm": 2,
                "netbed:index:BenchmarkRun": 1,
            },
            hosts: ["server", "client", "external"],
            pairs: ["bare-metal", "virtio", "macvtap"],
            // The Volt matrix: 13 cells (pps at 4 sizes) per pair.
            cells: 39,
            check: (o) => assert.deepEqual(Object.keys(o.summary).sort(), ["bare-metal", "macvtap", "virtio"]),
        },
        {
            dir: "lguest-baseline",
            prefix: "nbel",
            // The stack, the Testbed, 2 hosts, the server's tuning (ip_forward), 2 wires, bridge, 3 taps, kernel, image, profile, 3 guests, the Nat, the run.
            total: 19,
            types: {
                "netbed:index:Testbed": 1,
                "netbed:index:Host": 2,
                "netbed:index:HostTuning": 1,
                "netbed:index:VethPair": 2,
                "netbed:index:Bridge": 1,
                "netbed:index:Tap": 3,
                "netbed:index:MicroVm": 3,
                "netbed:index:Nat": 1,
                "netbed:index:BenchmarkRun": 1,
            },
            hosts: ["server", "ext"],
            pairs: [
                "native.loopback",
                "native.client",
                "native.server",
                "bridged.client",
                "bridged.server",
                "guest-bridged.loopback",
                "guest-bridged.client",
                "guest-bridged.server",
                "guest-nat.client",
                "guest-nat.server",
                "guest-to-host.client",
                "guest-to-host.server",
                "guest-to-guest.client",
            ],
            cells: 13,
            check: (o) => {
                // The seed's six rows; every pair run fills its cell, with its percent of native.
                assert.deepEqual(
                    o.table.map((r: any) => r.row),
                    ["native", "bridged", "guest-bridged", "guest-nat", "guest-to-host", "guest-to-guest"],
                );
                const filled = o.table.flatMap((r: any) => ["loopback", "client", "server"].map((c) => r[c]).filter((x: any) => x !== null));
                assert.equal(filled.length, 13);
                for (const c of filled) assert.ok(c.gbps > 0 && c.percentOfNative > 0, JSON.stringify(c));
                assert.match(o.tableText, /^guest-nat /m);
                assert.ok(
                    o.natRules.some((l: string) => /masquerade$/.test(l)),
                    o.natRules.join("\n"),
                );
            },
        },
        {
            dir: "solo5-pps",
            prefix: "nbes",
            // No Testbed: the stack, 3 hosts, 2 wires, bridge, 3 taps, macvtap, kernel, image, profile, 4 guests (one unconfined, one
            // busy-polling; no vhost-net guests here), the run.
            total: 19,
            types: {
                "netbed:index:Host": 3,
                "netbed:index:VethPair": 2,
                "netbed:index:Bridge": 1,
                "netbed:index:Tap": 3,
                "netbed:index:MacvtapLink": 1,
                "netbed:index:Kernel": 1,
                "netbed:index:GuestImage": 1,
                "netbed:index:SecurityProfile": 1,
                "netbed:index:MicroVm": 4,
                "netbed:index:BenchmarkRun": 1,
            },
            hosts: ["server", "client", "external"],
            pairs: ["bare-metal", "virtio", "virtio-unconfined", "virtio-busy-poll", "macvtap"],
            cells: 5,
            check: (o) => {
                assert.deepEqual(
                    o.pps.map((r: any) => r.pair),
                    ["bare-metal", "virtio", "virtio-unconfined", "virtio-busy-poll", "macvtap"],
                );
                for (const r of o.pps) assert.ok(r.pps > 0 && r.cpuUsPerPacket > 0, JSON.stringify(r));
                // TCG: no VM exits to count, reported as null (not zero).
                for (const r of o.pps) assert.equal(r.vmExitsPerSecond, null);
                assert.notEqual(o.pps[1].security, "none");
                assert.equal(o.pps[2].security, "none");
                // 2 repetitions cannot reach alpha 0.01: said so, never "no change".
                assert.equal(o.confinement.verdict, "underpowered");
                // solo5's tables: the vhost-net rows absent with the reason, the polling guest's model as it ran.
                assert.deepEqual(
                    o.solo5Pps.slice(0, 2).map((r: any) => r.note),
                    ["not on this machine: no /dev/vhost-net", "not on this machine: no /dev/vhost-net"],
                );
                assert.equal(o.solo5Pps.find((r: any) => r.pair === "virtio-busy-poll").notification, "guest busy_poll=50 busy_read=50");
                assert.equal(o.solo5Pps.find((r: any) => r.pair === "virtio").notification, "event-driven");
                for (const r of o.solo5Models.filter((x: any) => x.pair))
                    assert.ok(r.vmExitsPerSecond === null && /^VM exits null: /.test(r.note), JSON.stringify(r));
            },
        },
        {
            dir: "kvm-matrix",
            prefix: "nbek",
            // The stack, the Testbed, 2 hosts, a wire, bridge, 4 taps, kernel, image, profile, 4 guests (2 pinned), the run.
            total: 18,
            types: {
                "netbed:index:Testbed": 1,
                "netbed:index:Host": 2,
                "netbed:index:VethPair": 1,
                "netbed:index:Bridge": 1,
                "netbed:index:Tap": 4,
                "netbed:index:MicroVm": 4,
                "netbed:index:BenchmarkRun": 1,
            },
            hosts: ["server", "client"],
            pairs: [
                "bare-metal",
                "pinned-host-guest",
                "pinned-guest-guest",
                "pinned-ext-guest",
                "unpinned-host-guest",
                "unpinned-guest-guest",
                "unpinned-ext-guest",
            ],
            cells: 56,
            check: (o) => {
                // 7 headline cells (the load cell is in knees) per pair.
                assert.equal(o.matrix.length, 49);
                assert.ok(o.matrix.some((r: any) => r.protocol === "ICMP" && r.size === 1400));
                assert.ok(o.matrix.filter((r: any) => r.serviceDemand).length > 0);
                assert.equal(o.knees.length, 7);
                for (const k of o.knees) assert.equal(k.sweep.length, 4);
            },
        },
    ];

    for (const ex of previews) {
        it(`examples/${ex.dir} previews its plan (${ex.total} resources) and creates nothing${fullUp ? ", then comes up for real" : ""}`, async function () {
            if (fullUp) this.timeout(1_800_000);
            const dir = path.join(EXAMPLES, ex.dir);
            const stackName = `pv${id}`;
            const prefix = `${ex.prefix}${id}`;
            nsPrefixes.push(prefix);
            cleanup.push(() => fs.rmSync(path.join(dir, `Pulumi.${stackName}.yaml`), { force: true }));
            const stack = await openStack({ stack: stackName, dir });
            await stack.setConfig("prefix", { value: prefix });
            let out = "";
            const r = await stack.preview({ color: "never", diff: true, onOutput: (s) => (out += s) });
            assert.equal(r.changeSummary.create, ex.total, out);
            const plan = plannedCreates(out);
            for (const [type, n] of Object.entries(ex.types)) assert.equal(plan.types[type] ?? 0, n, `${type} in\n${out}`);
            // Every namespace is named from the config, so two stacks of one example never collide.
            assert.deepEqual(plan.namespaces, ex.hosts.map((h) => `${prefix}-${h}`).sort());
            assert.deepEqual(plan.labels, ex.pairs);
            assert.deepEqual(
                netnsList().filter((n) => n.startsWith(prefix)),
                [],
                "a preview creates nothing",
            );
            if (fullUp) {
                const resultsDir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-results-"));
                cleanup.push(() => fs.rmSync(resultsDir, { recursive: true, force: true }));
                await stack.setConfig("resultsDir", { value: resultsDir });
                const t0 = Date.now();
                try {
                    const up = await stack.up({ color: "never" });
                    const o = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value as any]));
                    const doc = JSON.parse(fs.readFileSync(o.resultsPath, "utf8"));
                    assert.equal(doc.cells.length, ex.cells);
                    assert.deepEqual(
                        doc.cells.filter((c: any) => c.status !== "ok").map((c: any) => `${c.pair}/${c.cell}: ${c.error}`),
                        [],
                    );
                    ex.check(o);
                    console.log(`      ${ex.dir}: up ${((Date.now() - t0) / 1000).toFixed(1)} s`);
                } finally {
                    await stack.destroy({ color: "never" });
                }
                assert.deepEqual(
                    netnsList().filter((n) => n.startsWith(prefix)),
                    [],
                    "destroy removed every namespace",
                );
            }
            await stack.workspace.removeStack(stackName);
        });
    }

    it("examples/consumer, installed with npm by path, reads a producer stack's results through a StackReference", async () => {
        const consumerDir = path.join(EXAMPLES, "consumer");
        const modules = path.join(consumerDir, "node_modules");
        if (!fs.existsSync(modules)) cleanup.push(() => fs.rmSync(modules, { recursive: true, force: true }));
        const t0 = Date.now();
        const npm = spawnSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock"], {
            cwd: consumerDir,
            encoding: "utf8",
            timeout: 120_000,
        });
        assert.equal(npm.status, 0, `npm install --offline in ${consumerDir}: ${npm.stderr}`);
        assert.equal(fs.realpathSync(path.join(modules, "netbed")), ROOT, "netbed is linked from the checkout");
        assert.ok(fs.existsSync(path.join(modules, "netbed", "plugin", "pulumi-resource-netbed")), "the plugin path in Pulumi.yaml resolves");
        const installSeconds = (Date.now() - t0) / 1000;

        // The producer: the checkout's default program (project `testbed`) with a tiny stack file.
        const prefix = `nbec${id}`;
        nsPrefixes.push(prefix);
        const n = Math.floor(Math.random() * 200) + 20;
        const prodDir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-producer-"));
        cleanup.push(() => fs.rmSync(prodDir, { recursive: true, force: true }));
        fs.mkdirSync(path.join(prodDir, "stacks"));
        writeDefaultProject(prodDir);
        const producer = `prod${id}`;
        // JSON is YAML: the stack file in flow style.
        const config = {
            "testbed:hosts": { a: { kind: "netns", namespace: `${prefix}-a` }, b: { kind: "netns", namespace: `${prefix}-b` } },
            "testbed:fabric": {
                wires: {
                    w: { a: { host: "a", name: "eth0", addresses: [`10.98.${n}.1/24`] }, b: { host: "b", name: "eth0", addresses: [`10.98.${n}.2/24`] } },
                },
            },
            "testbed:benchmark": {
                tests: [{ kind: "tcp", streams: 1 }],
                settings: { duration: 1, repetitions: 1, warmup: 0 },
                resultsDir: path.join(prodDir, "results"),
                pairs: [{ label: "bare-metal", topology: "host-host", client: { host: "a" }, server: { host: "b", address: `10.98.${n}.2` } }],
            },
        };
        fs.writeFileSync(path.join(prodDir, "stacks", `Pulumi.${producer}.yaml`), `config: ${JSON.stringify(config)}\n`);
        const prod = await openStack({ stack: producer, dir: prodDir });
        const t1 = Date.now();
        const pUp = await prod.up({ color: "never" });
        const producerSeconds = (Date.now() - t1) / 1000;
        const prodResults = pUp.outputs.results.value as any;
        assert.equal(prodResults.cells.length, 1);
        assert.equal(prodResults.cells[0].status, "ok");
        assert.ok(prodResults.cells[0].metrics.gbps.median > 0);

        const consumer = `cons${id}`;
        cleanup.push(() => fs.rmSync(path.join(consumerDir, `Pulumi.${consumer}.yaml`), { force: true }));
        const cons = await openStack({ stack: consumer, dir: consumerDir });
        // The file backend's fully qualified name: organization/<project>/<stack>.
        await cons.setConfig("producer", { value: `organization/testbed/${producer}` });
        const t2 = Date.now();
        let out = "";
        const cUp = await cons.up({ color: "never", onOutput: (s) => (out += s) });
        const consumerSeconds = (Date.now() - t2) / 1000;
        assert.deepEqual(cUp.outputs.results.value, prodResults, out);
        assert.deepEqual(cUp.outputs.summary.value, pUp.outputs.summary.value);
        assert.deepEqual(cUp.outputs.failedCells.value, []);
        assert.ok((cUp.outputs.readOn.value as any).cores > 0, "the netbed Host declared through the node_modules plugin was probed");
        console.log(
            `      npm install ${installSeconds.toFixed(1)} s, producer up ${producerSeconds.toFixed(1)} s, consumer up ${consumerSeconds.toFixed(1)} s`,
        );

        // A name that is not a stack of this backend fails the consumer, naming it.
        await cons.setConfig("producer", { value: `organization/testbed/missing${id}` });
        await assert.rejects(cons.up({ color: "never" }), (e: Error) => new RegExp(`missing${id}`).test(e.message));

        await cons.destroy({ color: "never" });
        await cons.workspace.removeStack(consumer);
        await prod.destroy({ color: "never" });
        await prod.workspace.removeStack(producer);
        assert.deepEqual(
            netnsList().filter((x) => x.startsWith(prefix)),
            [],
            "destroy removed the producer's namespaces",
        );
    });
});
