// The hardware path end to end: the sim-e2288g stack (the xeon-e2288g file with only what this
// machine cannot have changed) on two simulated machines reached over SSH only, on the real engine.
// The machines' /run/netbed, /tmp and cache are their own: a file netbed wrote on a machine and
// read here (or the reverse) fails. The machines' disks keep the kernel cache between runs, as a
// lab machine's would: the first run on a machine builds the minimal kernel on m1 and on m2 (many minutes).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import type { Stack } from "@pulumi/pulumi/automation";
import { identityOf } from "../../core/procstat";
import { planMachine } from "../../core/sim";
import { ROOT, openStack } from "../../scripts/engine";
import { main as sim, simStackYaml } from "../../scripts/sim";
import { isRoot, must, tempBackend, writeDefaultProject } from "../helpers";
import { clearPending, interrupt, walk } from "../helpers/engine";

const M1 = planMachine(1, 2);
const M2 = planMachine(2, 2);

/** A project running the checkout's default program with one stack file. */
function project(stack: string, yaml: string, results: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-sim-"));
    fs.mkdirSync(path.join(dir, "stacks"));
    writeDefaultProject(dir);
    fs.writeFileSync(
        path.join(dir, "stacks", `Pulumi.${stack}.yaml`),
        yaml.replace("  testbed:benchmark:\n", `  testbed:benchmark:\n    resultsDir: ${results}\n`),
    );
    return dir;
}

/** Runs a command on a simulated machine over its own SSH (what an admin of the lab would do). */
function onMachine(m: { address: string }, cmd: string): string {
    const r = spawnSync(
        "ssh",
        [
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "IdentityAgent=/run/netbed-sim/agent.sock",
            `root@${m.address}`,
            cmd,
        ],
        { encoding: "utf8" },
    );
    return r.stdout;
}

/** Every sshd of a simulated machine (its listener and its sessions): what a crashed sshd takes down. */
function sshdPids(m: { namespace: string }): number[] {
    return spawnSync("ip", ["netns", "pids", m.namespace], { encoding: "utf8" })
        .stdout.split("\n")
        .filter(Boolean)
        .map(Number)
        .filter((p) => {
            try {
                return fs.readFileSync(`/proc/${p}/comm`, "utf8").trim() === "sshd";
            } catch {
                return false;
            }
        });
}

/** Kills the machine's sshd processes and waits until they have ended: a kill is delivered
 *  asynchronously, and `sim up` would otherwise still see the old daemon and start none. */
async function killSshd(m: { namespace: string }): Promise<void> {
    const pids = sshdPids(m);
    for (const p of pids) process.kill(p, "SIGKILL");
    const deadline = Date.now() + 10_000;
    while (pids.some(running)) {
        if (Date.now() > deadline) throw new Error(`sshd ${pids.join(", ")} still running 10 s after SIGKILL`);
        await new Promise((r) => setTimeout(r, 50));
    }
}

function running(pid: number): boolean {
    try {
        return identityOf(fs.readFileSync(`/proc/${pid}/stat`, "utf8")) !== undefined;
    } catch {
        return false;
    }
}

/** Whether a process runs in a simulated machine (the machines share this one's pid space). */
function runsOn(m: { namespace: string }, pid: number): boolean {
    return spawnSync("ip", ["netns", "pids", m.namespace], { encoding: "utf8" }).stdout.split("\n").includes(String(pid));
}

/** Bytes through a link of a simulated machine, both directions. */
function linkBytes(m: { address: string }, link: string): number {
    const s = JSON.parse(onMachine(m, `ip -s -json link show ${link}`))[0].stats64;
    return s.rx.bytes + s.tx.bytes;
}

