// A/B comparison of two results documents: per matched cell and metric, the A/B rule of
// abtest.ts on the per-repetition values. Pure: documents in, a comparison out (its markdown is
// core/report/compare.ts).
//
// Matching: a cell of A and a cell of B are the same cell when their key is equal. The key is
//   pair label + cell id + the test-defining dimensions (test, size, streams, reverse, protocol)
// (the cell id already encodes the test parameters; the dimensions guard against ids reused by
// another netbed version). Everything else (topology, backend, client, server, vmm, accel,
// kernel, vcpus, memoryMiB, pinning, security, load) is what an A/B typically changes, so it is not
// a key: a difference is listed on the matched cell ("backend virtio -> vhost-net") so the reader
// sees what changed. With `pairA`/`pairB` (one pair of each side, e.g. virtio vs vhost-net in one
// run) the pair label leaves the key.
//
// Pairing: rep i of pair X and rep i of pair Y of ONE run were measured back to back (BenchmarkRun
// interleaves pairs within each repetition round), so they share the machine's drift and a paired
// sign-flip test removes it. Two separate runs were each interleaved internally but not with each
// other: their rep i are minutes or days apart and share nothing, so pairing them would only cost
// power (2^n sign flips instead of C(2n, n) splits). Hence paired = "auto": both sides from the same
// run (same name and start time), the same repetition indices, and enough repetitions for the paired
// test to reach alpha (2/2^n <= alpha: 8 at 0.01; with fewer, the unpaired test, which can reach
// 0.01 from 5, is the better choice); "always" pairs whenever the indices match; "never" does not pair.
//
// The family: every metric test of the comparison is one decision that can fail the gate, so their
// p-values are adjusted together by Holm's step-down and each verdict comes from its adjusted p: the
// chance that ANY unchanged metric is called stays at most alpha (where each test is valid: one
// interleaved run, or drift calibrated). Holm's first step tests the smallest p at alpha / family
// size, so the pairing rule above and "underpowered" use that level, and a comparison none of whose
// metrics can reach it is underpowered as a whole (core/ab/gate.ts gives it its own exit code).
import type { CellResult, ResultsDoc } from "../bench/results";
import { type MetricComparison, type Verdict, compareMetric, fmtLevel, judge, repetitionsNeeded, thresholdFor } from "./abtest";
import { holm } from "./multiplicity";

export interface CompareOptions {
    /** Significance level of the permutation test (default 0.01). */
    alpha?: number;
    /** Noise threshold on |relative change of the median| (default 0.05 = 5%). */
    threshold?: number;
    /** Per-metric thresholds: a metric name, or a prefix ending in '*' ("p99us*"); the longest match wins. */
    thresholds?: Record<string, number>;
    paired?: "auto" | "always" | "never";
    /** Seed of the bootstrap and Monte Carlo permutations: the same inputs always give the same output. */
    seed?: number;
    /** Bootstrap resamples for the interval (default 4000). */
    resamples?: number;
    /** Enumerate every arrangement when there are at most this many (default 200000: 10 vs 10 splits, 17 sign flips), else Monte Carlo. */
    exactLimit?: number;
    /** Random arrangements of the Monte Carlo test (default 20000). */
    permutations?: number;
    /** Compare only this pair of A with only pairB of B (the pair label leaves the match key). */
    pairA?: string;
    pairB?: string;
    /** The thresholds were raised from an A/A of separate runs (`--noise`): drift between runs is accounted for. */
    noiseCalibrated?: boolean;
}

export interface CellComparison {
    pairA: string;
    pairB: string;
    cell: string;
    status: "compared" | "only in A" | "only in B" | "failed";
    /** Which side(s) failed, with the recorded error. */
    failed?: { side: "A" | "B"; error: string }[];
    paired?: boolean;
    pairedWhy?: string;
    /** Non-key dimensions that differ between A and B (what the A/B changed). */
    differences: { dimension: string; a: unknown; b: unknown }[];
    metrics: MetricComparison[];
    metricsOnlyA: string[];
    metricsOnlyB: string[];
}

