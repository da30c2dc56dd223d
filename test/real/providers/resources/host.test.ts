// Host against the real thing: the handler's create/read/update/delete on real namespaces.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { hostHandler, OWNER_DIR } from "../../../../providers/resources/host";
import { HostArgsSchema } from "../../../../schema/host";
import { must, netnsList, sh, uniq } from "../../../helpers";
import { handlerCtx } from "../../../helpers/ctx";

describe("Host (real namespaces)", function () {
    this.timeout(120_000);
    const ns = `nbt-host-${uniq()}`;
    after(() => {
        sh(["ip", "netns", "del", ns]);
        fs.rmSync(`${OWNER_DIR}/netns-${ns}`, { force: true });
    });

    it("creates, reads, updates and deletes a netns host", async () => {
        const ctx = handlerCtx("Host", "server", { project: "p" });
        const inputs = HostArgsSchema.parse({ kind: "netns", namespace: ns });
        const { id, outs } = await hostHandler.create(ctx, inputs);
        assert.equal(id, `netns:${ns}`);
        assert.ok(netnsList().includes(ns));
        assert.deepEqual(outs.connection, { kind: "netns", name: "server", namespace: ns });
        const probe = outs.probe as any;
        assert.ok(probe.cores >= 1);
        // loopback is up inside the new namespace
        assert.match(must(["ip", "-n", ns, "link", "show", "lo"]), /UP/);

        const read = await hostHandler.read(ctx, id, outs);
        assert.ok(read);
        assert.equal((read!.probe as any).kernelRelease, probe.kernelRelease);

        // packages already present: ensured without reinstalling, reported as installed
        const updated = await hostHandler.update(ctx, id, outs, HostArgsSchema.parse({ kind: "netns", namespace: ns, packages: ["iproute2"] }));
        assert.deepEqual(updated.packages, ["iproute2"]);
        assert.equal(updated.packagesSkipped, undefined);
        assert.ok(!ctx.log.lines.some((l) => l.includes("installing")), ctx.log.lines.join("\n"));

        await hostHandler.delete(ctx, id, updated);
        assert.ok(!netnsList().includes(ns));
        assert.ok(!fs.existsSync(`${OWNER_DIR}/netns-${ns}`));
        // already gone is success
        await hostHandler.delete(ctx, id, updated);
    });

    it("refresh sees a namespace deleted behind its back", async () => {
        const ctx = handlerCtx("Host", "server", { project: "p" });
        const { id, outs } = await hostHandler.create(ctx, HostArgsSchema.parse({ kind: "netns", namespace: ns }));
        must(["ip", "netns", "del", ns]);
        assert.equal(await hostHandler.read(ctx, id, outs), undefined);
        await hostHandler.delete(ctx, id, outs);
    });

    it("never takes over or deletes a namespace it did not create", async () => {
        must(["ip", "netns", "add", ns]);
        try {
            const ctx = handlerCtx("Host", "server", { project: "p" });
            const inputs = HostArgsSchema.parse({ kind: "netns", namespace: ns });
            await assert.rejects(hostHandler.create(ctx, inputs), /'nbt-host-.*' already exists and netbed did not create it/);
            // a stale state pointing at it: delete leaves the foreign namespace alone
            // Only what delete reads: a stale state's inputs.
            await hostHandler.delete(ctx, `netns:${ns}`, { ...inputs } as never);
            assert.ok(netnsList().includes(ns));
            assert.match(ctx.log.lines.join("\n"), /no netbed owner record/);
        } finally {
            must(["ip", "netns", "del", ns]);
        }
    });

    it("a local host is probed, never removed", async () => {
        const ctx = handlerCtx("Host", "me", { project: "p" });
        const { id, outs } = await hostHandler.create(ctx, HostArgsSchema.parse({ kind: "local" }));
        assert.equal(id, "local");
        await hostHandler.delete(ctx, id, outs);
        assert.ok(fs.existsSync("/proc/self"));
    });
});
