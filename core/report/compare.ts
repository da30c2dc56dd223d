// The markdown of an A/B comparison (core/ab/comparison.ts) and of a held-out A/A check
// (core/ab/holdout.ts). Pure.
import { type Verdict, fmtP } from "../ab/abtest";
import type { CellComparison, Comparison, RunInfo } from "../ab/comparison";
import type { Holdout } from "../ab/holdout";

function fmtNum(v: number): string {
    const a = Math.abs(v);
    if (a === 0) return "0";
    if (a >= 1000) return v.toFixed(0);
    if (a >= 1) return v.toPrecision(4);
    return v.toPrecision(3);
}

const pct = (v: number) => `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)}%`;
const cellName = (c: CellComparison) => (c.pairA === c.pairB ? `${c.pairA} ${c.cell}` : `${c.pairA} → ${c.pairB} ${c.cell}`);
const MARK: Record<Verdict, string> = {
    regression: "**REGRESSION**",
    improvement: "improvement",
    change: "change",
    "no change": "no change",
    underpowered: "underpowered",
};

function headerLines(c: Comparison, L: string[]): void {
    const src = (r: RunInfo) => `${r.name} (started ${r.started}, ${r.repetitions} repetitions of ${r.duration} s${r.source ? `, ${r.source}` : ""})`;
    L.push("# A/B comparison", "");
    L.push(`- A: ${src(c.a)}`, `- B: ${src(c.b)}`);
    const per = Object.entries(c.settings.thresholds).map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`);
    const f = c.settings.family;
    L.push(
        `- Rule: a change is called when the permutation test's p, adjusted by Holm's step-down over the family of all ${f.size} metric tests (family-wise error rate ${c.settings.alpha}), is <= ${c.settings.alpha} and |change of the median| > ${(c.settings.threshold * 100).toFixed(1)}%${per.length ? ` (${per.join(", ")})` : ""}; intervals are per metric, unadjusted ${(c.settings.ciLevel * 100).toFixed(0)}% bootstrap (seed ${c.settings.seed}); pairing: ${c.settings.paired}.`,
    );
    const k = c.counts;
    L.push(
        "",
        `**Verdict: ${verdictText(c)}**: ${k.regressions} regression(s), ${k.improvements} improvement(s), ${k.changes} other change(s) over ${k.tests} metrics in ${k.compared} cells; ${k.newlyFailed} newly failed cell(s), ${k.underpowered} underpowered metric(s).`,
    );
}

function verdictText(c: Comparison): string {
    if (c.verdict === "underpowered") return `UNDERPOWERED (no metric can be called: rerun with at least ${c.power.repetitionsNeeded} repetitions per side)`;
    if (c.verdict !== "regression") return "no regression";
    return c.counts.newlyFailed === 0 && c.drift === "uncalibrated" ? "REGRESSION (separate runs, drift not calibrated: may be drift)" : "REGRESSION";
}

function calledLines(c: Comparison, L: string[]): void {
    const called = c.cells.flatMap((cell) =>
        cell.metrics.filter((m) => m.verdict === "regression" || m.verdict === "improvement" || m.verdict === "change").map((m) => ({ cell, m })),
    );
    const newlyFailed = c.cells.filter((x) => x.status === "failed" && x.failed!.every((f) => f.side === "B"));
    if (called.length + newlyFailed.length > 0) {
        L.push("", "## Called changes", "");
        for (const cell of newlyFailed) L.push(`- **REGRESSION** ${cellName(cell)}: worked in A, failed in B: ${cell.failed![0].error}`);
        for (const { cell, m } of called)
            L.push(
                `- ${MARK[m.verdict]} ${cellName(cell)} ${m.metric}: ${fmtNum(m.medianA)} → ${fmtNum(m.medianB)} (${m.change === null ? "from zero" : pct(m.change)}, adjusted p ${fmtP(m.pAdjusted)}, raw ${fmtP(m.pValue)})${m.noisy ? `; noisy (CV ${(m.cvA * 100).toFixed(0)}% / ${(m.cvB * 100).toFixed(0)}%): the size is uncertain` : ""}`,
            );
    }
}

function tableLines(c: Comparison, L: string[]): void {
    L.push("", "## Per cell and metric", "");
    L.push(`| Cell | Metric | Better | A median | B median | Change | ${(c.settings.ciLevel * 100).toFixed(0)}% CI | p | Adjusted p | Test | Verdict |`);
    L.push("|---|---|---|---:|---:|---:|---|---:|---:|---|---|");
    for (const cell of c.cells.filter((x) => x.status === "compared")) {
        for (const m of cell.metrics) {
            const ci = m.ci ? `${pct(m.ci.low)} .. ${pct(m.ci.high)}` : "-";
            const test = `${m.test === "paired signed-rank" ? "paired" : "unpaired"} ${m.method}, n ${m.nA}/${m.nB}`;
            const better = m.direction === "higher" ? "higher" : m.direction === "lower" ? "lower" : "?";
            L.push(
                `| ${cellName(cell)} | ${m.metric} | ${better} | ${fmtNum(m.medianA)} | ${fmtNum(m.medianB)} | ${m.change === null ? "from 0" : pct(m.change)} | ${ci} | ${fmtP(m.pValue)} | ${fmtP(m.pAdjusted)} | ${test} | ${MARK[m.verdict]}${m.noisy ? " (noisy)" : ""} |`,
            );
        }
    }
}

/** What differs between the sides, and the cells not compared. */
function differenceLines(c: Comparison, L: string[]): void {
    const diffs = c.cells.filter((x) => x.differences.length > 0);
    if (diffs.length > 0) {
        L.push("", "## What differs between A and B (matched cells)", "");
        const byText = new Map<string, string[]>();
        for (const cell of diffs) {
            const t = cell.differences.map((d) => `${d.dimension} ${JSON.stringify(d.a)} → ${JSON.stringify(d.b)}`).join(", ");
            byText.set(t, [...(byText.get(t) ?? []), cellName(cell)]);
        }
        for (const [t, names] of byText) L.push(`- ${t}: ${names.join(", ")}`);
    }
    const odd = c.cells.filter((x) => x.status !== "compared");
    if (odd.length > 0) {
        L.push("", "## Cells not compared", "");
        for (const cell of odd) {
            const failures = cell.failed?.map((f) => `${f.side}: ${f.error}`).join("; ");
            const why = cell.status === "failed" ? `failed in ${failures}` : `${cell.status}${failures ? ` (failed there: ${failures})` : ""}`;
            L.push(`- ${cellName(cell)}: ${why}`);
        }
    }
}

function noteLines(c: Comparison, L: string[]): void {
    const oneSided = c.cells.filter((x) => x.metricsOnlyA.length + x.metricsOnlyB.length > 0);
    const pairing = [...new Set(c.cells.filter((x) => x.pairedWhy).map((x) => x.pairedWhy!))];
    if (oneSided.length + pairing.length + c.notes.length > 0) {
        L.push("", "## Notes", "");
        for (const p of pairing) L.push(`- ${p}.`);
        for (const cell of oneSided) {
            if (cell.metricsOnlyA.length) L.push(`- ${cellName(cell)}: only A has ${cell.metricsOnlyA.join(", ")}`);
            if (cell.metricsOnlyB.length) L.push(`- ${cellName(cell)}: only B has ${cell.metricsOnlyB.join(", ")}`);
        }
        for (const n of c.notes) L.push(`- ${n}`);
        const weak = new Map<string, number>();
        for (const m of c.cells.flatMap((x) => x.metrics)) if (m.verdict === "underpowered") weak.set(m.reason, (weak.get(m.reason) ?? 0) + 1);
        for (const [why, n] of weak) L.push(`- underpowered (${n} metric(s)): ${why}`);
    }
}

export function renderMarkdown(c: Comparison): string {
    const L: string[] = [];
    for (const section of [headerLines, calledLines, tableLines, differenceLines, noteLines]) section(c, L);
    return `${L.join("\n")}\n`;
}

export function renderHoldout(h: Holdout, names: [string, string, string]): string {
    const pct = (n: number, d: number) => (d === 0 ? "-" : `${((100 * n) / d).toFixed(1)}% (${n}/${d})`);
    const L = [
        "# Held-out A/A false-positive rate",
        "",
        `Calibrated (--noise) on ${names[0]} and ${names[1]}; tested: each of them against ${names[2]}. Every called change is a false positive.`,
        "",
        "| Metric family | Tests | Called, calibrated thresholds | Called, default rule |",
        "|---|---:|---:|---:|",
        ...[...h.families, h.total].map((r) => `| ${r.family} | ${r.tests} | ${pct(r.calledCalibrated, r.tests)} | ${pct(r.calledDefault, r.tests)} |`),
        "",
        `Held-out comparisons failing the gate with a regression: ${h.gated.calibrated} of ${h.gated.comparisons} calibrated, ${h.gated.default} of ${h.gated.comparisons} with the default rule (exit 4 there: uncalibrated). Verdicts are compare's: Holm over each comparison's metric tests.`,
        "",
        `Thresholds from the calibration pair: ${
            Object.entries(h.thresholds)
                .map(([k, v]) => `${k} ${(v * 100).toFixed(1)}%`)
                .join(", ") || "none above the base threshold"
        }.`,
    ];
    return `${L.join("\n")}\n`;
}