export interface RunInfo {
    name: string;
    started: string;
    repetitions: number;
    duration: number;
    source?: string;
}

/** Version of the comparison's JSON (`netbed compare --json`), for tools that gate on it. */
const COMPARISON_VERSION = 2;

/** The multiplicity procedure of the gate, as every output states it. */
export interface FamilySettings {
    procedure: "holm";
    /** What it keeps at most alpha: the chance of any false call over the family. */
    controls: "family-wise error rate";
    /** Metric tests in the family: every metric of every compared cell. */
    size: number;
}

export interface Comparison {
    version: typeof COMPARISON_VERSION;
    a: RunInfo;
    b: RunInfo;
    settings: {
        alpha: number;
        threshold: number;
        thresholds: Record<string, number>;
        paired: "auto" | "always" | "never";
        seed: number;
        ciLevel: number;
        family: FamilySettings;
    };
    cells: CellComparison[];
    counts: {
        compared: number;
        tests: number;
        regressions: number;
        improvements: number;
        changes: number;
        underpowered: number;
        onlyA: number;
        onlyB: number;
        failed: number;
        newlyFailed: number;
    };
    /**
     * "regression" when any metric regressed (adjusted p <= alpha, beyond its threshold) or a cell that
     * worked in A failed in B; else "underpowered" when no metric of the family can reach alpha with
     * these repetitions (nothing could have been called); else "ok".
     */
    verdict: "regression" | "underpowered" | "ok";
    /** Whether the family can call anything, and the repetitions per side (unpaired) that let every metric reach Holm's first step. */
    power: { callable: number; underpowered: boolean; repetitionsNeeded: number };
    /**
     * Whether drift between the two sides is accounted for: "same run" (pairs interleaved in one run
     * share the machine's state), "calibrated" (thresholds from an A/A of separate runs), or
     * "uncalibrated" (separate runs at the default threshold: a statistical regression may be drift).
     */
    drift: "same run" | "calibrated" | "uncalibrated";
    notes: string[];
}

/** FNV-1a: a per-metric seed so a metric's numbers do not depend on which other cells are compared. */
function hash(s: string, seed: number): number {
    let h = (0x811c9dc5 ^ seed) >>> 0;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return h;
}

/**
 * The per-repetition values of a cell, by repetition index, with the host CPU per unit of work
 * from each repetition's CPU accounting and the work its tool counted over the same window (the
 * command). Percentile metrics stay per repetition even where the cell pools its samples: a
 * repetition, not an echo, is what the permutation test may exchange (echoes of one repetition
 * share the machine's state). A document without counted work (version 2) gets its CPU cost under
 * the old names and formula, `duration` as the work's time, so two such documents still compare
 * and neither compares with a newer one; a counted TCP_CRR has none (its count is not in it).
 */
export function repetitionValues(cell: CellResult, duration: number): Map<string, Map<number, number>> {
    const out = new Map<string, Map<number, number>>();
    const put = (metric: string, index: number, v: number) => {
        if (!Number.isFinite(v)) return;
        const m = out.get(metric) ?? new Map<number, number>();
        m.set(index, v);
        out.set(metric, m);
    };
    for (const r of cell.repetitions) {
        for (const [k, v] of Object.entries(r.metrics)) put(k, r.index, v);
        if (!r.cpu) continue;
        // Host CPU per unit of work, not raw CPU-seconds: a faster transfer in a fixed-duration test
        // burns more CPU, and that must not read as a regression.
        const busy = Object.values(r.cpu.machines).reduce((s, x) => s + x.busy, 0);
        const cost = r.volume ? workCost(cell, busy, r.volume) : legacyCost(cell, busy, r.metrics, duration);
        if (cost) put(cost[0], r.index, cost[1]);
        else if (!["tcp", "udp", "pps", "rr"].includes(cell.dimensions.test)) put("cpuBusySeconds", r.index, busy);
    }
    return out;
}

