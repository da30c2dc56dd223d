import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { addRef, commitEntry, dropRef } from "../../../../providers/hostops/cache";
import { LocalTransport } from "../../../../providers/transport";
import { prune } from "../../../../scripts/cache";

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

    describe("two processes creating one entry at once", () => {
        const fixture = path.join(__dirname, "..", "..", "..", "fixtures", "cache", "build.ts");
        let dir: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "sp19-cache-lock-"));
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        /** Starts a builder process; `done` resolves to its result line (or rejects with its stderr). */
        function builder(buildMs: number, holdMs: number, urn: string): { child: ChildProcess; done: Promise<any> } {
            const args = ["-r", "ts-node/register/transpile-only", fixture, dir, "k1", path.join(dir, "builds"), String(buildMs), String(holdMs), urn];
            const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
            let out = "";
            let err = "";
            child.stdout!.on("data", (b) => (out += b));
            child.stderr!.on("data", (b) => (err += b));
            const done = new Promise((resolve, reject) =>
                child.on("close", (code, sig) =>
                    code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`builder ${urn} ended with ${code ?? sig}: ${err}`)),
                ),
            );
            return { child, done };
        }

        async function until(cond: () => boolean): Promise<void> {
            while (!cond()) await new Promise((r) => setTimeout(r, 20));
        }
        const readies = () => fs.readdirSync(dir).filter((f) => f.startsWith("builds.ready-")).length;
        const builds = () => (fs.existsSync(path.join(dir, "builds")) ? fs.readFileSync(path.join(dir, "builds"), "utf8").trim().split("\n") : []);

        it("builds the entry once; the other process waits for it and gets the same artifact", async () => {
            const a = builder(1500, 60_000, "urn:a");
            const b = builder(1500, 60_000, "urn:b");
            await until(() => readies() === 2);
            fs.writeFileSync(path.join(dir, "builds.go"), "");
            const [ra, rb] = await Promise.all([a.done, b.done]);
            assert.equal(builds().length, 1, `built ${builds().length} times`);
            assert.deepEqual([ra.hit, rb.hit].sort(), [false, true]);
            assert.deepEqual(ra.meta, rb.meta);
            const waiter = ra.hit ? ra : rb;
            assert.match(waiter.waitedFor, /^urn:[ab]$/, "the second process waited on the first one's lock");
            assert.equal(fs.readdirSync(path.join(dir, "kernels", "k1", "refs")).length, 2);
            assert.equal(fs.readFileSync(path.join(dir, "kernels", "k1", "vmlinuz"), "utf8"), `built by ${ra.meta.pid}\n`);
        });

        it("two Kernel creates from one file at once: one builds, the other finds the entry", async () => {
            const file = path.join(dir, "bzImage");
            fs.writeFileSync(file, Buffer.alloc(64 * 1024, 7));
            const go = path.join(dir, "builds.go");
            const kernel = (name: string) => {
                const child = spawn(
                    process.execPath,
                    ["-r", "ts-node/register/transpile-only", path.join(__dirname, "..", "..", "..", "fixtures", "cache", "kernel.ts"), dir, file, go, name],
                    { stdio: ["ignore", "pipe", "pipe"] },
                );
                let out = "";
                let err = "";
                child.stdout!.on("data", (b) => (out += b));
                child.stderr!.on("data", (b) => (err += b));
                return new Promise<any>((resolve, reject) =>
                    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${name}: ${err}`)))),
                );
            };
            const runs = [kernel("k1"), kernel("k2")];
            await until(() => fs.readdirSync(dir).filter((f) => f.startsWith("builds.go.ready-")).length === 2);
            fs.writeFileSync(go, "");
            const [a, b] = await Promise.all(runs);
            const built = [a, b].filter((r) => r.log.some((l: string) => /built in/.test(l)));
            const found = [a, b].filter((r) => r.log.some((l: string) => /found in the cache/.test(l)));
            assert.equal(built.length, 1, JSON.stringify([a.log, b.log]));
            assert.equal(found.length, 1);
            assert.equal(a.outs.sha256, b.outs.sha256);
            assert.equal(found[0].outs.buildSeconds, 0);
            assert.equal(fs.readdirSync(path.join(dir, "kernels", a.outs.cacheKey, "refs")).length, 2);
        });

        it("frees the lock when its holder dies mid-build, and the next process builds", async () => {
            const a = builder(60_000, 60_000, "urn:a");
            await until(() => readies() === 1);
            fs.writeFileSync(path.join(dir, "builds.go"), "");
            await until(() => builds().length === 1);
            a.child.kill("SIGKILL");
            await assert.rejects(a.done);
            // Had the lock outlived its holder, this builder would give up after holdMs with an error.
            const b = builder(200, 20_000, "urn:b");
            const rb = await b.done;
            assert.equal(rb.hit, false);
            assert.equal(builds().length, 2);
            assert.ok(fs.existsSync(path.join(dir, "kernels", "k1", "meta.json")));
        });
    });
});
