// Faults around a guest on the real engine (test/fixtures/faults-vm: a netns host with a bridge,
// one 1-vCPU TCG guest on it, a BenchmarkRun of 1-s TCP cells from the guest to the host): the
// guest's VMM killed during a benchmark, and `pulumi up` killed while the guest boots. Each asserts
// the expected outcome, then that destroy leaves nothing: no namespace, link, VMM, benchmark server,
// /run/netbed record or plugin process.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { READY_PREFIX } from "../../core/guestinit";
import { openStack } from "../../scripts/engine";
import { dropNetns, netnsList, uniq } from "../helpers";
import { alive, clearPending, cmdline, destroyClean, engineSuite, interrupt, Leftovers, sleep, upInChild, walk } from "../helpers/engine";

const FIXTURE = path.join(__dirname, "..", "fixtures", "faults-vm");

/** The run directory netbed gives the fixture's guest (MicroVm "vm" on host namespace `ns`): "vm-" and its URN's hash. */
function vmDir(ns: string): string {
    const parent = `/run/netbed/vms/netns-${ns}`;
    const found = fs.existsSync(parent) ? fs.readdirSync(parent).filter((d) => /^vm-[0-9a-f]{12}$/.test(d)) : [];
    return `${parent}/${found[0] ?? "vm"}`;
}

/** The VMM pid the stack's own guest recorded in its run directory, if it wrote one. */
function vmmPid(ns: string): number | undefined {
    try {
        const pid = Number(fs.readFileSync(`${vmDir(ns)}/pid`, "utf8").trim());
        return pid > 1 ? pid : undefined;
    } catch {
        return undefined;
    }
}

function netnsOf(pid: number): string {
    try {
        return fs.readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
        return "";
    }
}

/** Live QEMU processes in a namespace (by the namespace's inode, as /proc/<pid>/ns/net shows it). */
function qemusIn(nsLink: string): number[] {
    return fs
        .readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .map(Number)
        .filter((p) => netnsOf(p) === nsLink && /qemu-system/.test(cmdline(p)) && alive(p));
}

/** The stack's references to cached kernels and images (each ref file holds the URN that took it). */
function cacheRefs(stack: string): string[] {
    return ["kernels", "images"]
        .flatMap((kind) => walk(`/var/cache/netbed/${kind}`))
        .filter((f) => /\/refs\/[^/]+$/.test(f))
        .filter((f) => {
            try {
                return fs.readFileSync(f, "utf8").startsWith(`urn:pulumi:${stack}::`);
            } catch {
                return false;
            }
        });
}

