// Root's writes into a results folder others can write to: a link planted below it (in the folder,
// in a pair's directory, at a file's name, at the report's directory) does not redirect them, and a
// resumed run accepts back only what it wrote (a timestamp of its own form, records of its own steps).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ResultsDocSchema } from "../../../../core/bench/results";
import { finishedRecord, openProgress, progressFile as progressFileOf, runTimestamp } from "../../../../providers/benchmark/resume";
import type { BenchmarkRunInputs } from "../../../../schema/benchmark";
import { mkdirBelow, writeBelow } from "../../../../providers/files/nofollow";
import { writeReport } from "../../../../providers/files/report";

const REPORT_FIXTURE = path.join(__dirname, "..", "..", "..", "fixtures", "report", "results.json");

describe("writes below the results folder follow no link", () => {
    let tmp: string;
    let results: string;
    let victim: string;
    beforeEach(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-nofollow-"));
        results = path.join(tmp, "results");
        victim = path.join(tmp, "victim");
        fs.mkdirSync(results);
        fs.mkdirSync(victim);
        fs.writeFileSync(path.join(victim, "passwd"), "untouched\n");
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    const victimFiles = () => fs.readdirSync(victim).sort();

    it("writes whole files (0644) and creates the folders, leaving no temporary file", () => {
        const f = path.join(results, "runs", "bench-1.json");
        writeBelow(results, f, "{}\n");
        assert.equal(fs.readFileSync(f, "utf8"), "{}\n");
        assert.equal(fs.statSync(f).mode & 0o777, 0o644 & ~process.umask());
        assert.deepEqual(fs.readdirSync(path.dirname(f)), ["bench-1.json"]);
    });

    it("refuses a link planted as the runs folder, naming it and the fix", () => {
        fs.symlinkSync(victim, path.join(results, "runs"));
        assert.throws(
            () => writeBelow(results, path.join(results, "runs", "passwd"), "owned\n"),
            (e: Error) => e.message.includes(path.join(results, "runs")) && /symbolic link/.test(e.message) && /remove it/.test(e.message),
        );
        assert.equal(fs.readFileSync(path.join(victim, "passwd"), "utf8"), "untouched\n");
        assert.deepEqual(victimFiles(), ["passwd"]);
    });

    it("refuses a link planted in a pair's directory, at any depth", () => {
        fs.mkdirSync(path.join(results, "host-host"));
        fs.symlinkSync(victim, path.join(results, "host-host", "bare-metal"));
        const raw = path.join(results, "host-host", "bare-metal", runTimestamp(0), "tcp-1", "0.json");
        assert.throws(() => writeBelow(results, raw, "owned\n"), /host-host\/bare-metal is a symbolic link/);
        assert.throws(() => mkdirBelow(results, path.dirname(raw)), /symbolic link/);
        assert.deepEqual(victimFiles(), ["passwd"], "nothing was created through the link");
    });

    it("replaces a link planted at the file's own name instead of writing through it", () => {
        fs.mkdirSync(path.join(results, "runs"));
        const f = path.join(results, "runs", "bench.progress.json");
        fs.symlinkSync(path.join(victim, "passwd"), f);
        writeBelow(results, f, "{}\n");
        assert.equal(fs.lstatSync(f).isSymbolicLink(), false);
        assert.equal(fs.readFileSync(path.join(victim, "passwd"), "utf8"), "untouched\n");
    });

    it("refuses a path outside the results folder", () => {
        assert.throws(() => writeBelow(results, path.join(results, "..", "victim", "passwd"), "owned\n"), /is not inside/);
        assert.equal(fs.readFileSync(path.join(victim, "passwd"), "utf8"), "untouched\n");
    });

    it("accepts a results folder that is itself a link (the user's choice)", () => {
        const real = path.join(tmp, "real-results");
        fs.mkdirSync(real);
        fs.symlinkSync(real, path.join(tmp, "linked"));
        writeBelow(path.join(tmp, "linked"), path.join(tmp, "linked", "runs", "a.json"), "{}\n");
        assert.equal(fs.readFileSync(path.join(real, "runs", "a.json"), "utf8"), "{}\n");
    });

    it("a report's directory planted as a link is refused, and nothing is written through it", async () => {
        const doc = ResultsDocSchema.parse(JSON.parse(fs.readFileSync(REPORT_FIXTURE, "utf8")));
        fs.mkdirSync(path.join(results, "runs"));
        const out = path.join(results, "runs", "bench-report");
        fs.symlinkSync(victim, out);
        await assert.rejects(writeReport(doc, { docFile: REPORT_FIXTURE, out, root: results }), /bench-report is a symbolic link/);
        assert.deepEqual(victimFiles(), ["passwd"]);
    });
});

describe("resume reads back only what it wrote", () => {
    let results: string;
    const inputs = () => ({ resultsDir: results, pairs: [], tests: [], settings: {}, triggers: {} }) as unknown as BenchmarkRunInputs;
    const run = { name: "bench", urn: "urn:pulumi:test::nofollow::netbed:index:BenchmarkRun::bench" };
    const progressFile = () => progressFileOf(results, run);
    beforeEach(() => {
        results = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-resume-"));
    });
    afterEach(() => fs.rmSync(results, { recursive: true, force: true }));

    it("resumes with the timestamp it wrote", async () => {
        const first = await openProgress(run, inputs(), Date.UTC(2026, 0, 2, 3, 4, 5, 6));
        assert.equal(first.timestamp, "2026-01-02T03-04-05-006Z");
        const again = await openProgress(run, inputs(), Date.now());
        assert.deepEqual([again.resumed, again.timestamp], [true, first.timestamp]);
    });

    for (const timestamp of ["../../../../etc", "2026-01-02T03-04-05-006Z/../../x", "..", "2026-01-02T03:04:05.006Z", ""]) {
        it(`a progress file whose timestamp is ${JSON.stringify(timestamp)} is not resumed, and is replaced`, async () => {
            const first = await openProgress(run, inputs(), 0);
            const planted = { ...JSON.parse(fs.readFileSync(progressFile(), "utf8")), timestamp };
            fs.writeFileSync(progressFile(), JSON.stringify(planted));
            const p = await openProgress(run, inputs(), Date.UTC(2026, 0, 1));
            assert.equal(p.resumed, false);
            assert.equal(p.timestamp, "2026-01-01T00-00-00-000Z");
            assert.notEqual(p.timestamp, first.timestamp);
            assert.equal(JSON.parse(fs.readFileSync(progressFile(), "utf8")).timestamp, p.timestamp);
        });
    }

    it("accepts a step's record only when it is that step's, with its raw output beside it", async () => {
        await openProgress(run, inputs(), 0);
        const p = await openProgress(run, inputs(), 0);
        const meta = path.join(results, "0.meta.json");
        const step = { index: 0, warmup: false, rawStem: "host-host/pair/ts/tcp-1/0" };
        const rec = { index: 0, warmup: false, metrics: { gbps: 9.4 }, raw: "host-host/pair/ts/tcp-1/0.json", seconds: 10.2, nominal: 10 };
        const check = async (r: unknown) => {
            fs.writeFileSync(meta, JSON.stringify(r));
            return finishedRecord(p, meta, step);
        };
        assert.deepEqual(await check(rec), rec);
        assert.equal(await check({ ...rec, raw: "../../../etc/shadow" }), undefined);
        assert.equal(await check({ ...rec, raw: "host-host/pair/ts/tcp-1/0.json/../../../x" }), undefined);
        assert.equal(await check({ ...rec, index: 1 }), undefined);
        assert.equal(await check({ ...rec, warmup: true }), undefined);
        // A warm-up's record (negative index) is taken back for its own step.
        const warm = { ...rec, index: -1, warmup: true };
        fs.writeFileSync(meta, JSON.stringify(warm));
        assert.deepEqual(await finishedRecord(p, meta, { ...step, index: -1, warmup: true }), warm);
        assert.equal(await check({ ...rec, metrics: { gbps: "9.4" } }), undefined);
        assert.equal(await check({ ...rec, extra: 1 }), undefined);
        fs.writeFileSync(meta, "{ not json");
        assert.equal(await finishedRecord(p, meta, step), undefined);
    });
});