describe("the hardware path on simulated machines (sim-e2288g over SSH)", function () {
    this.timeout(40 * 60_000);
    tempBackend();
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);
    const tail = () => log.join("").split("\n").slice(-60).join("\n");
    let results = "";
    let stack: Stack;
    const dirs: string[] = [];

    before(async function () {
        if (!isRoot()) this.skip();
        await sim(["up", "--e2288g"], ROOT);
        results = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-sim-results-"));
        dirs.push(results);
    });
    after(async () => {
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
        if (isRoot()) await sim(["down"], ROOT);
    });

    it("a preview refuses what the machines lack (the vhost-net guest), before anything exists", async () => {
        const dir = project("sim-vhost", simStackYaml(ROOT, { short: true, keepVhost: true }), results);
        dirs.push(dir);
        const s = await openStack({ stack: "sim-vhost", dir });
        let out = "";
        await assert.rejects(s.preview({ color: "never", onOutput: (x) => (out += x) }), (e: Error) => {
            const all = `${e.message}\n${out}`;
            return /nics\[0\]\.backend .*vhost-net backend needs \/dev\/vhost-net on host 'testbed-server'/.test(all);
        });
        assert.deepEqual(((await s.exportStack()).deployment.resources ?? []).length, 0);
    });

    it("up: probed, tuned, kernel and image on each machine, guests booted under the profile, the matrix between the machines, results here", async () => {
        const dir = project("sim-e2288g", simStackYaml(ROOT, { short: true }), results);
        dirs.push(dir);
        stack = await openStack({ stack: "sim-e2288g", dir });
        await stack.preview({ color: "never", onOutput });
        const t0 = Date.now();
        const up = await stack.up({ color: "never", onOutput });
        assert.equal(up.summary.result, "succeeded", tail());
        const o = Object.fromEntries(Object.entries(up.outputs).map(([k, v]) => [k, v.value])) as any;
        assert.equal(o.hosts.server.id, `ssh:root@${M1.address}:22`);
        for (const g of ["vm-virtio", "vm-macvtap", "vm-client"]) {
            assert.equal(o.guests[g].accel, "tcg");
            assert.equal(o.guests[g].placement.source, "qmp", `${g}'s vCPU threads read over QMP through SSH`);
            assert.notEqual(o.guests[g].confinement, "none");
        }
        const doc = o.results;
        assert.deepEqual([...new Set(doc.cells.map((c: any) => c.pair))].sort(), ["bare-metal", "guest-guest-remote", "macvtap", "virtio"]);
        assert.ok(
            doc.cells.every((c: any) => !c.error),
            JSON.stringify(doc.cells.filter((c: any) => c.error)),
        );
        // Guest to guest across the network: m2's guest (a macvtap on its nic0) measured m1's, so its
        // traffic crossed the lab segment (the only way out of m2's nic0 to m1's br0).
        assert.ok(runsOn(M2, o.guests["vm-client"].pid) && runsOn(M1, o.guests["vm-virtio"].pid), "vm-client on m2, vm-virtio on m1");
        const remote = doc.cells.filter((c: any) => c.pair === "guest-guest-remote");
        assert.equal(remote.length, 3);
        for (const c of remote) assert.deepEqual([c.status, c.dimensions.client, c.dimensions.server], ["ok", "testbed-vm-client", "testbed-vm-virtio"]);
        assert.ok(remote.find((c: any) => c.dimensions.test === "tcp").metrics.gbps.mean > 0);
        // A 2 x 1 s TCP cell moves tens of MB even under TCG; the agents' requests are a few kB.
        assert.ok(linkBytes(M2, "mvtap1") > 1e6, `mvtap1 on m2 moved ${linkBytes(M2, "mvtap1")} bytes`);
        const machines = doc.environment.machines;
        assert.equal(machines[`ssh:${M2.address}:22`].sharesKernelWith ?? machines[`ssh:${M1.address}:22`].sharesKernelWith !== undefined, true);
        const cpu = doc.cells.find((c: any) => c.repetitions?.[0]?.cpu)?.repetitions[0].cpu;
        assert.equal(Object.keys(cpu.machines).length, 1, "one kernel, one CPU account");
        assert.ok(doc.warnings.some((w: string) => /share one kernel/.test(w)));
        assert.ok(fs.existsSync(o.reportPath), "the report is written here");
        assert.ok(
            walk(results).some((f) => /rep-\d+\.json$/.test(f)),
            "raw data copied back here",
        );
        // Nothing of it is on this side's machine-local directories: it lives on m1.
        const vmDir = `/run/netbed/vms/ssh-${M1.address}-22`;
        assert.ok(!fs.existsSync(vmDir), `${vmDir} is m1's, not this machine's`);
        assert.match(onMachine(M1, `ls /run/netbed/vms/ssh-${M1.address}-22`), /vm-virtio/);
        // The SSH user's home is m1's own (its dotfiles are read by every command's shell).
        assert.equal(onMachine(M1, "readlink -f ~/.bashrc; cmp -s ~/.bashrc /etc/skel/.bashrc && echo skel").trim(), "/root/.bashrc\nskel");
        console.log(`      up in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    });

    it("a second up plans nothing; refresh reads everything over SSH and finds no drift", async () => {
        const pre = await stack.preview({ color: "never", onOutput });
        assert.deepEqual(
            Object.keys(pre.changeSummary).filter((k) => k !== "same"),
            [],
            tail(),
        );
        const r = await stack.refresh({ color: "never", onOutput });
        const changes = r.summary.resourceChanges ?? {};
        assert.deepEqual(
            Object.keys(changes).filter((k) => k !== "same"),
            [],
            JSON.stringify(changes),
        );
    });

    it("a host key that changed is refused by refresh, naming the key seen; with the machine's key back, nothing needs doing", async () => {
        const disk = `/var/lib/netbed-sim/${M1.name}`;
        const key = `${disk}/ssh_host_ed25519_key`;
        for (const f of [key, `${key}.pub`]) fs.renameSync(f, `${f}.orig`);
        try {
            must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key]);
            const seen = must(["ssh-keygen", "-lf", `${key}.pub`]).split(" ")[1];
            await killSshd(M1);
            await sim(["up", "--e2288g"], ROOT);
            let out = "";
            // A refresh reads every resource on m1 over SSH (a plain up with nothing to do connects to nothing).
            await assert.rejects(stack.refresh({ color: "never", onOutput: (x) => (out += x) }), (e: Error) =>
                `${e.message}\n${out}`.includes(`the SSH host key ${seen} does not match the pinned hostKeyFingerprint`),
            );
        } finally {
            for (const f of [key, `${key}.pub`]) fs.renameSync(`${f}.orig`, f);
            await killSshd(M1);
            await sim(["up", "--e2288g"], ROOT);
        }
        const pre = await stack.preview({ color: "never", onOutput });
        assert.deepEqual(
            Object.keys(pre.changeSummary).filter((k) => k !== "same"),
            [],
            tail(),
        );
    });

    it("m1 rebooted between ups, then m2's sshd killed mid-benchmark: up --refresh and up repair it all, no measured cell is lost", async () => {
        await sim(["reboot", M1.name], ROOT);
        const raws = () => walk(results).filter((f) => /rep-\d+\.json$/.test(f));
        const before = raws().length;
        const first = await interrupt(
            stack.up({ color: "never", onOutput, refresh: true }),
            "SIGKILL",
            () => raws().length >= before + 2,
            () => sshdPids(M2),
            20 * 60_000,
        );
        assert.ok(first.killed.length > 0 && first.err !== "", `m2's sshd was killed mid-run and the up failed (${tail()})`);
        const kept = new Map(raws().map((f) => [f, fs.statSync(f).mtimeMs]));
        await sim(["up", "--e2288g"], ROOT);
        await clearPending(stack);
        const up = await stack.up({ color: "never", onOutput, refresh: true });
        assert.equal(up.summary.result, "succeeded", tail());
        for (const [f, t] of kept) assert.equal(fs.statSync(f).mtimeMs, t, `${f} was kept, not measured again`);
        const doc = up.outputs.results.value as any;
        assert.ok(
            doc.cells.every((c: any) => !c.error),
            JSON.stringify(doc.cells.filter((c: any) => c.error)),
        );
        const pre = await stack.preview({ color: "never", onOutput });
        assert.deepEqual(
            Object.keys(pre.changeSummary).filter((k) => k !== "same"),
            [],
            tail(),
        );
    });

    it("destroy leaves nothing on either machine, and nothing here but the results", async () => {
        const d = await stack.destroy({ color: "never", onOutput });
        assert.equal(d.summary.result, "succeeded", tail());
        for (const m of [M1, M2]) {
            assert.equal(
                onMachine(m, "ls -A /run/netbed/vms /run/netbed/owned/links 2>/dev/null | grep -v ':$' | grep -v '^$' || true").trim(),
                "",
                `${m.name}: no records left`,
            );
            // The machines share this one's pid space: their processes are found by network namespace.
            const comms = spawnSync("ip", ["netns", "pids", m.namespace], { encoding: "utf8" })
                .stdout.split("\n")
                .filter(Boolean)
                .map((p) => fs.readFileSync(`/proc/${p}/comm`, "utf8").trim());
            assert.deepEqual(
                comms.filter((c) => !["sleep", "sshd"].includes(c)),
                [],
                `${m.name}: only its init and sshd run`,
            );
            assert.equal(onMachine(m, "ip -o link show | grep -cE 'br0|tap-|mvtap' || true").trim(), "0", `${m.name}: no link left`);
        }
        assert.ok(walk(results).length > 0, "the results stay");
    });

    it("m1's disk fills up during an image build: the up fails naming the host and ENOSPC, leaves no partial entry, and the next up builds it", async () => {
        const m1 = JSON.parse(fs.readFileSync("/run/netbed-sim/lab.json", "utf8")).machines[0];
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-sim-image-"));
        dirs.push(dir);
        fs.mkdirSync(path.join(dir, "stacks"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.yaml"),
            [
                "name: simimage",
                "runtime: nodejs",
                `main: ${path.join(ROOT, "test/fixtures/sim-image/index.ts")}`,
                "stackConfigDir: stacks",
                "plugins:",
                "  providers:",
                "    - name: netbed",
                `      path: ${path.join(ROOT, "plugin")}`,
                "",
            ].join("\n"),
        );
        const config = {
            "simimage:address": M1.address,
            "simimage:agent": "/run/netbed-sim/agent.sock",
            "simimage:fingerprint": m1.fingerprint,
            "simimage:nonce": `${Date.now()}`,
        };
        fs.writeFileSync(
            path.join(dir, "stacks/Pulumi.img.yaml"),
            `config:\n${Object.entries(config)
                .map(([k, v]) => `  ${k}: "${v}"`)
                .join("\n")}\n`,
        );
        const s = await openStack({ stack: "img", dir });
        onMachine(M1, "mkdir -p /var/cache/netbed/tmp && mount -t tmpfs -o size=512k netbed-full /var/cache/netbed/tmp");
        try {
            let out = "";
            await assert.rejects(s.up({ color: "never", onOutput: (x) => (out += x) }), (e: Error) => {
                const all = `${e.message}\n${out}`;
                return /No space left on device|ENOSPC/.test(all) && /m1/.test(all);
            });
            assert.equal(onMachine(M1, "ls -A /var/cache/netbed/tmp").trim(), "", "the half-built image was removed");
        } finally {
            onMachine(M1, "umount /var/cache/netbed/tmp");
        }
        await clearPending(s);
        const up = await s.up({ color: "never", onOutput });
        assert.equal(up.summary.result, "succeeded", tail());
        assert.match(onMachine(M1, `ls -l ${up.outputs.path.value}`), /initramfs/);
        const d = await s.destroy({ color: "never", onOutput });
        assert.equal(d.summary.result, "succeeded", tail());
    });
});
