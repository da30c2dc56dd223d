// Files netbed writes through its local transport and the engine's state directory: modes are
// restrictive and a symbolic link planted at a name netbed writes is never followed.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalTransport } from "../../providers/transport/local";
import { defaultStateDir, engineEnv, withoutSidecars } from "../../scripts/engine";

describe("files netbed writes", () => {
    let dir: string;
    let victim: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-files-"));
        victim = path.join(dir, "victim");
        fs.writeFileSync(victim, "not netbed's\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("putFile does not follow a link planted at its (predictable) temporary name", async () => {
        const file = path.join(dir, "owned", "record");
        fs.mkdirSync(path.dirname(file));
        fs.symlinkSync(victim, `${file}.tmp-${process.pid}`);
        await new LocalTransport().putFile(file, "urn\n", 0o600);
        assert.equal(fs.readFileSync(victim, "utf8"), "not netbed's\n");
        assert.equal(fs.readFileSync(file, "utf8"), "urn\n");
        assert.ok(fs.lstatSync(file).isFile());
        assert.equal(fs.statSync(file).mode & 0o777, 0o600);
        assert.deepEqual(fs.readdirSync(path.dirname(file)), ["record"], "no temporary file left");
    });

    it("putFile replaces a link planted at the file's name instead of writing through it", async () => {
        const file = path.join(dir, "record");
        fs.symlinkSync(victim, file);
        await new LocalTransport().putFile(file, "urn\n");
        assert.equal(fs.readFileSync(victim, "utf8"), "not netbed's\n");
        assert.ok(fs.lstatSync(file).isFile());
        assert.equal(fs.statSync(file).mode & 0o022, 0, "not group- or world-writable");
    });

    it("a failed write names the file and leaves no temporary file", async () => {
        const file = path.join(dir, "sub", "record");
        fs.mkdirSync(file, { recursive: true }); // a directory where the file goes: rename fails
        await assert.rejects(new LocalTransport("test").putFile(file, "x"), (e: Error) => e.message.includes(file) && /on host test/.test(e.message));
        assert.deepEqual(fs.readdirSync(path.dirname(file)), ["record"]);
    });

    it("the engine's default state directory is its user's only (Pulumi writes state files 0644)", () => {
        const saved = process.env.PULUMI_BACKEND_URL;
        delete process.env.PULUMI_BACKEND_URL;
        try {
            engineEnv("local");
            assert.equal(fs.statSync(defaultStateDir()).mode & 0o777, 0o700);
            assert.equal(fs.statSync(path.dirname(defaultStateDir())).mode & 0o777, 0o700);
        } finally {
            if (saved !== undefined) process.env.PULUMI_BACKEND_URL = saved;
        }
    });

    it("file backends write no metadata sidecar a killed CLI could leave empty; other backends and explicit choices are kept", () => {
        assert.equal(withoutSidecars("file:///s"), "file:///s?metadata=skip");
        assert.equal(withoutSidecars("file:///s?no_tmp_dir=true"), "file:///s?no_tmp_dir=true&metadata=skip");
        assert.equal(withoutSidecars("file:///s?metadata=skip"), "file:///s?metadata=skip");
        assert.equal(withoutSidecars("s3://bucket"), "s3://bucket");
        const saved = process.env.PULUMI_BACKEND_URL;
        process.env.PULUMI_BACKEND_URL = `file://${dir}/state`;
        try {
            assert.equal(engineEnv("local").PULUMI_BACKEND_URL, `file://${dir}/state?metadata=skip`);
            assert.ok(fs.statSync(`${dir}/state`).isDirectory(), "the directory is made without the query");
        } finally {
            if (saved !== undefined) process.env.PULUMI_BACKEND_URL = saved;
            else delete process.env.PULUMI_BACKEND_URL;
        }
    });
});
