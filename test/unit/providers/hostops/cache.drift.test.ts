// A cached kernel or image changed behind netbed's back (test/engine/drift.engine.test.ts does it
// through the engine): refresh must not take the entry as intact, and the next build must replace
// it without losing the other stacks' references to it.
import { strict as assert } from "node:assert";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { addRef, getOrBuild, readEntry } from "../../../../providers/hostops/cache";
import { LocalTransport } from "../../../../providers/transport";

const sha = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

describe("artifact cache: an entry whose artifact was deleted or overwritten", () => {
    it("is not read as intact, and is rebuilt in place keeping every reference", async () => {
        const cache = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-cache-drift-"));
        const t = new LocalTransport();
        const content = crypto.randomBytes(4096);
        let builds = 0;
        const build = async (tmp: string) => {
            builds++;
            fs.writeFileSync(path.join(tmp, "entry", "vmlinuz"), content);
            return { sha256: sha(content) };
        };
        try {
            const first = await getOrBuild(t, cache, "kernels", "k1", "vmlinuz", "urn:one", build);
            assert.equal(first.hit, false);
            assert.equal((await getOrBuild(t, cache, "kernels", "k1", "vmlinuz", "urn:two", build)).hit, true);
            assert.equal(builds, 1);
            const file = path.join(first.dir, "vmlinuz");
            assert.deepEqual(await readEntry(t, cache, "kernels", "k1", "vmlinuz"), { sha256: sha(content) });

            for (const damage of [() => fs.writeFileSync(file, "overwritten"), () => fs.rmSync(file)]) {
                damage();
                assert.equal(await readEntry(t, cache, "kernels", "k1", "vmlinuz"), undefined, "refresh sees the entry as gone");
                const again = await getOrBuild(t, cache, "kernels", "k1", "vmlinuz", "urn:three", build);
                assert.equal(again.hit, false, "a damaged entry is not a cache hit");
                assert.ok(fs.readFileSync(file).equals(content), "the artifact is rebuilt");
                assert.equal(fs.readdirSync(path.join(first.dir, "refs")).length, 3, "the other stacks' references survive the rebuild");
            }
            assert.equal(builds, 3);
            assert.deepEqual(fs.readdirSync(path.join(cache, "tmp")), [], "no temporary directory left");
            await addRef(t, first.dir, "urn:four");
            assert.equal(fs.readdirSync(path.join(first.dir, "refs")).length, 4);
        } finally {
            fs.rmSync(cache, { recursive: true, force: true });
        }
    });
});