type Volume = NonNullable<CellResult["repetitions"][number]["volume"]>;

/** Busy host CPU over the command per unit of work the tool counted in it: datagrams in a packet-rate cell, Gbit received, or transactions (echoes of a flood ping). */
function workCost(cell: CellResult, busy: number, v: Volume): [string, number] | undefined {
    if (cell.dimensions.test === "pps" && v.packets) return ["hostCpuUsPerPacket", (busy * 1e6) / v.packets];
    if (v.kb) return ["hostCpuSecondsPerGbit", busy / ((v.kb * 1024 * 8) / 1e9)];
    if (v.transactions) return ["hostCpuUsPerTransaction", (busy * 1e6) / v.transactions];
    return undefined;
}

/** Version 2 documents: the rate times the nominal duration stood for the work done. */
function legacyCost(cell: CellResult, busy: number, m: Record<string, number>, duration: number): [string, number] | undefined {
    if (m.gbps > 0) return ["cpuSecondsPerGbit", busy / (m.gbps * duration)];
    if (m.tps > 0 && cell.dimensions.protocol !== "TCP_CRR") return ["cpuUsPerTr", (busy * 1e6) / (m.tps * duration)];
    return undefined;
}

const KEY_DIMENSIONS = ["test", "size", "streams", "reverse", "protocol"] as const;

function cellKey(c: CellResult, withPair: boolean): string {
    const d = c.dimensions as Record<string, unknown>;
    return JSON.stringify([withPair ? c.pair : "", c.cell, ...KEY_DIMENSIONS.map((k) => d[k] ?? null)]);
}

/**
 * Per-metric thresholds from an A/A comparison (two runs of one configuration): for each metric
 * name, the largest |change of the median| any cell showed, where it exceeds `base`. Separate runs
 * drift more than one run's repetitions vary (the machine's state moves between them), which a
 * permutation test on repetitions cannot see; a change no larger than an A/A produced is not
 * called. Rounded up to 0.1%.
 */
export function noiseThresholds(aa: Comparison, base: number): Record<string, number> {
    const worst = new Map<string, number>();
    for (const c of aa.cells) {
        for (const m of c.metrics) {
            if (m.change === null || !Number.isFinite(m.change)) continue;
            worst.set(m.metric, Math.max(worst.get(m.metric) ?? 0, Math.abs(m.change)));
        }
    }
    const out: Record<string, number> = {};
    for (const [metric, w] of [...worst].sort(([x], [y]) => x.localeCompare(y))) {
        const t = Math.ceil(w * 1000 - 1e-9) / 1000;
        if (t > base) out[metric] = t;
    }
    return out;
}

function sameIndices(a: Map<number, number>, b: Map<number, number>): boolean {
    return a.size === b.size && [...a.keys()].every((k) => b.has(k));
}

type Doc = Pick<ResultsDoc, "run" | "cells" | "environment" | "warnings">;

/** The options with their defaults, checked. */
function settingsOf(opts: CompareOptions): Omit<Comparison["settings"], "family"> {
    const alpha = opts.alpha ?? 0.01;
    const threshold = opts.threshold ?? 0.05;
    if (!(alpha > 0 && alpha < 1)) throw new Error(`alpha must be in (0, 1), got ${alpha}`);
    if (!(threshold >= 0)) throw new Error(`threshold must be >= 0, got ${threshold}`);
    if ((opts.pairA === undefined) !== (opts.pairB === undefined)) throw new Error("pairA and pairB go together (one pair of each side)");
    return { alpha, threshold, thresholds: opts.thresholds ?? {}, paired: opts.paired ?? "auto", seed: opts.seed ?? 0x5eed, ciLevel: 1 - alpha };
}

