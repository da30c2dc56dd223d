// The real Pulumi engine (the pulumi CLI via the Automation API) with the netbed provider
// plugin, against a local file backend in a temporary directory.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openStack } from "../../scripts/engine";
import { OWNER_DIR } from "../../providers/resources/host";
import { dropNetns, must, netnsList, uniq } from "../helpers";

describe("engine: pulumi up / refresh / destroy of a netns Host", function () {
    this.timeout(300_000);
    const ns = `nbt-eng-${uniq()}`;
    const stackName = `t${uniq()}`;
    const dir = path.join(__dirname, "..", "fixtures", "host-project");
    let backend: string;
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);
    const saved = { ...process.env };

    before(() => {
        backend = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-state-"));
        process.env.PULUMI_BACKEND_URL = `file://${backend}`;
        process.env.PULUMI_CONFIG_PASSPHRASE = "test";
        if (!fs.existsSync(path.join(__dirname, "..", "..", "dist", "providers", "runtime", "main.js"))) {
            throw new Error("the provider is not built: run `npm run build` (npm test does)");
        }
    });
    after(async () => {
        dropNetns(ns);
        fs.rmSync(backend, { recursive: true, force: true });
        fs.rmSync(path.join(dir, `Pulumi.${stackName}.yaml`), { force: true });
        process.env = saved;
    });

    it("up creates the namespace; a no-op up changes nothing; refresh notices it deleted; destroy leaves none", async () => {
        const stack = await openStack({ stack: stackName, dir });
        await stack.setConfig("namespace", { value: ns });

        const up = await stack.up({ onOutput, color: "never" });
        assert.equal(up.summary.result, "succeeded", log.join(""));
        assert.equal(up.outputs.namespace.value, ns);
        assert.ok((up.outputs.cores.value as number) >= 1);
        assert.ok(netnsList().includes(ns));
        // No metadata sidecars: one truncated by a killed CLI makes the stack unloadable (scripts/engine.ts).
        assert.deepEqual(
            fs.readdirSync(backend, { recursive: true }).filter((f) => String(f).endsWith(".attrs")),
            [],
        );

        const again = await stack.up({ onOutput, color: "never" });
        assert.deepEqual(again.summary.resourceChanges, { same: 2 });

        const pv = await stack.preview({ onOutput, color: "never" });
        assert.deepEqual(pv.changeSummary, { same: 2 });

        must(["ip", "netns", "del", ns]);
        const refresh = await stack.refresh({ onOutput, color: "never" });
        assert.equal(refresh.summary.resourceChanges?.delete, 1, log.join(""));

        const up2 = await stack.up({ onOutput, color: "never" });
        assert.equal(up2.summary.resourceChanges?.create, 1);
        assert.ok(netnsList().includes(ns));

        const destroy = await stack.destroy({ onOutput, color: "never" });
        assert.equal(destroy.summary.result, "succeeded");
        assert.ok(!netnsList().includes(ns));
        assert.ok(!fs.existsSync(`${OWNER_DIR}/netns-${ns}`));
        await stack.workspace.removeStack(stackName);
    });

    it("a bad argument fails before anything is created, naming the field", async () => {
        const stack = await openStack({ stack: `${stackName}b`, dir });
        await stack.setConfig("namespace", { value: "bad/name" });
        const before = netnsList();
        const err = await stack.up({ onOutput, color: "never" }).catch((e) => e);
        assert.match(String(err), /namespace.*'bad\/name' must start with a letter or digit/);
        // Only what appeared counts: a test running beside this one may delete its own namespaces.
        assert.deepEqual(
            netnsList().filter((n) => !before.includes(n)),
            [],
            "namespaces created",
        );
        await stack.workspace.removeStack(`${stackName}b`, { force: true });
        fs.rmSync(path.join(dir, `Pulumi.${stackName}b.yaml`), { force: true });
    });
});
