// Precision-driven repetitions on real tools between two namespaces: the minimum first, then rounds of the
// unfinished cells only, and a resumed run that measures only what is missing.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ResultsDocSchema } from "../../../../core/bench/results";
import { sha256Hex } from "../../../../core/hash";
import { benchmarkHandler } from "../../../../providers/benchmark";
import { progressFile } from "../../../../providers/benchmark/resume";
import { MemoryLogger } from "../../../../providers/runtime/log";
import { BenchmarkRunArgsSchema, type BenchmarkRunInputs } from "../../../../schema/benchmark";
import { dropNetns, freeSubnet, isRoot, must, uniq } from "../../../helpers";
import { handlerCtx } from "../../../helpers/ctx";

describe("precision-driven repetitions between two namespaces (real iperf3 and ping)", function () {
    this.timeout(180_000);
    const u = uniq();
    const [a, b] = [`nbt-prec-a-${u}`, `nbt-prec-b-${u}`];
    let results: string;
    let inputs: BenchmarkRunInputs;

    before(function () {
        if (!isRoot()) this.skip();
        const net = freeSubnet("10.251");
        results = fs.mkdtempSync(path.join(os.tmpdir(), `netbed-prec-${u}-`));
        for (const ns of [a, b]) must(["ip", "netns", "add", ns]);
        must(["ip", "link", "add", `nprec${u}a`, "netns", a, "type", "veth", "peer", "name", `nprec${u}b`, "netns", b]);
        for (const [ns, dev, addr] of [
            [a, `nprec${u}a`, `${net}.1/24`],
            [b, `nprec${u}b`, `${net}.2/24`],
        ]) {
            must(["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
            must(["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        const host = (ns: string, name: string) => ({ kind: "netns" as const, name, namespace: ns });
        inputs = BenchmarkRunArgsSchema.parse({
            pairs: [{ label: "veth", client: { kind: "host", host: host(b, "b") }, server: { kind: "host", host: host(a, "a"), address: `${net}.1` } }],
            tests: [
                { kind: "udp", rateMbps: 50, size: 1200 },
                { kind: "icmp", count: 10, interval: 0.01 },
            ],
            settings: { duration: 1, repetitions: 3, warmup: 1, precision: { relative: 0.05, maxRepetitions: 8 } },
            resultsDir: results,
        });
    });

    after(() => {
        for (const ns of [a, b]) dropNetns(ns);
        if (results) fs.rmSync(results, { recursive: true, force: true });
    });

    it("runs the minimum, then rounds of the unfinished cells only; a resumed run measures only what is missing", async () => {
        const ctx = handlerCtx("BenchmarkRun", "p", { project: "precision" });
        const doc = ResultsDocSchema.parse((await benchmarkHandler.create(ctx, inputs)).outs.results);
        const lines = ctx.log.lines.filter((l) => l.startsWith("status: ")).map((l) => l.slice("status: ".length));
        assert.equal(
            lines.filter((l) => /^\[\d+\/8\] veth \S+ repetition \d\/3 \(minimum; then up to 8 where wider than ±5%\)(; about .+)?$/.test(l)).length,
            6,
            lines.join("\n"),
        );
        // From the second step on, the time left in the round, and at most if every cell runs to the cap.
        assert.match(
            lines[1],
            /; about \d+(\.\d)? (s|min|h) left in this round, at most \d+(\.\d)? (s|min|h) if every open cell runs to 8 repetitions$/,
            lines[1],
        );
        for (const c of doc.cells) {
            const n = c.repetitions.length;
            assert.ok(c.stop && (c.stop.reason === "cap" ? n === 8 : c.stop.reason === "precise" && n >= 7), `${c.cell}: ${n} ${JSON.stringify(c.stop)}`);
            // Round r ran this cell exactly when it had fewer than r repetitions and was not precise.
            const rounds = lines.filter((l) => new RegExp(`of round \\d+\\] veth ${c.cell} repetition`).test(l)).length;
            assert.equal(rounds, n - 3, `${c.cell}: extra rounds`);
        }
        console.log(
            `      ${doc.cells.map((c) => `${c.cell}: n ${c.repetitions.length}, ${c.stop?.reason}, ±${((c.stop?.relative ?? Number.NaN) * 100).toFixed(1)}%`).join("; ")}`,
        );
        const extra = lines.filter((l) => / of round \d+\]/.test(l));
        assert.ok(
            extra.every((l) =>
                /\((1|2) of 2 cells still wider than ±5%, at most 8 repetitions\); about \d+ s left in this round, at most \d+ s if every open cell runs to 8 repetitions$/.test(
                    l,
                ),
            ),
            extra.join("\n"),
        );
        // Interrupted in the last round: the progress file as the run had it, the last repetition's record gone.
        const last = doc.cells.reduce((x, c) => (c.repetitions.length > x.repetitions.length ? c : x));
        const hash = sha256Hex(JSON.stringify({ pairs: inputs.pairs, tests: inputs.tests, settings: inputs.settings, triggers: inputs.triggers }));
        fs.writeFileSync(progressFile(results, ctx), JSON.stringify({ hash, timestamp: last.rawDir.split("/")[2] }));
        fs.rmSync(path.join(results, last.rawDir, `rep-${last.repetitions.length}.meta.json`));
        const again = { ...ctx, log: new MemoryLogger() };
        const redo = ResultsDocSchema.parse((await benchmarkHandler.create(again, inputs)).outs.results);
        const measured = again.log.lines.filter((l) => l.startsWith("status: "));
        assert.equal(measured.length, 1, measured.join("\n"));
        assert.match(measured[0], new RegExp(`veth ${last.cell} repetition ${last.repetitions.length} `));
        assert.deepEqual(
            redo.cells.map((c) => c.repetitions.length),
            doc.cells.map((c) => c.repetitions.length),
        );
    });
});
