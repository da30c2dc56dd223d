// Precision-driven repetitions: the settings' checks, the stopping rule, the schedule of extra
// rounds (interleaved, capped, failed cells skipped), the stop record in the results document,
// and, by seeded simulation with realistic noise, that the interval reported after a cell stopped
// on its width still covers the true median at the confidence asked.
import { strict as assert } from "node:assert";
import { resultsDocument } from "../../../../core/bench/document";
import type { RepRecord } from "../../../../core/bench/aggregate";
import { atTarget, decisionLevel, isPrecise, nextRound, precisionMetric, reached, stopOf } from "../../../../core/bench/precision";
import { ResultsDocSchema } from "../../../../core/bench/results";
import { type Cell, RunSettingsSchema, type RunSettings, type Step, expandCells, schedule } from "../../../../core/bench/spec";
import { medianInterval, mulberry32 } from "../../../../core/bench/stats";
import { voltMarkdown } from "../../../../core/report/volt";
import { parseStackConfig } from "../../../../schema/testbed-config";

const cells = expandCells([
    { kind: "tcp", streams: 1, reverse: false },
    { kind: "icmp", count: 10, interval: 0.01, size: 56 },
    { kind: "pps", sizes: [64] },
]);
const precise = RunSettingsSchema.parse({ repetitions: 5, precision: {} });
const name = (s: Step) => `${s.repetition}:${s.cell.id}:${s.pair}`;

/** Noise of one cell's repetitions: lognormal at `cv`, 5% bad repetitions (x0.3-0.7 or x1.5-3), a linear drift of up to 5% over the run. */
function noisyCell(rand: () => number, cv: number, cap: number) {
    const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const sigma = Math.sqrt(Math.log(1 + cv * cv));
    const drift = (rand() < 0.5 ? -1 : 1) * 0.05 * rand();
    const level = (r: number) => 1 + drift * (r / (cap - 1) - 0.5);
    return {
        level,
        value(r: number): number {
            const bad = rand() < 0.05 ? (rand() < 0.5 ? 0.3 + 0.4 * rand() : 1.5 + 1.5 * rand()) : 1;
            return 100 * Math.exp(sigma * normal()) * level(r) * bad;
        },
    };
}

/**
 * Runs the stopping rule on simulated cells: the share whose interval (at the confidence asked) covers
 * the true median, that of the clean distribution at the mean drift over the repetitions taken.
 */
function coverage(settings: RunSettings, cv: number, trials: number, judgeAt: number, seed: number) {
    const p = settings.precision!;
    const rand = mulberry32(seed);
    let covered = 0;
    let level = 0;
    let n = 0;
    let precise = 0;
    for (let t = 0; t < trials; t++) {
        const cell = noisyCell(rand, cv, p.maxRepetitions);
        const v: number[] = [];
        for (let r = 0; r < settings.repetitions; r++) v.push(cell.value(r));
        let done = false;
        while (!(done = isPrecise(reached(v, judgeAt), { relative: p.relative, confidence: 2 * judgeAt - 1 })) && v.length < p.maxRepetitions)
            v.push(cell.value(v.length));
        const ci = medianInterval(v, judgeAt)!;
        const truth = (100 * v.reduce((a, _, r) => a + cell.level(r), 0)) / v.length;
        covered += ci.low <= truth && truth <= ci.high ? 1 : 0;
        level += ci.level;
        n += v.length;
        precise += done ? 1 : 0;
    }
    return { coverage: covered / trials, level: level / trials, n: n / trials, precise: precise / trials };
}

