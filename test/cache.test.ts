import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { addRef, commitEntry, dropRef } from "../providers/cache";
import { LocalTransport } from "../providers/transport";
import { prune } from "../scripts/cache";

describe("artifact cache", () => {
    it("commits entries atomically, counts references, and prunes only unreferenced entries", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-cache-"));
        try {
            const t = new LocalTransport();
            for (const k of ["a", "b"]) {
                const tmp = path.join(dir, "tmp", `build.${k}`, "entry");
                fs.mkdirSync(tmp, { recursive: true });
                fs.writeFileSync(path.join(tmp, "meta.json"), "{}");
                fs.writeFileSync(path.join(tmp, "vmlinuz"), Buffer.alloc(1024));
                await commitEntry(t, tmp, path.join(dir, "kernels", k));
                fs.rmdirSync(path.join(dir, "tmp", `build.${k}`));
            }
            // A second commit of the same key (a lost race) keeps the first entry.
            const dup = path.join(dir, "tmp", "dup", "entry");
            fs.mkdirSync(dup, { recursive: true });
            fs.writeFileSync(path.join(dup, "meta.json"), "{}");
            await commitEntry(t, dup, path.join(dir, "kernels", "a"));
            await addRef(t, path.join(dir, "kernels", "a"), "urn:a");
            await addRef(t, path.join(dir, "kernels", "b"), "urn:b");
            await dropRef(t, path.join(dir, "kernels", "b"), "urn:b");
            const old = path.join(dir, "tmp", "build.stale");
            fs.mkdirSync(old);
            fs.utimesSync(old, new Date(0), new Date(0));
            const dry = prune(dir, { dryRun: true });
            assert.deepEqual(dry.removed.map((p) => path.relative(dir, p)).sort(), ["kernels/b", "tmp/build.stale"]);
            assert.ok(fs.existsSync(path.join(dir, "kernels", "b")));
            const r = prune(dir);
            assert.ok(r.bytes >= 1024);
            assert.ok(fs.existsSync(path.join(dir, "kernels", "a", "vmlinuz")));
            assert.ok(!fs.existsSync(path.join(dir, "kernels", "b")));
            assert.ok(fs.existsSync(path.join(dir, "tmp", "dup")), "a recent temporary directory may belong to a running build");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