describe("guest faults on the real engine", function () {
    this.timeout(600_000);
    const { log, onOutput, tail, cleanup } = engineSuite();

    async function stackFor(tag: string, config: Record<string, string>): Promise<{ stack: Stack; ns: string; left: Leftovers }> {
        const id = uniq();
        const prefix = `nbv${tag}${id}`;
        const stackName = `v${tag}${id}`;
        const stack = await openStack({ stack: stackName, dir: FIXTURE });
        const net = String(Math.floor(Math.random() * 200) + 20);
        await stack.setAllConfig(Object.fromEntries(Object.entries({ prefix, net, ...config }).map(([k, v]) => [k, { value: v }])));
        cleanup.push(() => {
            // dropNetns kills a VMM only by the pid file of this stack's own guest.
            dropNetns(`${prefix}-h`);
            for (const f of cacheRefs(stackName)) fs.rmSync(f, { force: true });
            fs.rmSync(path.join(FIXTURE, `Pulumi.${stackName}.yaml`), { force: true });
        });
        return { stack, ns: `${prefix}-h`, left: new Leftovers(prefix) };
    }

    function results(): { dir: string; raws: () => string[] } {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-results-"));
        cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
        return { dir, raws: () => walk(dir).filter((f) => /\/rep-\d+\.json$/.test(f)) };
    }

    it("a guest's VMM killed during a benchmark: the run fails naming the guest and the cell, keeps finished cells, and the next up replaces the guest", async () => {
        const cells = 4;
        const { dir, raws } = results();
        const { stack, ns, left } = await stackFor("k", { resultsDir: dir, cells: String(cells) });
        let done = false;
        const up = stack
            .up({ onOutput, color: "never" })
            .then(
                () => "",
                (e) => String(e),
            )
            .finally(() => (done = true));
        // Once two cells are on disk, the third is being measured: kill the stack's own VMM.
        while (!done && raws().length < 2) await sleep(20);
        const pid = vmmPid(ns);
        assert.ok(pid && /qemu-system/.test(cmdline(pid)), `the stack's guest has a running VMM (${tail()})`);
        const nsLink = netnsOf(pid!);
        assert.notEqual(nsLink, fs.readlinkSync("/proc/self/ns/net"), "the VMM runs in the stack's namespace");
        left.note();
        process.kill(pid!, "SIGKILL");
        const killedPid = pid!;
        const err = await up;
        assert.ok(err !== "", "the up whose guest died failed");
        const cell = /during cell (tcp-\d+) of pair g2h/.exec(err)?.[1];
        assert.ok(cell, `the error names the cell: ${err.slice(-1200)}`);
        assert.match(err, new RegExp(`guest vm's VMM \\(pid ${killedPid}\\) died`), err.slice(-1200));
        assert.ok(err.includes(`finished cells are kept under ${dir}`), `the error says where the finished cells are: ${err.slice(-1200)}`);
        const kept = raws();
        assert.ok(kept.length >= 2 && kept.length < cells, `finished cells are on disk: ${kept.join(", ")}`);
        for (const f of kept) assert.ok(JSON.parse(fs.readFileSync(f, "utf8")).end, `${f} is a whole iperf3 document`);
        assert.ok(!kept.some((f) => f.includes(`/${cell}/`)), `the cell the guest died in (${cell}) has no raw data`);
        const before = new Map(kept.map((f) => [f, fs.readFileSync(f, "utf8")]));
        // The failed run stopped its host-side iperf3 server; nothing but the dead guest's leftovers.
        assert.deepEqual(
            left.list().filter((l) => l.startsWith("process")),
            [],
            "no process left in the namespace after the failed run",
        );

        // The next plain `up` (no refresh) sees the dead VMM, replaces the guest and measures again.
        const mark = log.length;
        const again = await stack.up({ onOutput, color: "never" });
        assert.equal(again.summary.result, "succeeded", tail());
        assert.match(log.slice(mark).join(""), new RegExp(`guest 'vm': its VMM \\(pid ${killedPid}\\) on host 'h' is no longer running: replacing it`));
        assert.equal(again.summary.resourceChanges?.replace, 1, `the guest was replaced: ${JSON.stringify(again.summary.resourceChanges)}`);
        const newPid = again.outputs.pid.value as number;
        assert.notEqual(newPid, killedPid);
        assert.ok(alive(newPid) && /qemu-system/.test(cmdline(newPid)), "the new guest's VMM runs");
        assert.equal(vmmPid(ns), newPid, "the run directory records the new VMM");
        assert.deepEqual(qemusIn(nsLink), [newPid], "one VMM in the namespace: the new one");
        assert.deepEqual(
            (again.outputs.cells.value as string[]).sort(),
            Array.from({ length: cells }, (_, k) => `tcp-${k + 1}/ok`),
        );
        for (const [f, text] of before) assert.equal(fs.readFileSync(f, "utf8"), text, `${f} kept as measured`);
        // The guest's agent key (in its own initrd) is a secret in the state: nowhere in plain text,
        // neither in the MicroVm's outputs nor in the BenchmarkRun's endpoints.
        const key = /netbed-agent\.key\0+([0-9a-f]{64})\n/.exec(fs.readFileSync(`${vmDir(ns)}/initrd`, "latin1"))?.[1];
        assert.ok(key, "the VM's initrd carries its agent key");
        // The export shows secrets decrypted, each inside Pulumi's secret envelope: outside those, nowhere.
        const exported = JSON.stringify(await stack.exportStack());
        const state = exported.replace(/\{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","plaintext":"(?:[^"\\]|\\.)*"\}/g, "SECRET");
        assert.ok(exported.includes(key) && state.includes('"agentSocket"'), "the state holds the guest's agent outputs");
        const at = state.indexOf(key);
        assert.equal(at, -1, `the agent key is stored only encrypted, not in plain text: ...${state.slice(Math.max(0, at - 600), at + 80)}`);
        const again2 = await stack.preview({ onOutput, color: "never" });
        assert.deepEqual(Object.keys(again2.changeSummary), ["same"], "converged: a second preview changes nothing");

        assert.equal(cacheRefs(stack.name).length, 2, "the kernel and image hold a cache reference each");
        await destroyClean(stack, left, onOutput);
        assert.deepEqual(cacheRefs(stack.name), [], "destroy dropped the stack's cache references");
        assert.ok(!alive(newPid), "destroy stopped the new VMM");
        assert.ok(!fs.existsSync(vmDir(ns)), "destroy removed the guest's run directory");
        console.log(
            `      VMM ${killedPid} killed in cell ${cell} with ${kept.length} of ${cells} cells on disk; next up replaced it (pid ${newPid}); 0 left after destroy`,
        );
    });

    it("up killed (SIGKILL of the pulumi CLI) while the guest boots: cancel, pending operations cleared, refresh and up converge, destroy leaves nothing", async () => {
        const cells = 2;
        const { dir } = results();
        const { stack, ns, left } = await stackFor("b", { resultsDir: dir, cells: String(cells) });
        let bootPid = 0;
        let nsLink = "";
        const { err, killed } = await interrupt(upInChild(stack, FIXTURE, onOutput), "SIGKILL", () => {
            // The VMM runs and the guest has not printed its readiness line yet.
            const pid = vmmPid(ns);
            if (!pid || !/qemu-system/.test(cmdline(pid))) return false;
            const log = fs.existsSync(`${vmDir(ns)}/console.log`) ? fs.readFileSync(`${vmDir(ns)}/console.log`, "utf8") : "";
            if (log.includes(READY_PREFIX)) return false;
            bootPid = pid;
            nsLink = netnsOf(pid);
            left.note();
            return true;
        });
        assert.equal(killed.length, 1, `one CLI was killed while the guest booted (${tail()})`);
        assert.ok(err !== "", "the killed up failed");
        assert.ok(bootPid > 0 && nsLink !== "");

        await stack.cancel();
        const pending = await clearPending(stack);
        assert.ok(pending > 0, "a killed update leaves pending operations");
        await stack.refresh({ onOutput, color: "never" });
        const mark = log.length;
        const up = await stack.up({ onOutput, color: "never" });
        assert.equal(up.summary.result, "succeeded", tail());
        // The guest is not in the state (its create never returned): creating it again finds its VMM.
        assert.match(log.slice(mark).join(""), new RegExp(`VMM pid ${bootPid} of an interrupted create is still running: killing it`));
        const pid = up.outputs.pid.value as number;
        assert.ok(alive(pid) && /qemu-system/.test(cmdline(pid)), "the guest's VMM runs");
        // The VMM the killed update started is not left running beside the new one.
        assert.deepEqual(qemusIn(nsLink), [pid], `one VMM in the namespace (the killed update's was ${bootPid})`);
        assert.deepEqual(
            (up.outputs.cells.value as string[]).sort(),
            Array.from({ length: cells }, (_, k) => `tcp-${k + 1}/ok`),
        );
        const again = await stack.preview({ onOutput, color: "never" });
        assert.deepEqual(Object.keys(again.changeSummary), ["same"], "converged: a second preview changes nothing");

        assert.equal(cacheRefs(stack.name).length, 2, "the kernel and image hold a cache reference each");
        await destroyClean(stack, left, onOutput);
        assert.deepEqual(cacheRefs(stack.name), [], "destroy dropped the stack's cache references");
        assert.ok(!alive(bootPid) && !alive(pid), "no VMM left");
        assert.ok(!netnsList().includes(ns));
        console.log(`      killed while VMM ${bootPid} booted: ${pending} pending operation(s) cleared; converged (VMM ${pid}); 0 left after destroy`);
    });
});