/** The run loop's schedule on simulated measurements (one noise level per cell id), and its results document. */
function simulatedRun(settings: RunSettings, cv: Record<string, number>, failed: Set<string>) {
    const rand = mulberry32(5);
    const pairs = [
        { label: "a", client: host, server: host },
        { label: "b", client: host, server: host },
    ];
    const steps = schedule(2, cells, settings);
    const records = new Map<string, RepRecord>();
    const measure = (list: Step[]) => {
        for (const s of list) {
            if (s.warmup || failed.has(`${s.cell.id}:${s.pair}`)) continue;
            const v = 100 * Math.exp(cv[s.cell.id] * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
            const rec: RepRecord = { index: s.repetition, warmup: false, metrics: { [precisionMetric(s.cell)]: v }, raw: "", seconds: 1, nominal: 1 };
            records.set(`${pairs[s.pair].label}/${s.cell.id}/rep-${s.repetition + 1}`, rec);
        }
    };
    measure(steps);
    const valuesOf = (pair: number, cell: Cell) =>
        failed.has(`${cell.id}:${pair}`)
            ? undefined
            : steps
                  .filter((s) => s.pair === pair && s.cell.id === cell.id && !s.warmup)
                  .map((s) => records.get(`${pairs[pair].label}/${cell.id}/rep-${s.repetition + 1}`)!.metrics[precisionMetric(cell)]);
    for (let r = settings.repetitions; ; r++) {
        const round = nextRound(2, cells, r, settings, valuesOf);
        if (round.length === 0) break;
        steps.push(...round);
        measure(round);
    }
    const failedMap = new Map([...failed].map((k) => [`${pairs[Number(k.split(":")[1])].label}/${k.split(":")[0]}`, "simulated failure"]));
    const doc = resultsDocument(
        { name: "sim", startedAt: 0, finishedAt: 1000, resultsDir: "/r", settings },
        { machines: {}, guests: {} },
        { pairs, topology: ["host-host", "host-host"], pairDir: ["a", "b"], cells, steps, records, failed: failedMap },
    );
    return { steps, doc };
}

const host = { kind: "host" as const, host: { name: "h" } };

describe("precision-driven repetitions", () => {
    it("settings: defaults, and errors that name the field and the fix", () => {
        assert.deepEqual(precise.precision, { relative: 0.05, confidence: 0.95, maxRepetitions: 15 });
        assert.equal(RunSettingsSchema.parse({}).precision, undefined, "fixed repetitions stay the default");
        const issues = (v: unknown) => {
            const r = RunSettingsSchema.safeParse(v);
            return r.success ? "" : r.error.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join("\n");
        };
        assert.match(
            issues({ repetitions: 8, precision: { maxRepetitions: 6 } }),
            /precision.maxRepetitions: must be at least repetitions \(8\).*raise it or lower repetitions/,
        );
        // 0.99 is judged at 0.995: [min, max] needs 9 values (1 - 2/512).
        assert.match(
            issues({ repetitions: 3, precision: { confidence: 0.99, maxRepetitions: 8 } }),
            /precision.confidence: .*raise maxRepetitions to 9 or more, or lower confidence/,
        );
        assert.equal(issues({ repetitions: 3, precision: { confidence: 0.99, maxRepetitions: 9 } }), "");
        assert.match(issues({ precision: { relative: 0 } }), /precision.relative: must be above 0/);
        assert.match(issues({ precision: { bogus: 1 } }), /precision: Unrecognized key/);
    });

    it("a stack's benchmark settings pass precision through, with its errors placed under benchmark.settings", () => {
        const config = (settings: unknown) => ({
            hosts: { a: { kind: "netns" } },
            benchmark: { tests: [{ kind: "tcp" }], settings, pairs: [{ label: "x", client: { host: "a" }, server: { host: "a", address: "10.0.0.1" } }] },
        });
        const ok = parseStackConfig(config({ repetitions: 5, precision: { relative: 0.1 } }));
        assert.deepEqual(ok.benchmark?.settings.precision, { relative: 0.1, confidence: 0.95, maxRepetitions: 15 });
        assert.throws(
            () => parseStackConfig(config({ repetitions: 5, precision: { maxRepetitions: 4 } })),
            /testbed:benchmark\.settings\.precision\.maxRepetitions: must be at least repetitions \(5\)/,
        );
    });

    it("the precision reached: the interval's half-width over |median|, at the level its n gives", () => {
        const v = [100, 104, 99, 101, 97, 100, 102];
        // n = 7 at 97.5%: only [min, max] (98.4%); median 100, 97 below it and 104 above: +-4%.
        assert.deepEqual(reached(v, 0.975), { relative: 0.04, level: 1 - 2 / 128 });
        assert.equal(isPrecise(reached(v, 0.975), { relative: 0.04, confidence: 0.95 }), true);
        assert.equal(isPrecise(reached(v, 0.975), { relative: 0.039, confidence: 0.95 }), false);
        // Six values: [min, max] covers 96.9%, below the 97.5% the rule judges a 95% target at.
        assert.equal(isPrecise(reached(v.slice(0, 6), 0.975), { relative: 1, confidence: 0.95 }), false);
        assert.deepEqual(reached([1, 2, 3], 0.95), { relative: null, level: null }, "no interval at n <= 3");
        assert.deepEqual(reached([0, 0, 0, 0, 0, 0, 0], 0.975).relative, 0);
        assert.equal(reached([-1, 0, 0, 0, 0, 0, 1], 0.975).relative, null, "no relative width around a median of 0");
        assert.equal(decisionLevel(0.95), 0.975);
    });

    it("the metric deciding a cell is its headline: throughput, rate or P50 round trip", () => {
        assert.deepEqual(
            cells.map((c) => precisionMetric(c)),
            ["gbps", "p50ms", "pps"],
        );
        const [load] = expandCells([{ kind: "load", protocol: "udp", mps: [100, 1000], factor: 2, size: 64 }]);
        assert.equal(precisionMetric(load), "p50us@100");
    });

    it("extra rounds: the unfinished cells of every pair in the first rounds' order; precise, failed and capped cells skipped", () => {
        const values = new Map<string, number[] | undefined>([
            ["tcp-1:0", [10, 10.1, 9.9, 10, 10.05, 9.95, 10]], // +-1%: precise
            ["tcp-1:1", [10, 12, 8, 11, 9, 10, 10.5]],
            ["icmp-56:0", [1, 2, 1.5, 1.2, 0.8, 1.1, 1.3]],
            ["icmp-56:1", undefined], // failed
            ["pps-64:0", [5, 6, 4, 5.5, 4.5, 5, 5.2]],
            ["pps-64:1", [5, 5, 5, 5, 5, 5, 5]], // no spread: precise
        ]);
        const of = (pair: number, cell: Cell) => values.get(`${cell.id}:${pair}`);
        assert.deepEqual(nextRound(2, cells, 7, precise, of).map(name), ["7:tcp-1:1", "7:icmp-56:0", "7:pps-64:0"]);
        assert.deepEqual(nextRound(2, cells, 14, precise, of).map(name), ["14:tcp-1:1", "14:icmp-56:0", "14:pps-64:0"]);
        assert.deepEqual(nextRound(2, cells, 15, precise, of), [], "the cap: 15 repetitions at most");
        assert.deepEqual(nextRound(2, cells, 4, precise, of), [], "below the minimum the first rounds run");
        const fixed = RunSettingsSchema.parse({ repetitions: 5 });
        assert.deepEqual(nextRound(2, cells, 5, fixed, of), [], "fixed repetitions: no extra round");
    });

    it("a whole run: the first rounds as before, extra rounds until every cell is precise or capped, stop reasons in the document", () => {
        const settings = RunSettingsSchema.parse({ duration: 1, repetitions: 5, warmup: 1, precision: { relative: 0.05, maxRepetitions: 12 } });
        const run = simulatedRun(settings, { "tcp-1": 0.01, "icmp-56": 0.3, "pps-64": 0.03 }, new Set(["icmp-56:1"]));
        const extra = run.steps.filter((s) => s.repetition >= 5);
        // Every extra round keeps the first rounds' order (cells, then pairs).
        const order = (s: Step) => cells.findIndex((c) => c.id === s.cell.id) * 2 + s.pair;
        for (let r = 5; r < 12; r++) {
            const round = extra.filter((s) => s.repetition === r).map(order);
            assert.deepEqual(
                round,
                [...round].sort((a, b) => a - b),
                `round ${r + 1} interleaved`,
            );
        }
        assert.ok(!extra.some((s) => s.cell.id === "icmp-56" && s.pair === 1), "a failed cell gets no extra round");
        const doc = ResultsDocSchema.parse(run.doc);
        const stop = (pair: string, cell: string) => doc.cells.find((c) => c.pair === pair && c.cell === cell)!.stop!;
        assert.equal(stop("a", "tcp-1").reason, "precise");
        assert.ok(stop("a", "tcp-1").relative! <= 0.05 && stop("a", "tcp-1").level! >= 0.975);
        assert.equal(stop("a", "icmp-56").reason, "cap");
        assert.equal(doc.cells.find((c) => c.pair === "a" && c.cell === "icmp-56")!.metrics.p50ms.n, 12);
        assert.equal(stop("b", "icmp-56").reason, "failed");
        assert.equal(stop("a", "tcp-1").metric, "gbps");
        assert.deepEqual(doc.run.settings.precision, settings.precision);
        // A fixed run says so, with the precision its repetitions reached.
        const fixed = simulatedRun(
            RunSettingsSchema.parse({ duration: 1, repetitions: 5, warmup: 0 }),
            { "tcp-1": 0.01, "icmp-56": 0.3, "pps-64": 0.03 },
            new Set(),
        );
        assert.ok(fixed.doc.cells.every((c) => c.stop?.reason === "fixed" && c.stop.level === 1 - 2 / 32));
        // The comparison bench's rule after the fact agrees with the stopping, and fixed 5 repetitions never reach 97.5%.
        const target = settings.precision!;
        assert.deepEqual(
            doc.cells.map((c) => atTarget(c, target)),
            doc.cells.map((c) => c.stop?.reason === "precise"),
        );
        assert.ok(fixed.doc.cells.every((c) => !atTarget(c, target)));
        // Older documents, without stop records, still load.
        const { stop: _s, ...old } = fixed.doc.cells[0];
        assert.equal(ResultsDocSchema.parse({ ...fixed.doc, cells: [old] }).cells[0].stop, undefined);
    });

    it("the report: one line per cell with the precision reached and why it stopped", () => {
        const settings = RunSettingsSchema.parse({ duration: 1, repetitions: 5, warmup: 1, precision: { relative: 0.05, maxRepetitions: 12 } });
        const md = voltMarkdown(simulatedRun(settings, { "tcp-1": 0.01, "icmp-56": 0.3, "pps-64": 0.03 }, new Set(["icmp-56:1"])).doc);
        const section = md.slice(md.indexOf("### Repetitions and Precision"));
        assert.match(section, /\| tcp-1 \(gbps\) +\| +±\d\.\d% at 98\.4%, n 7, precise \| +±\d\.\d% at 98\.4%, n 7, precise \|/);
        assert.match(section, /\| icmp-56 \(p50ms\) +\| +±\d+\.\d% at 99\.\d%, n 12, cap \| +failed \|/);
        assert.match(section, /precise \(reached: [1-9] of 6\), cap \(12 repetitions first: [1-9]\), failed \(1\)/);
        assert.match(md, /Repetitions: 5 to 12 per cell/);
        assert.match(md, /Medians of 7-12 repetitions/);
        const fixed = voltMarkdown(
            simulatedRun(RunSettingsSchema.parse({ duration: 1, repetitions: 5, warmup: 0 }), { "tcp-1": 0.01, "icmp-56": 0.3, "pps-64": 0.03 }, new Set()).doc,
        );
        assert.match(fixed, /\| tcp-1 \(gbps\) +\| +±\d\.\d% at 93\.8%, n 5, fixed \|/);
        assert.match(fixed, /Every cell ran the set 5 repetitions \(fixed\)/);
    });

    it("stop reasons from a cell's values", () => {
        const tight = [10, 10, 10.1, 9.9, 10, 10, 10.02];
        assert.equal(stopOf(cells[0], tight, false, precise).reason, "precise");
        assert.equal(stopOf(cells[0], [1, 2, 3, 4, 5, 6, 7], false, precise).reason, "cap");
        assert.equal(stopOf(cells[0], tight, true, precise).reason, "failed");
        assert.equal(stopOf(cells[0], tight, false, {}).reason, "fixed");
    });

    it("after stopping on width, the reported interval still covers the true median at the confidence asked (lognormal CV 2-30%, 5% bad repetitions, drift)", function () {
        this.timeout(60_000);
        const rows: string[] = [];
        for (const relative of [0.05, 0.1]) {
            const settings = RunSettingsSchema.parse({ repetitions: 5, precision: { relative, confidence: 0.95, maxRepetitions: 15 } });
            for (const cv of [0.02, 0.05, 0.1, 0.2, 0.3]) {
                const seed = 20 + Math.round(cv * 100) + relative * 1000;
                const rule = coverage(settings, cv, 4000, decisionLevel(0.95), seed);
                const naive = coverage(settings, cv, 4000, 0.95, seed);
                rows.push(
                    `±${relative * 100}% CV ${(cv * 100).toFixed(0).padStart(2)}%: covered ${(rule.coverage * 100).toFixed(1)}% (stated level ${(rule.level * 100).toFixed(1)}%), mean n ${rule.n.toFixed(1)}, precise ${(rule.precise * 100).toFixed(0)}%; judged at 95% itself: covered ${(naive.coverage * 100).toFixed(1)}%, precise ${(naive.precise * 100).toFixed(0)}%`,
                );
                // 4000 trials: a standard error of 0.35 points at 95%.
                assert.ok(rule.coverage >= 0.95 - 0.01, rows[rows.length - 1]);
            }
        }
        console.log(`      ${rows.join("\n      ")}`);
    });
});