/** A side's cells (of one pair, if given) by match key. */
function selectCells(doc: Doc, pair: string | undefined, side: string, withPair: boolean): Map<string, CellResult> {
    const cells = pair === undefined ? doc.cells : doc.cells.filter((c) => c.pair === pair);
    if (pair !== undefined && cells.length === 0) {
        throw new Error(`${side} (${doc.run.name}) has no pair '${pair}'; its pairs: ${[...new Set(doc.cells.map((c) => c.pair))].join(", ")}`);
    }
    const m = new Map<string, CellResult>();
    for (const c of cells) {
        const k = cellKey(c, withPair);
        if (m.has(k)) throw new Error(`${side} (${doc.run.name}) holds cell ${c.cell} of pair ${c.pair} twice`);
        m.set(k, c);
    }
    return m;
}

/** Non-key dimensions that differ between the two sides of a matched cell. */
function differencesOf(a: CellResult, b: CellResult): CellComparison["differences"] {
    const differences: CellComparison["differences"] = [];
    const da = a.dimensions as Record<string, unknown>;
    const db = b.dimensions as Record<string, unknown>;
    for (const d of [...new Set([...Object.keys(da), ...Object.keys(db)])]) {
        if ((KEY_DIMENSIONS as readonly string[]).includes(d)) continue;
        if (JSON.stringify(da[d]) !== JSON.stringify(db[d])) differences.push({ dimension: d, a: da[d] ?? null, b: db[d] ?? null });
    }
    return differences;
}

type Values = Map<string, Map<number, number>>;

/** Whether repetition i of A and of B are compared as a pair, and why. */
function pairingOf(va: Values, vb: Values, common: string[], mode: CompareOptions["paired"], sameRun: boolean): { paired: boolean; pairedWhy: string } {
    if (mode !== "always") {
        const why =
            mode === "never"
                ? "unpaired (paired: never)"
                : "unpaired: pairing by repetition index cost more power than the drift it removes at every n simulated (docs/statistics.md); --paired always pairs";
        return { paired: false, pairedWhy: why };
    }
    if (!common.every((m) => sameIndices(va.get(m)!, vb.get(m)!)))
        return { paired: false, pairedWhy: "unpaired: the two sides do not have the same repetition indices" };
    return {
        paired: true,
        pairedWhy: sameRun ? "paired by repetition index: both pairs were interleaved in the same run" : "paired by repetition index (paired: always)",
    };
}

interface Sides {
    A: Doc;
    B: Doc;
    settings: Omit<Comparison["settings"], "family">;
    opts: CompareOptions;
    sameRun: boolean;
    /** Holm's first-step level, alpha / family size: what the pairing rule must be able to reach. */
    level: number;
}

/** A matched cell's per-repetition values and the metrics both sides have (none where a side failed). */
interface Matched {
    a: CellResult;
    b: CellResult;
    va: Values;
    vb: Values;
    common: string[];
}

function matched(a: CellResult, b: CellResult, A: Doc, B: Doc): Matched {
    if (a.status === "failed" || b.status === "failed") return { a, b, va: new Map(), vb: new Map(), common: [] };
    const va = repetitionValues(a, A.run.settings.duration);
    const vb = repetitionValues(b, B.run.settings.duration);
    return { a, b, va, vb, common: [...va.keys()].filter((m) => vb.has(m)) };
}

type FailedSide = { side: "A" | "B"; error: string };

/** One matched cell: its differences, then either its failures or every common metric compared (verdicts before the family's adjustment). */
function compareCell({ a, b, va, vb, common }: Matched, s: Sides): CellComparison {
    // The JSON output's key order: the spreads below keep the base's positions.
    const base = { pairA: a.pair, pairB: b.pair, cell: a.cell, differences: [], metrics: [], metricsOnlyA: [], metricsOnlyB: [] };
    const differences = differencesOf(a, b);
    const failed = [
        a.status === "failed" ? { side: "A" as const, error: a.error ?? "failed" } : undefined,
        b.status === "failed" ? { side: "B" as const, error: b.error ?? "failed" } : undefined,
    ].filter((x): x is FailedSide => x !== undefined);
    if (failed.length > 0) return { ...base, status: "failed", failed, differences };
    const { paired, pairedWhy } = pairingOf(va, vb, common, s.settings.paired, s.sameRun);
    const metrics = common.map((m) =>
        compareMetric(m, va.get(m)!, vb.get(m)!, {
            paired,
            alpha: s.settings.alpha,
            threshold: thresholdFor(m, s.settings.threshold, s.settings.thresholds),
            seed: hash(`${a.pair}/${b.pair}/${a.cell}/${m}`, s.settings.seed),
            resamples: s.opts.resamples,
            exactLimit: s.opts.exactLimit,
            permutations: s.opts.permutations,
        }),
    );
    return {
        ...base,
        status: "compared",
        paired,
        pairedWhy,
        differences,
        metrics,
        metricsOnlyA: [...va.keys()].filter((m) => !vb.has(m)),
        metricsOnlyB: [...vb.keys()].filter((m) => !va.has(m)),
    };
}

