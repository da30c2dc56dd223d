// Two stacks of one program on one machine, with the same logical names (test/fixtures/two-stacks):
// a SecurityProfile, a TCG guest it confines and the guest's tap, all on the machine's own network
// stack. The second stack's up, refresh and destroy must leave the first's VMM, run directory,
// filter, bridge and tap as they were, and the first's refresh must find nothing changed.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { sha256Hex } from "../../core/hash";
import { parseProcStat } from "../../core/procstat";
import { openStack } from "../../scripts/engine";
import { sh, tempBackend, uniq } from "../helpers";

const FIXTURE = path.join(__dirname, "..", "fixtures", "two-stacks");

interface Deployed {
    pid: number;
    start: string;
    dir: string;
    tap: string;
    bridge: string;
    filterPath: string;
    filterSha256: string;
}

/** A live process's start time; undefined when it is gone or a zombie (dead, not yet reaped). */
function startOf(pid: number): string | undefined {
    try {
        const p = parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
        return p?.state === "Z" ? undefined : p?.startTime;
    } catch {
        return undefined;
    }
}

const linkExists = (name: string) => sh(["ip", "link", "show", "dev", name]).code === 0;

/** Everything of a deployed stack is there as it was: the same VMM process, its files, its filter, its links. */
function assertIntact(d: Deployed, who: string): void {
    assert.equal(startOf(d.pid), d.start, `${who}'s VMM (pid ${d.pid}) is still the one it started`);
    assert.ok(fs.existsSync(`${d.dir}/console.log`) && fs.existsSync(`${d.dir}/pid`), `${who}'s run directory ${d.dir} is there`);
    assert.equal(fs.readFileSync(`${d.dir}/pid`, "utf8").trim(), String(d.pid));
    assert.equal(sha256Hex(fs.readFileSync(d.filterPath)), d.filterSha256, `${who}'s filter ${d.filterPath} is there, unchanged`);
    assert.ok(linkExists(d.bridge) && linkExists(d.tap), `${who}'s bridge ${d.bridge} and tap ${d.tap} are there`);
}

describe("attack: two stacks of one program on one machine never touch each other's objects", function () {
    this.timeout(600_000);
    const u = uniq();
    const names = [`s11sa${u}`, `s11sb${u}`];
    const stacks: Stack[] = [];
    const deployed: Deployed[] = [];
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);

    before(() => {
        if (!fs.existsSync(path.join(__dirname, "..", "..", "dist", "providers", "runtime", "main.js")))
            throw new Error("the provider is not built: run `npm run build`");
    });
    // Registered before tempBackend's, so it runs while the stacks' backend is still there.
    after(async () => {
        for (const s of stacks) await s.destroy({ onOutput, color: "never" }).catch(() => undefined);
        // What a failed destroy left: the VMMs this test started (same pid and start time), their taps, the bridges.
        for (const d of deployed) {
            if (startOf(d.pid) === d.start) process.kill(d.pid, "SIGKILL");
            for (const l of [d.tap, d.bridge]) sh(["ip", "link", "del", "dev", l]);
        }
        for (const n of names) fs.rmSync(path.join(FIXTURE, `Pulumi.${n}.yaml`), { force: true });
    });
    tempBackend();

    async function up(name: string): Promise<Deployed> {
        const stack = await openStack({ stack: name, dir: FIXTURE });
        stacks.push(stack);
        await stack.setConfig("bridge", { value: name });
        const r = await stack.up({ onOutput, color: "never" });
        assert.equal(r.summary.result, "succeeded", log.join(""));
        const o = Object.fromEntries(Object.entries(r.outputs).map(([k, v]) => [k, v.value]));
        const start = startOf(o.pid);
        assert.ok(start, `stack ${name}'s VMM runs`);
        const d = { pid: o.pid, start, dir: path.dirname(o.consoleLog), tap: o.tap, bridge: name, filterPath: o.filterPath, filterSha256: o.filterSha256 };
        deployed.push(d);
        return d;
    }

    it("up both; refresh and destroy the second: the first's VMM, run directory, filter and links are untouched and its refresh shows no drift", async () => {
        const a = await up(names[0]);
        const b = await up(names[1]);
        assertIntact(a, "the first stack");
        assert.notEqual(a.dir, b.dir, "each guest has a run directory of its own");
        assert.notEqual(a.filterPath, b.filterPath, "each profile has a filter of its own");
        assert.notEqual(a.tap, b.tap);

        const refreshB = await stacks[1].refresh({ onOutput, color: "never" });
        assert.deepEqual(Object.keys(refreshB.summary.resourceChanges ?? {}), ["same"], log.join(""));
        const destroyB = await stacks[1].destroy({ onOutput, color: "never" });
        assert.equal(destroyB.summary.result, "succeeded");
        assert.equal(startOf(b.pid), undefined, "the second stack's VMM is gone");
        assert.ok(!fs.existsSync(b.dir) && !fs.existsSync(b.filterPath) && !linkExists(b.tap) && !linkExists(b.bridge), "the second stack left nothing");

        assertIntact(a, "the first stack");
        const refreshA = await stacks[0].refresh({ onOutput, color: "never" });
        assert.deepEqual(Object.keys(refreshA.summary.resourceChanges ?? {}), ["same"], `the first stack's refresh changed something:\n${log.join("")}`);
        const destroyA = await stacks[0].destroy({ onOutput, color: "never" });
        assert.equal(destroyA.summary.result, "succeeded");
        assert.equal(startOf(a.pid), undefined);
        assert.ok(!fs.existsSync(a.dir) && !fs.existsSync(a.filterPath) && !linkExists(a.tap) && !linkExists(a.bridge), "the first stack left nothing");
        for (const s of stacks.splice(0)) await s.workspace.removeStack(s.name);
    });
});
