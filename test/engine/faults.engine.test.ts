// Faults injected into real engine runs (test/fixtures/faults: two netns hosts, a veth, a bridge
// with many taps, a BenchmarkRun of 1-s cells): the CLI killed or interrupted mid-update, the
// provider plugin killed mid-benchmark, two updates at once, a foreign link in the way, a full
// results disk. Each asserts the expected outcome, then that destroy leaves nothing behind:
// no namespace, link, process in the stack's namespaces, /run/netbed record or plugin process.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { engineBinDir, openStack } from "../../scripts/engine";
import { progressFile } from "../../providers/benchmark/resume";
import { dropNetns, must, netnsList, sh, uniq } from "../helpers";
import {
    BACKEND_LOCKS,
    clearPending,
    destroyClean as destroyCleanWith,
    engineSuite,
    interrupt,
    Leftovers,
    pluginPids,
    sleep,
    upInChild,
    walk,
} from "../helpers/engine";

const FIXTURE = path.join(__dirname, "..", "fixtures", "faults");

function tapsIn(ns: string): string[] {
    const r = sh(["ip", "-n", ns, "-json", "link", "show", "type", "tun"]);
    return r.code === 0 ? (JSON.parse(r.stdout || "[]") as any[]).map((l) => l.ifname) : [];
}