function countsOf(cells: CellComparison[]): Comparison["counts"] {
    const all = cells.flatMap((c) => c.metrics);
    const count = (v: Verdict) => all.filter((m) => m.verdict === v).length;
    return {
        compared: cells.filter((c) => c.status === "compared").length,
        tests: all.length,
        regressions: count("regression"),
        improvements: count("improvement"),
        changes: count("change"),
        underpowered: count("underpowered"),
        onlyA: cells.filter((c) => c.status === "only in A").length,
        onlyB: cells.filter((c) => c.status === "only in B").length,
        failed: cells.filter((c) => c.status === "failed").length,
        // A cell that worked in A and fails in B is a regression a CI gate must see.
        newlyFailed: cells.filter((c) => c.status === "failed" && c.failed!.every((f) => f.side === "B")).length,
    };
}

/** The family's power: how many metrics can reach Holm's first step, and the repetitions that let all of them. */
function powerOf(all: MetricComparison[], alpha: number): Comparison["power"] {
    const level = alpha / Math.max(1, all.length);
    const callable = all.filter((m) => m.minPValue <= level).length;
    return { callable, underpowered: all.length > 0 && callable === 0, repetitionsNeeded: repetitionsNeeded(level, false) };
}

/** What the reader must know to trust the verdict: the family, power, drift, and how the runs differ. */
function notesOf(A: Doc, B: Doc, c: Pick<Comparison, "cells" | "counts" | "settings" | "power" | "drift">): string[] {
    const notes: string[] = [];
    const { alpha, family } = c.settings;
    const level = fmtLevel(alpha / Math.max(1, family.size));
    if (family.size > 0) {
        notes.push(
            `the ${family.size} metric tests are one family: Holm's step-down adjusts their p-values, so the chance that any unchanged metric is called is at most ${alpha} where each test is valid (one interleaved run, or drift calibrated); the smallest p must reach ${level}.`,
        );
    }
    if (c.power.underpowered)
        notes.push(
            `UNDERPOWERED: no metric can be called; the smallest p these repetitions allow is above ${level} (alpha ${alpha} / ${family.size} tests). Rerun with at least ${c.power.repetitionsNeeded} repetitions per side (settings.repetitions), or compare fewer cells.`,
        );
    else if (c.counts.underpowered > 0)
        notes.push(
            `${c.counts.underpowered} metric(s) cannot reach p <= ${level} with their repetition counts: rerun with at least ${c.power.repetitionsNeeded} repetitions per side (settings.repetitions).`,
        );
    if (c.drift === "uncalibrated" && family.size > 0) {
        notes.push(
            "separate runs, thresholds not calibrated: runs drift apart more than one run's repetitions vary (simulated with drift equal to the within-run CV of 2-10% and 8 repetitions, Holm's gate still fails 68-80% of A/A comparisons: test/unit/core/ab/holdout.test.ts), so a called change may be drift; calibrate with --noise A1 A2 (an A/A of separate runs) or interleave both configurations in one run (--pair-a/--pair-b).",
        );
    }
    if (A.run.settings.duration !== B.run.settings.duration)
        notes.push(`the runs measured for different durations (A ${A.run.settings.duration} s, B ${B.run.settings.duration} s).`);
    const envDiff = (side: Doc["environment"]) =>
        Object.values(side.machines)
            .map((m) => `${m.cpu} / ${m.kernel}`)
            .sort()
            .join("; ");
    if (envDiff(A.environment) !== envDiff(B.environment))
        notes.push(`the machines differ: A ${envDiff(A.environment) || "none"}; B ${envDiff(B.environment) || "none"}.`);
    const tcg = [...Object.values(A.environment.guests), ...Object.values(B.environment.guests)].some((g) => g.accel === "tcg");
    if (tcg) notes.push("guests ran under TCG (software emulation): their numbers vary more and say little about KVM performance.");
    return notes;
}

