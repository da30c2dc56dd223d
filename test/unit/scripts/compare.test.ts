// netbed compare, the CLI: its exit codes on a regression, an uncalibrated or underpowered run and no
// change, the inputs it reads (documents, results directories, stack outputs) and what it says on failure.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type ResultsDoc, ResultsDocSchema } from "../../../core/bench/results";
import { doc, normals, sample } from "../../helpers/results";

describe("netbed compare CLI", function () {
    this.timeout(120000);
    const root = path.resolve(__dirname, "../../..");
    let dir: string;
    const cli = (args: string[], entry = "scripts/compare.ts") =>
        spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(root, entry), ...args], {
            cwd: root,
            encoding: "utf8",
            timeout: 60000,
        });

    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-compare-"));
        const rnd = normals(1);
        // 10 repetitions: four metrics at family-wise 0.01 need p <= 0.0025, which 5 vs 5 cannot give (2/252).
        const base = (name: string, started: string, gbps: number, p99: number, n = 10) =>
            doc(
                name,
                started,
                [
                    { pair: "virtio", cell: "tcp-1", metrics: { gbps: sample(rnd, n, gbps, 0.01), retransmits: Array(n).fill(0) } },
                    { pair: "virtio", cell: "latency-tcp-64", test: "latency", metrics: { p50us: sample(rnd, n, 50, 0.01), p99us: sample(rnd, n, p99, 0.01) } },
                ],
                n,
            );
        const write = (f: string, d: ResultsDoc) => {
            assert.ok(ResultsDocSchema.safeParse(d).success);
            fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
            fs.writeFileSync(path.join(dir, f), JSON.stringify(d));
        };
        write("a.json", base("bench", "2026-01-01T00:00:00.000Z", 10, 100));
        write("same.json", base("bench", "2026-01-02T00:00:00.000Z", 10, 100));
        write("slow.json", base("bench", "2026-01-03T00:00:00.000Z", 10, 120));
        write("five-a.json", base("bench", "2026-01-01T00:00:00.000Z", 10, 100, 5));
        write("five-same.json", base("bench", "2026-01-02T00:00:00.000Z", 10, 100, 5));
        const fiveFailed = base("bench", "2026-01-02T00:00:00.000Z", 10, 100, 5);
        Object.assign(fiveFailed.cells[0], { status: "failed", error: "iperf3: connection refused" });
        write("five-failed.json", fiveFailed);
        // A results directory holding two runs (the newer is slow) and one unfinished run's progress file.
        const older = base("bench", "2026-01-01T00:00:00.000Z", 10, 100);
        const newer = { ...base("bench", "2026-01-03T00:00:00.000Z", 8.5, 100) };
        newer.run.finished = "2026-01-03T00:10:00.000Z";
        write("results/runs/bench-2026-01-01T00-00-00-000Z.json", older);
        write("results/runs/bench-2026-01-03T00-00-00-000Z.json", newer);
        fs.writeFileSync(path.join(dir, "results/runs/bench.progress.json"), "{}");
        fs.mkdirSync(path.join(dir, "results/guest-guest/virtio/2026-01-01T00-00-00-000Z/tcp-1"), { recursive: true });
        // Volt's layout, results/<backend>/<timestamp>/: two pairs of one run, each with its raw-data directory.
        const twoPairs = doc("bench", "2026-01-05T00:00:00.000Z", [
            { pair: "virtio", cell: "tcp-1", metrics: { gbps: sample(rnd, 5, 10, 0.01) } },
            { pair: "vhost-net", cell: "tcp-1", metrics: { gbps: sample(rnd, 5, 12, 0.01) } },
        ]);
        write("results2/runs/bench-2026-01-05T00-00-00-000Z.json", twoPairs);
        for (const p of ["virtio", "vhost-net"]) fs.mkdirSync(path.join(dir, `results2/guest-guest/${p}/2026-01-05T00-00-00-000Z/tcp-1`), { recursive: true });
        // The same results in a `pulumi stack output --json` dump.
        fs.writeFileSync(path.join(dir, "outputs.json"), JSON.stringify({ results: older, summary: {}, resultsPath: "x" }));
        fs.writeFileSync(path.join(dir, "masked.json"), JSON.stringify({ results: "[secret]", summary: {}, resultsPath: "x" }));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("exits 3 on a significant regression it can trust (drift calibrated with --noise) and prints it; 4 without the calibration", () => {
        const uncalibrated = cli([path.join(dir, "a.json"), path.join(dir, "slow.json"), "--json"]);
        assert.equal(uncalibrated.status, 4, uncalibrated.stderr);
        assert.match(
            uncalibrated.stderr,
            /1 regression\(s\) \(Holm over 4 metric tests, family-wise alpha 0.01\) between separate runs, with thresholds not calibrated .*: exit 4, not 3/,
        );
        assert.equal(JSON.parse(uncalibrated.stdout).drift, "uncalibrated");
        const r = cli([
            path.join(dir, "a.json"),
            path.join(dir, "slow.json"),
            "--noise",
            path.join(dir, "a.json"),
            path.join(dir, "same.json"),
            "--out-json",
            path.join(dir, "c.json"),
        ]);
        assert.equal(r.status, 3, r.stderr);
        assert.match(r.stdout, /\*\*Verdict: REGRESSION\*\*/);
        assert.match(r.stdout, /\*\*REGRESSION\*\* virtio latency-tcp-64 p99us: [\d.]+ → [\d.]+ \(\+\d+\.\d%/);
        const json = JSON.parse(fs.readFileSync(path.join(dir, "c.json"), "utf8"));
        assert.equal(json.version, 2);
        assert.equal(json.verdict, "regression");
        assert.equal(json.drift, "calibrated");
        assert.equal(json.counts.regressions, 1);
    });

    it("--noise A1 A2 raises a metric's threshold to what an A/A showed", () => {
        const calibrated = cli([
            path.join(dir, "a.json"),
            path.join(dir, "slow.json"),
            "--noise",
            path.join(dir, "a.json"),
            path.join(dir, "slow.json"),
            "--json",
        ]);
        assert.equal(calibrated.status, 0, calibrated.stderr);
        assert.ok(JSON.parse(calibrated.stdout).settings.thresholds.p99us > 0.19);
        const bad = cli([path.join(dir, "a.json"), path.join(dir, "slow.json"), "--noise", path.join(dir, "a.json")]);
        assert.equal(bad.status, 2);
        assert.match(bad.stderr, /--noise needs a value/);
    });

    it("exits 0 when nothing changed, and prints JSON on request", () => {
        const r = cli([path.join(dir, "a.json"), path.join(dir, "same.json"), "--json"]);
        assert.equal(r.status, 0, r.stderr);
        const json = JSON.parse(r.stdout);
        assert.equal(json.verdict, "ok");
        assert.equal(json.counts.compared, 2);
        assert.equal(json.counts.tests, 4);
    });

    it("reads a results directory (newest run), a raw pair directory and a stack-output dump", () => {
        const r = cli([path.join(dir, "outputs.json"), path.join(dir, "results"), "--json"]);
        assert.equal(r.status, 4, r.stderr);
        // The results output is a secret: a dump without --show-secrets is refused with the flag named.
        const masked = cli([path.join(dir, "masked.json"), path.join(dir, "results"), "--json"]);
        assert.notEqual(masked.status, 0);
        assert.match(masked.stderr, /holds "\[secret\]" for results: dump it with 'pulumi stack output --json --show-secrets'/);
        const json = JSON.parse(r.stdout);
        assert.equal(json.b.source, path.join(dir, "results/runs/bench-2026-01-03T00-00-00-000Z.json"));
        assert.equal(json.cells.find((c: { cell: string }) => c.cell === "tcp-1").metrics[0].verdict, "regression");
        const raw = cli([path.join(dir, "results/guest-guest/virtio/2026-01-01T00-00-00-000Z"), path.join(dir, "a.json"), "--json"]);
        assert.equal(raw.status, 0, raw.stderr);
        assert.match(JSON.parse(raw.stdout).a.source, /bench-2026-01-01T00-00-00-000Z\.json \(pair virtio\)$/);
        // Two backends' directories of one run: the two pairs are compared with each other.
        const backends = cli([
            path.join(dir, "results2/guest-guest/virtio/2026-01-05T00-00-00-000Z"),
            path.join(dir, "results2/guest-guest/vhost-net/2026-01-05T00-00-00-000Z"),
            "--json",
        ]);
        assert.equal(backends.status, 0, backends.stderr);
        const b = JSON.parse(backends.stdout).cells;
        assert.deepEqual(
            b.map((c: { pairA: string; pairB: string; status: string }) => [c.pairA, c.pairB, c.status]),
            [["virtio", "vhost-net", "compared"]],
        );
        assert.equal(b[0].metrics[0].verdict, "improvement");
        const unfinished = path.join(dir, "results2/guest-guest/virtio/2026-01-06T00-00-00-000Z");
        fs.mkdirSync(unfinished, { recursive: true });
        const u = cli([unfinished, path.join(dir, "a.json")]);
        assert.equal(u.status, 1);
        assert.match(u.stderr, /looks like one pair's raw data, but .*results2\/runs has no run document for timestamp 2026-01-06T00-00-00-000Z/);
    });

    it("says what failed: a missing file, a document of another shape, bad usage", () => {
        const missing = cli([path.join(dir, "nope.json"), path.join(dir, "a.json")]);
        assert.equal(missing.status, 1);
        assert.match(missing.stderr, /nope\.json: no such file or directory/);
        fs.writeFileSync(path.join(dir, "bad.json"), JSON.stringify({ version: 1, cells: [] }));
        const bad = cli([path.join(dir, "bad.json"), path.join(dir, "a.json")]);
        assert.equal(bad.status, 1);
        assert.match(bad.stderr, /bad\.json is not a netbed results document \(version 3 or earlier\): run: Required/);
        const usage = cli([path.join(dir, "a.json")]);
        assert.equal(usage.status, 2);
        assert.match(usage.stderr, /compare takes two inputs, got 1/);
        assert.equal(cli([path.join(dir, "a.json"), path.join(dir, "a.json"), "--threshold", "five"]).status, 2);
        // Three repetitions a side cannot reach 0.01: underpowered, exit 5.
        const three = doc("bench", "2026-01-01T00:00:00.000Z", [{ cell: "tcp-1", metrics: { gbps: [10, 10.1, 9.9] } }], 3);
        fs.writeFileSync(path.join(dir, "three.json"), JSON.stringify(three));
        const weak = cli([path.join(dir, "three.json"), path.join(dir, "three.json")]);
        assert.equal(weak.status, 5, weak.stderr);
        assert.match(weak.stderr, /exit 5: underpowered: none of the 1 metric tests can reach p <= 0.01 .*rerun with at least 5 repetitions per side/);
    });

    it("an A/A at 5 repetitions exits 5 (underpowered), not 0 and not 3; --allow-underpowered gives 0; a newly failed cell still exits 3", () => {
        const aa = cli([path.join(dir, "five-a.json"), path.join(dir, "five-same.json"), "--pair-a", "virtio", "--pair-b", "virtio"]);
        assert.equal(aa.status, 5, aa.stderr);
        assert.match(aa.stdout, /\*\*Verdict: UNDERPOWERED \(no metric can be called: rerun with at least 6 repetitions per side\)\*\*/);
        assert.match(aa.stdout, /Holm's step-down over the family of all 4 metric tests \(family-wise error rate 0.01\)/);
        assert.match(aa.stderr, /none of the 4 metric tests can reach p <= 0.0025 \(alpha 0.01 \/ 4, Holm's first step\)/);
        const allowed = cli([path.join(dir, "five-a.json"), path.join(dir, "five-same.json"), "--allow-underpowered", "--json"]);
        assert.equal(allowed.status, 0, allowed.stderr);
        const json = JSON.parse(allowed.stdout);
        assert.equal(json.verdict, "underpowered");
        assert.deepEqual(json.settings.family, { procedure: "holm", controls: "family-wise error rate", size: 4 });
        assert.deepEqual(json.power, { callable: 0, underpowered: true, repetitionsNeeded: 6 });
        const failed = cli([path.join(dir, "five-a.json"), path.join(dir, "five-failed.json")]);
        assert.equal(failed.status, 3, failed.stderr);
        assert.match(failed.stderr, /exit 3: 1 cell\(s\) worked in A and failed in B/);
    });

    it("on measured loopback iperf3 runs: A/A is no change, a lower MSS is a regression", () => {
        // test/fixtures/compare/measure-loopback.ts: 10 interleaved rounds of A, A' and MSS 9000 on a
        // busy 2-core machine (load average ~9; CV 13-16%).
        const fx = (f: string) => path.join(root, "test/fixtures/compare", f);
        const same = cli([fx("loopback-a.json"), fx("loopback-a2.json"), "--json"]);
        assert.equal(same.status, 0, same.stderr);
        assert.deepEqual(
            JSON.parse(same.stdout).cells[0].metrics.map((m: { verdict: string }) => m.verdict),
            ["no change", "no change"],
        );
        const slow = cli([fx("loopback-a.json"), fx("loopback-mss9000.json"), "--noise", fx("loopback-a.json"), fx("loopback-a2.json"), "--json"]);
        assert.equal(slow.status, 3, slow.stderr);
        const g = JSON.parse(slow.stdout).cells[0].metrics.find((m: { metric: string }) => m.metric === "gbps");
        assert.equal(g.verdict, "regression");
        assert.equal(g.test, "two-sample rank (Brunner-Munzel, permutation)");
        assert.ok(g.change < -0.2 && g.ci.high < -0.1, `change ${g.change}, interval ${JSON.stringify(g.ci)}`);
        // The same measurements as pairs of one interleaved run (unpaired: compare's default).
        const one = fx("loopback-one-run.json");
        const pairedAA = cli([one, one, "--pair-a", "a", "--pair-b", "a2", "--json"]);
        assert.equal(pairedAA.status, 0, pairedAA.stderr);
        const pairedSlow = cli([one, one, "--pair-a", "a", "--pair-b", "mss9000", "--json"]);
        assert.equal(pairedSlow.status, 3, pairedSlow.stderr);
        const c = JSON.parse(pairedSlow.stdout).cells[0];
        assert.equal(c.paired, false);
        assert.equal(c.metrics.find((m: { metric: string }) => m.metric === "gbps").verdict, "regression");
    });

    it("reads a stack's results output, and refuses a stack that does not exist (without creating it)", () => {
        // A throwaway project and file backend: its one stack exports a results document, as a testbed stack does.
        const proj = path.join(dir, "stackproj");
        fs.mkdirSync(proj);
        fs.writeFileSync(path.join(proj, "Pulumi.yaml"), "name: comparetest\nruntime: nodejs\nmain: index.ts\n");
        const fixture = path.join(root, "test/fixtures/compare/loopback-mss9000.json");
        fs.writeFileSync(
            path.join(proj, "index.ts"),
            `export default async () => ({ results: JSON.parse(require("fs").readFileSync(${JSON.stringify(fixture)}, "utf8")) });\n`,
        );
        fs.writeFileSync(
            path.join(proj, "up.ts"),
            `require(${JSON.stringify(path.join(root, "scripts/engine"))}).run("up", { stack: "local", dir: ${JSON.stringify(proj)}, onOutput: () => {} }).catch((e: Error) => { console.error(e.message); process.exitCode = 1; });\n`,
        );
        const env = { ...process.env, PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}` };
        const up = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(proj, "up.ts")], {
            cwd: root,
            env,
            encoding: "utf8",
            timeout: 120000,
        });
        assert.equal(up.status, 0, up.stderr);
        const run = (args: string[]) =>
            spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(root, "scripts/compare.ts"), ...args], {
                cwd: root,
                env,
                encoding: "utf8",
                timeout: 120000,
            });
        const r = run([path.join(root, "test/fixtures/compare/loopback-a.json"), "local", "--dir", proj, "--json"]);
        assert.equal(r.status, 4, r.stderr);
        assert.equal(JSON.parse(r.stdout).b.source, "stack local");
        const none = run([path.join(root, "test/fixtures/compare/loopback-a.json"), "stack:other", "--dir", proj]);
        assert.equal(none.status, 1);
        assert.match(none.stderr, /'other' is neither a file nor a stack of .*stackproj \(its stacks: local\)/);
        assert.ok(!fs.readdirSync(path.join(dir, "state/.pulumi/stacks/comparetest")).some((f) => f.startsWith("other")), "no stack 'other' was created");
    });

    it("is reachable as `netbed compare`", () => {
        const r = cli(["compare", path.join(dir, "a.json"), path.join(dir, "slow.json"), "--threshold", "p99us=25%"], "scripts/netbed.ts");
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /\*\*Verdict: no regression\*\*/);
    });
});