describe("faults on the real engine", function () {
    this.timeout(900_000);
    const { onOutput, tail, cleanup, backend } = engineSuite();

    async function stackFor(tag: string, config: Record<string, string>): Promise<{ stack: Stack; prefix: string; left: Leftovers }> {
        const id = uniq();
        const prefix = `nbf${tag}${id}`;
        const stackName = `f${tag}${id}`;
        const stack = await openStack({ stack: stackName, dir: FIXTURE });
        const net = String(Math.floor(Math.random() * 200) + 20);
        await stack.setAllConfig(Object.fromEntries(Object.entries({ prefix, net, ...config }).map(([k, v]) => [k, { value: v }])));
        cleanup.push(() => {
            dropNetns(`${prefix}-a`);
            dropNetns(`${prefix}-b`);
            fs.rmSync(path.join(FIXTURE, `Pulumi.${stackName}.yaml`), { force: true });
        });
        return { stack, prefix, left: new Leftovers(prefix, config.rootTap ? [config.rootTap] : []) };
    }

    const destroyClean = (stack: Stack, left: Leftovers) => destroyCleanWith(stack, left, onOutput);

    for (const signal of ["SIGKILL", "SIGINT"] as const) {
        it(`up interrupted by ${signal} of the pulumi CLI while it creates 48 taps: refresh and up converge, destroy leaves nothing`, async () => {
            const taps = 48;
            const { stack, prefix, left } = await stackFor(signal === "SIGKILL" ? "k" : "i", { taps: String(taps) });
            const ns = `${prefix}-a`;
            let atKill = -1;
            const { err, killed } = await interrupt(upInChild(stack, FIXTURE, onOutput), signal, () => {
                const n = tapsIn(ns).length;
                if (n > 0) {
                    left.note();
                    atKill = n;
                    return true;
                }
                return false;
            });
            assert.equal(killed.length, 1, `one CLI was interrupted (${tail()})`);
            assert.ok(atKill > 0 && atKill < taps, `interrupted mid-fabric (${atKill} of ${taps} taps existed)`);
            assert.ok(err !== "", "the interrupted up failed");
            if (signal === "SIGINT") assert.match(err, /cancel|interrupt|signal/i, err.slice(-800));

            const locks = walk(BACKEND_LOCKS(backend())).filter((f) => f.endsWith(".json"));
            let pending = 0;
            if (signal === "SIGKILL") {
                // A killed CLI cannot release the backend's lock: the next operation is refused
                // until `pulumi cancel` (the Automation API's cancel()) removes it, as Pulumi documents.
                assert.equal(locks.length, 1, "the killed update's lock is still there");
                const blocked = await stack.refresh({ onOutput, color: "never" }).then(
                    () => "",
                    (e) => String(e),
                );
                assert.match(blocked, /the stack is currently locked by 1 lock\(s\)/, blocked.slice(-800));
                await stack.cancel();
                assert.deepEqual(
                    walk(BACKEND_LOCKS(backend())).filter((f) => f.endsWith(".json")),
                    [],
                    "cancel removed the stale lock",
                );
                pending = await clearPending(stack);
                assert.ok(pending > 0, "a killed update leaves pending operations");
            } else {
                assert.deepEqual(locks, [], "a cancelled update releases its lock");
                pending = await clearPending(stack);
            }
            await stack.refresh({ onOutput, color: "never" });
            const up = await stack.up({ onOutput, color: "never" });
            assert.equal(up.summary.result, "succeeded", tail());
            assert.equal(tapsIn(ns).length, taps);
            const again = await stack.preview({ onOutput, color: "never" });
            assert.deepEqual(Object.keys(again.changeSummary), ["same"], "converged: a second preview changes nothing");
            await destroyClean(stack, left);
            console.log(`      ${signal}: ${atKill}/${taps} taps at the interruption, ${pending} pending operation(s) cleared, 0 left after destroy`);
        });
    }

    // The converge tests come first: a failed up leaves its in-process program with RPCs to an
    // engine that is gone, which can still disturb a later program in this process.
    it("up killed (SIGKILL of the CLI) right after a host's namespace appears: cancel, refresh and up converge, destroy leaves nothing", async () => {
        const { stack, prefix, left } = await stackFor("h", {});
        const { err, killed } = await interrupt(upInChild(stack, FIXTURE, onOutput), "SIGKILL", () => netnsList().includes(`${prefix}-a`));
        assert.equal(killed.length, 1);
        assert.ok(err !== "");
        left.note();
        await stack.cancel();
        const pending = await clearPending(stack);
        await stack.refresh({ onOutput, color: "never" });
        const up = await stack.up({ onOutput, color: "never" });
        assert.equal(up.summary.result, "succeeded", tail());
        await destroyClean(stack, left);
        console.log(`      killed as the namespace appeared: ${pending} pending operation(s) cleared, 0 left after destroy`);
    });

    it("the provider plugin killed during a BenchmarkRun's third cell: finished cells stay on disk, refresh + up resume, destroy leaves nothing", async () => {
        const results = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-results-"));
        cleanup.push(() => fs.rmSync(results, { recursive: true, force: true }));
        const { stack, left } = await stackFor("p", { resultsDir: results, cells: "4" });
        const raws = () => walk(results).filter((f) => /\/rep-\d+\.json$/.test(f));
        const { err, killed } = await interrupt(
            stack.up({ onOutput, color: "never" }),
            "SIGKILL",
            () => {
                if (raws().length >= 2) {
                    left.note();
                    return true;
                }
                return false;
            },
            pluginPids,
        );
        assert.ok(killed.length >= 1, `the plugin was killed (${tail()})`);
        assert.ok(err !== "", "the up whose plugin died failed");
        const kept = raws();
        assert.ok(kept.length >= 2 && kept.length < 4, `finished cells are on disk: ${kept.join(", ")}`);
        const before = new Map(kept.map((f) => [f, fs.statSync(f).mtimeMs]));
        // The CLI exits normally after a plugin failure: its lock is released.
        assert.deepEqual(
            walk(BACKEND_LOCKS(backend())).filter((f) => f.endsWith(".json")),
            [],
        );
        const pending = await clearPending(stack);
        await stack.refresh({ onOutput, color: "never" });
        const up = await stack.up({ onOutput, color: "never" });
        assert.equal(up.summary.result, "succeeded", tail());
        assert.deepEqual((up.outputs.cells.value as string[]).sort(), ["tcp-1/ok", "tcp-2/ok", "tcp-3/ok", "tcp-4/ok"].sort());
        for (const [f, t] of before) assert.equal(fs.statSync(f).mtimeMs, t, `${f} was kept, not measured again`);
        await destroyClean(stack, left);
        console.log(`      plugin killed with ${kept.length} of 4 cells on disk, ${pending} pending operation(s) cleared; resumed, 0 left after destroy`);
    });

    it("two ups on one stack at once: the second is refused by the backend's lock, the first completes", async () => {
        const { stack, prefix, left } = await stackFor("l", { taps: "24" });
        const second = await openStack({ stack: stack.name, dir: FIXTURE });
        const first = stack.up({ onOutput, color: "never" });
        // The second starts once the first holds the lock.
        for (let n = 0; n < 600 && walk(BACKEND_LOCKS(backend())).filter((f) => f.endsWith(".json")).length === 0; n++) await sleep(20);
        const refused = await second.up({ onOutput, color: "never" }).then(
            () => "",
            (e) => String(e),
        );
        assert.match(refused, /the stack is currently locked by 1 lock\(s\)/, refused.slice(-800));
        const up = await first;
        assert.equal(up.summary.result, "succeeded");
        assert.equal(tapsIn(`${prefix}-a`).length, 24);
        await destroyClean(stack, left);
    });

    it("a tap name taken by a link netbed does not own: create fails naming it, and neither up nor destroy deletes the foreign link", async () => {
        const name = `nbx${uniq()}`.slice(0, 15);
        must(["ip", "tuntap", "add", "dev", name, "mode", "tap"]);
        cleanup.push(() => void sh(["ip", "link", "del", "dev", name]));
        const ifindex = JSON.parse(must(["ip", "-json", "link", "show", "dev", name]))[0].ifindex;
        const { stack, left } = await stackFor("x", { rootTap: name });
        const err = await stack.up({ onOutput, color: "never" }).then(
            () => "",
            (e) => String(e),
        );
        assert.match(err, new RegExp(`an interface named '${name}' already exists and netbed did not create it`), err.slice(-800));
        assert.equal(JSON.parse(must(["ip", "-json", "link", "show", "dev", name]))[0].ifindex, ifindex, "the foreign link is untouched");
        left.note();
        await stack.destroy({ onOutput, color: "never" });
        assert.equal(JSON.parse(must(["ip", "-json", "link", "show", "dev", name]))[0].ifindex, ifindex, "destroy left the foreign link");
        assert.deepEqual(left.list(), []);
        await stack.workspace.removeStack(stack.name);
    });

    it("a results disk that fills up mid-run: the run fails naming the file and ENOSPC, keeps the cells it wrote, and resumes once there is room", async () => {
        const mnt = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-full-"));
        must(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mnt]);
        cleanup.push(() => {
            sh(["umount", mnt]);
            fs.rmSync(mnt, { recursive: true, force: true });
        });
        const filler = path.join(mnt, "filler");
        const raws = () => walk(mnt).filter((f) => /\/rep-\d+\.json$/.test(f));
        const { stack, left } = await stackFor("d", { resultsDir: mnt, cells: "3" });
        let done = false;
        const up = stack
            .up({ onOutput, color: "never" })
            .then(
                () => "",
                (e) => String(e),
            )
            .finally(() => (done = true));
        // Once the first cell is on disk, fill the disk (dd stops at ENOSPC).
        while (!done && raws().length === 0) await sleep(20);
        sh(["dd", "if=/dev/zero", `of=${filler}`, "bs=4k"]);
        const err = await up;
        assert.match(err, /ENOSPC|No space left/, err.slice(-800));
        assert.ok(err.includes(mnt), `the error names the file it could not write: ${err.slice(-600)}`);
        const kept = raws();
        assert.ok(kept.length >= 1, "the first cell is kept");
        const before = new Map(kept.map((f) => [f, fs.readFileSync(f, "utf8")]));
        for (const [f, text] of before) assert.ok(JSON.parse(text).end, `${f} is a whole iperf3 document`);
        fs.rmSync(filler);
        const again = await stack.up({ onOutput, color: "never" });
        assert.equal(again.summary.result, "succeeded", tail());
        // Read back from the state too: CI once saw an up that succeeded without this output.
        const outs = again.outputs.cells ? again.outputs : await stack.outputs();
        assert.ok(outs.cells, `no 'cells' output (outputs: ${Object.keys(outs).join(", ")}): ${tail()}`);
        assert.deepEqual((outs.cells.value as string[]).sort(), ["tcp-1/ok", "tcp-2/ok", "tcp-3/ok"]);
        for (const [f, text] of before) assert.equal(fs.readFileSync(f, "utf8"), text, `${f} kept as measured`);
        assert.deepEqual(
            walk(mnt).filter((f) => /\.tmp-/.test(f)),
            [],
            "no partial temporary files",
        );
        await destroyClean(stack, left);
    });

    it("a host without iperf3 (not on the PATH the engine and provider run with): the run fails naming the tool and the host, nothing else is harmed", async () => {
        // This machine with iperf3 uninstalled, as far as any command can tell: a PATH of links to
        // every other program, which the provider inherits and `ip netns exec` searches.
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-noiperf-"));
        cleanup.push(() => fs.rmSync(bin, { recursive: true, force: true }));
        const savedPath = process.env.PATH!;
        cleanup.push(() => (process.env.PATH = savedPath));
        const dirs = [path.dirname(process.execPath), ...savedPath.split(":")];
        for (const d of dirs) {
            let names: string[] = [];
            try {
                names = fs.readdirSync(d);
            } catch {
                continue;
            }
            for (const n of names)
                if (n !== "iperf3" && fs.lstatSync(path.join(bin, n), { throwIfNoEntry: false }) === undefined)
                    fs.symlinkSync(path.join(d, n), path.join(bin, n));
        }
        const results = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-results-"));
        cleanup.push(() => fs.rmSync(results, { recursive: true, force: true }));
        const id = uniq();
        const prefix = `nbft${id}`;
        const stackName = `ft${id}`;
        const stack = await openStack({ stack: stackName, dir: FIXTURE, env: { PATH: `${engineBinDir()}:${bin}` } });
        cleanup.push(() => {
            dropNetns(`${prefix}-a`);
            dropNetns(`${prefix}-b`);
            fs.rmSync(path.join(FIXTURE, `Pulumi.${stackName}.yaml`), { force: true });
        });
        const left = new Leftovers(prefix);
        assert.notEqual(sh(["sh", "-c", "command -v iperf3"]).code, 0, "iperf3 is gone from the PATH");
        await stack.setAllConfig({
            prefix: { value: prefix },
            net: { value: String(Math.floor(Math.random() * 200) + 20) },
            resultsDir: { value: results },
            cells: { value: "1" },
        });
        const err = await stack.up({ onOutput, color: "never" }).then(
            () => "",
            (e) => String(e),
        );
        assert.match(err, /iperf3/, err.slice(-800));
        assert.match(err, /host '?[ab]'?/, `the error names the host: ${err.slice(-800)}`);
        assert.match(err, /not (installed|found)|No such file or directory/i, `the error says the tool is missing: ${err.slice(-800)}`);
        // The rest of the testbed came up and stays usable.
        assert.equal(sh(["ip", "netns", "exec", `${prefix}-b`, "ping", "-c", "1", "-W", "2", `10.${(await stack.getConfig("net")).value}.0.1`]).code, 0);
        await destroyClean(stack, left);
    });

    it("files an up writes (records under /run/netbed, results): links planted at their names are not followed, nothing is group- or world-writable", async () => {
        const results = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-results-"));
        const victim = path.join(results, "..", `${path.basename(results)}-victim`);
        fs.writeFileSync(victim, "not netbed's\n");
        cleanup.push(() => {
            fs.rmSync(results, { recursive: true, force: true });
            fs.rmSync(victim, { force: true });
        });
        const { stack, prefix, left } = await stackFor("s", { taps: "1", resultsDir: results, cells: "1" });
        // Links where netbed will write its namespace record, a tap's owner record and the run's progress file.
        const planted = [
            `/run/netbed/owned/netns-${prefix}-a`,
            `/run/netbed/owned/links/netns-${prefix}-a/link-tap0`,
            progressFile(results, { name: "bench", urn: `urn:pulumi:${stack.name}::netbed-test-faults::netbed:index:BenchmarkRun::bench` }),
        ];
        cleanup.push(() => {
            for (const f of planted) fs.rmSync(f, { force: true });
        });
        for (const f of planted) {
            fs.mkdirSync(path.dirname(f), { recursive: true });
            fs.symlinkSync(victim, f);
        }
        const up = await stack.up({ onOutput, color: "never" });
        assert.equal(up.summary.result, "succeeded", tail());
        assert.equal(fs.readFileSync(victim, "utf8"), "not netbed's\n", "a planted link was written through");
        // Each is netbed's own file now, or gone (a finished run drops its progress file).
        for (const f of planted) assert.ok(!fs.existsSync(f) || fs.lstatSync(f).isFile(), `${f} is still a link`);
        const written = [...walk("/run/netbed").filter((f) => f.includes(prefix)), ...walk(results)];
        assert.ok(written.length >= 6, written.join(" "));
        const loose = written.filter((f) => (fs.lstatSync(f).mode & 0o022) !== 0);
        assert.deepEqual(loose, [], "group- or world-writable");
        await destroyClean(stack, left);
    });
});