const failedIn = (side: "A" | "B", c: CellResult) => (c.status === "failed" ? { failed: [{ side, error: c.error ?? "failed" }] } : {});

/** Every metric's verdict from its Holm-adjusted p over the whole family. */
function judgeFamily(cells: CellComparison[], alpha: number): CellComparison[] {
    const familySize = cells.reduce((n, c) => n + c.metrics.length, 0);
    const adjusted = holm(cells.flatMap((c) => c.metrics.map((m) => m.pValue)));
    let k = 0;
    return cells.map((c) => ({ ...c, metrics: c.metrics.map((m) => judge(m, { pAdjusted: adjusted[k++], alpha, familySize })) }));
}

export function compareDocs(A: Doc, B: Doc, opts: CompareOptions = {}, sources: { a?: string; b?: string } = {}): Comparison {
    const base = settingsOf(opts);
    const byPair = opts.pairA !== undefined;
    const sameRun = A.run.name === B.run.name && A.run.started === B.run.started;
    const ca = selectCells(A, opts.pairA, "A", !byPair);
    const cb = selectCells(B, opts.pairB, "B", !byPair);
    const pairs = [...ca].filter(([key]) => cb.has(key)).map(([key, a]) => matched(a, cb.get(key)!, A, B));
    const familySize = pairs.reduce((n, p) => n + p.common.length, 0);
    const sides = { A, B, settings: base, opts, sameRun, level: base.alpha / Math.max(1, familySize) };
    const compared = new Map(pairs.map((p) => [p.a, compareCell(p, sides)]));
    const cells: CellComparison[] = [];
    const none = { differences: [], metrics: [], metricsOnlyA: [], metricsOnlyB: [] };
    for (const a of ca.values()) {
        cells.push(compared.get(a) ?? { pairA: a.pair, pairB: opts.pairB ?? a.pair, cell: a.cell, ...none, status: "only in A", ...failedIn("A", a) });
    }
    for (const [key, b] of cb) {
        if (!ca.has(key)) cells.push({ pairA: opts.pairA ?? b.pair, pairB: b.pair, cell: b.cell, status: "only in B", ...failedIn("B", b), ...none });
    }
    const judged = judgeFamily(cells, base.alpha);
    const counts = countsOf(judged);
    const power = powerOf(
        judged.flatMap((c) => c.metrics),
        base.alpha,
    );
    const settings = { ...base, family: { procedure: "holm" as const, controls: "family-wise error rate" as const, size: familySize } };
    const drift = sameRun ? "same run" : opts.noiseCalibrated ? "calibrated" : "uncalibrated";
    const verdict = counts.regressions > 0 || counts.newlyFailed > 0 ? "regression" : power.underpowered ? "underpowered" : "ok";
    return {
        version: COMPARISON_VERSION,
        a: { name: A.run.name, started: A.run.started, repetitions: A.run.settings.repetitions, duration: A.run.settings.duration, source: sources.a },
        b: { name: B.run.name, started: B.run.started, repetitions: B.run.settings.repetitions, duration: B.run.settings.duration, source: sources.b },
        settings,
        cells: judged,
        counts,
        verdict,
        power,
        drift,
        notes: notesOf(A, B, { cells: judged, counts, settings, power, drift }),
    };
}
