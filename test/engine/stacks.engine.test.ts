// The per-hardware stacks on the real engine: the xeon-e2288g template previews here although its
// SSH hosts cannot be reached (TEST-NET addresses, no agent): the preview's read-only probe of each
// host gives up at once with a warning, and a mistake in the file fails the preview naming the key.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, openStack } from "../../scripts/engine";
import { tempBackend, writeDefaultProject } from "../helpers";

/** A project that runs the checkout's default program with a copy of one stack file (the engine writes into stack files). */
function projectWith(stackFile: string, edit: (yaml: string) => string = (y) => y): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-stacks-"));
    fs.mkdirSync(path.join(dir, "stacks"));
    writeDefaultProject(dir);
    fs.writeFileSync(path.join(dir, "stacks", path.basename(stackFile)), edit(fs.readFileSync(path.join(ROOT, "stacks", stackFile), "utf8")));
    return dir;
}

describe("hardware stacks on the real engine", function () {
    this.timeout(300_000);
    tempBackend();
    const dirs: string[] = [];
    before(() => {
        // ssh.agent: true must not need an agent at preview (the backend's hook puts it back after).
        delete process.env.SSH_AUTH_SOCK;
    });
    after(() => {
        for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    });

    it("xeon-e2288g previews the Volt environment (2 SSH hosts, tuning, 4 KVM guests, 5 pairs), warning that its hosts could not be probed", async () => {
        const dir = projectWith("Pulumi.xeon-e2288g.yaml");
        dirs.push(dir);
        const stack = await openStack({ stack: "xeon-e2288g", dir });
        const started = Date.now();
        let out = "";
        const r = await stack.preview({ color: "never", onOutput: (s) => (out += s) });
        // 2 hosts, 2 tunings, 1 bridge, 2 taps, 2 macvtaps, a kernel, image and security profile on each host, 4 VMs,
        // 1 benchmark run, the Testbed and the stack.
        assert.equal(r.changeSummary.create, 22, out);
        assert.match(out, /netbed:index:MicroVm\s+testbed-vm-client\s+create/);
        assert.match(out, /netbed:index:Kernel\s+testbed-client-kernel\s+create/);
        assert.match(out, /netbed:index:MicroVm\s+testbed-vm-vhost\s+create/);
        assert.match(out, /netbed:index:HostTuning\s+testbed-server-tuning\s+create/);
        assert.match(out, /host 'testbed-server' could not be probed \(.*SSH_AUTH_SOCK is not set/);
        // Unreachable TEST-NET hosts: a connection attempt would have waited out its 10 s timeouts.
        assert.ok(Date.now() - started < 120_000);
    });

    it("a mistake in the stack file fails the preview, naming the key and the fix", async () => {
        const dir = projectWith("Pulumi.xeon-e2288g.yaml", (y) =>
            y.replace("vcpus: [2, 3, 4, 5]", "vcpus: [2, 3, 4]").replace("governor: performance", "governor: fastest"),
        );
        dirs.push(dir);
        const stack = await openStack({ stack: "xeon-e2288g", dir });
        let out = "";
        await assert.rejects(stack.preview({ color: "never", onOutput: (s) => (out += s) }), (e: Error) => {
            const all = `${e.message}\n${out}`;
            return (
                /testbed:guests\.vms\.vm-virtio\.pinning\.vcpus: gives 3 CPUs for 4 vCPUs/.test(all) &&
                /testbed:tuning\.server\.governor: must be one of performance/.test(all)
            );
        });
    });
});
