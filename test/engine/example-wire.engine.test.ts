// examples/wire, a program that imports the package as `netbed`, on the real engine.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { openStack } from "../../scripts/engine";
import { dropNetns, netnsList, sh, tempBackend, uniq } from "../helpers";

describe("examples/wire on the real engine", function () {
    this.timeout(300_000);
    const id = uniq();
    tempBackend();
    after(() => {
        for (const side of ["left", "right"]) dropNetns(`nbx${id}-${side}`);
    });

    it('comes up with `import * as netbed from "netbed"`, carries traffic, and is destroyed', async () => {
        const dir = path.join(__dirname, "..", "..", "examples", "wire");
        const stackName = `ex${id}`;
        const stack = await openStack({ stack: stackName, dir });
        try {
            const n = Math.floor(Math.random() * 200) + 20;
            await stack.setConfig("prefix", { value: `nbx${id}` });
            await stack.setConfig("subnet", { value: `10.99.${n}` });
            const up = await stack.up({ color: "never" });
            const observed = up.outputs.observed.value as any;
            assert.equal(observed.a.mtu, 9000);
            assert.deepEqual(observed.b.addresses, [`10.99.${n}.2/24`]);
            assert.equal(sh(["ip", "netns", "exec", `nbx${id}-left`, "ping", "-c", "1", "-W", "2", `10.99.${n}.2`]).code, 0);
            await stack.destroy({ color: "never" });
            assert.ok(!netnsList().some((x) => x.startsWith(`nbx${id}`)));
            await stack.workspace.removeStack(stackName);
        } finally {
            fs.rmSync(path.join(dir, `Pulumi.${stackName}.yaml`), { force: true });
        }
    });
});
