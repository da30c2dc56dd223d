// The Volt template's Analysis (each category against the virtio baseline, with the ranking's
// significance: BH-adjusted over every row test of the report, core/ab/rank.ts) and Conclusions (the
// performance hierarchy and recommendations) sections. Pure.
import { fmtP, repetitionsNeeded } from "../ab/abtest";
import { B, type Block, type ListItem } from "./blocks";
import { type Category, type Column, type Row, pct } from "./model";
import { type RowOutcome, ruleText } from "../ab/rank";
import { type Ranked, type ReportView, bestGuest, leader, ofNative, outcomeOf, rankRow, valueAt, wins } from "./view";

function fmtVal(row: Row, v: number): string {
    return `${row.format(v)} ${row.unit}`;
}

/** "a", "a and b", "a, b and c". */
function listOf(parts: string[]): string {
    return parts.length <= 2 ? parts.join(" and ") : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/**
 * Where the guests stand against bare metal on a row. A best guest is named only where it leads
 * significantly; otherwise every guest's share is given, so a gap within noise names no winner.
 */
function standing(view: ReportView, row: Row, share: (g: Ranked) => string): { subject: string; verb: string; share: string } | undefined {
    const r = rankRow(view, row);
    if (r.length === 0) return undefined;
    if (leader(view, row)) return { subject: `the best guest, ${r[0].col.title},`, verb: "is", share: share(r[0]) };
    if (r.length === 1) return { subject: r[0].col.title, verb: "is", share: share(r[0]) };
    // Column order, not value order: a tie lists the guests without implying a ranking.
    const inOrder = [...r].sort((x, y) => view.guests.indexOf(x.col) - view.guests.indexOf(y.col));
    return { subject: "with no significant leader, the guests", verb: "are", share: listOf(inOrder.map((g) => `${share(g)} (${g.col.title})`)) };
}

/** The one way the analysis states a difference: x's median against a reference's, in percent of the reference. */
function difference(x: number, ref: number, refName: string): string {
    if (x === ref) return `equal to ${refName}`;
    return `${pct((Math.abs(x - ref) / Math.abs(ref)) * 100)} ${x > ref ? "higher" : "lower"} than ${refName}`;
}

const capital = (s: string) => `${s[0].toUpperCase()}${s.slice(1)}`;

/** The Volt list of one row: each guest against the baseline guest. */
function compareRow(view: ReportView, row: Row): ListItem[] {
    const base = view.base;
    const bv = base ? valueAt(view, row, base) : undefined;
    const items: ListItem[] = [];
    for (const col of view.guests) {
        const v = valueAt(view, row, col);
        if (!v.ok) {
            items.push(`${col.title}: ${v.why === "failed" ? "failed" : "not measured"}`);
            continue;
        }
        if (col === base) {
            items.push(`${col.title}: ${fmtVal(row, v.median)} (baseline)`);
            continue;
        }
        if (!bv?.ok) {
            items.push(`${col.title}: ${fmtVal(row, v.median)}`);
            continue;
        }
        const o = outcomeOf(view, row, col, base!);
        const noise = o?.better ? `; significant, adjusted p ${fmtP(o.pAdjusted)}` : `; no significant difference: ${tieWhy(o, view.ranking.q)}`;
        items.push(`${col.title}: ${fmtVal(row, v.median)} (${difference(v.median, bv.median, base!.title)}${noise})`);
    }
    if (view.native) {
        const n = valueAt(view, row, view.native);
        if (n.ok) {
            const st = standing(view, row, (g) => pct((g.v / n.median) * 100));
            items.push(`${view.native.title}: ${fmtVal(row, n.median)} (native reference${st ? `; ${st.subject} ${st.verb} at ${st.share} of it` : ""})`);
        }
    }
    return items;
}

/** Why two guests tie on a row, briefly. */
function tieWhy(o: RowOutcome | undefined, q: number): string {
    if (!o) return "not compared";
    if (o.underpowered) return `too few repetitions for the test to reach p <= ${q}`;
    return o.pAdjusted > q ? `not significant, adjusted p ${fmtP(o.pAdjusted)}` : "significant but within the noise threshold";
}

/** One sentence on a row: who leads, by how much, whether significantly, and the gap to bare metal. */
function finding(view: ReportView, row: Row): string {
    const r = rankRow(view, row);
    if (r.length === 0) return `No guest measured ${row.label}.`;
    const [a, b] = r;
    let s: string;
    if (!b) s = `Only ${a.col.title} measured ${row.label} (${fmtVal(row, a.v)}).`;
    else {
        const o = outcomeOf(view, row, a.col, b.col);
        // The same reference as the row's list: the baseline where it is one of the two, else the runner-up.
        const [x, ref] = a.col === view.base ? [b, a] : [a, b];
        const gap = `${x.col.title} is ${difference(x.v, ref.v, ref.col.title)}`;
        s = leader(view, row)
            ? `${a.col.title} leads ${row.label} at ${fmtVal(row, a.v)}; ${gap} (significant, adjusted p ${fmtP(o!.pAdjusted)}).`
            : `No significant difference on ${row.label}: ${a.col.title} ${fmtVal(row, a.v)} vs ${b.col.title} ${fmtVal(row, b.v)}; ${gap} (${tieWhy(o, view.ranking.q)}).`;
    }
    const n = view.native ? valueAt(view, row, view.native) : undefined;
    if (n?.ok) {
        // A percent of bare metal's value for every metric, as in the tables and the summary.
        const share = (g: Ranked) => pct((g.v / n.median) * 100);
        const st = standing(view, row, share)!;
        const of = row.higherIsBetter ? "of bare metal" : "of bare metal's value";
        s += ` ${capital(st.subject)} ${st.verb} at ${st.share} ${of} (${fmtVal(row, n.median)}).`;
    }
    return s;
}

function winsSentence(view: ReportView, rs: Row[], what: string): string {
    const compared = rs.filter((r) => rankRow(view, r).length >= 2).length;
    if (compared < 2) return "";
    const w = wins(view, rs);
    const parts = [...w.entries()].sort((a, b) => b[1].length - a[1].length).map(([c, r]) => `${c.title} leads ${r.length}`);
    const ties = compared - [...w.values()].reduce((n, r) => n + r.length, 0);
    return ` Across the ${compared} ${what} compared, ${[...parts, `${ties} without a significant leader`].join(", ")}.`;
}

function throughputAnalysis(view: ReportView): Block[] {
    const out: Block[] = [];
    const T = view.rows.throughput;
    out.push(B.h(3, "Throughput Analysis"));
    if (T.length === 0) out.push(B.p("Not measured."));
    for (const row of T) out.push(B.p(`**${row.label}:**`), B.list(compareRow(view, row)));
    if (T.length > 0) out.push(B.p(`**Key Finding:** ${finding(view, T[0])}${winsSentence(view, T, "throughput tests")}`));
    return out;
}

/** P99 and jitter (P99/P50) of each guest, with the native reference. */
function latencyAnalysis(view: ReportView): Block[] {
    const out: Block[] = [];
    out.push(B.h(3, "Latency Analysis"));
    const L = view.rows.latency;
    // The template's P99 and jitter come from the request-response latency test; ICMP where it is absent.
    const p99 = L.find((r) => r.metric === "p99us") ?? L.find((r) => r.metric === "p99ms");
    const p50 = p99 && L.find((r) => r.cell === p99.cell && (r.metric === "p50us" || r.metric === "p50ms"));
    if (!p99 || !p50) out.push(B.p("Not measured."));
    else {
        const p99Items: ListItem[] = [];
        const jitItems: ListItem[] = [];
        for (const col of [...view.guests, ...(view.native ? [view.native] : [])]) {
            const a = valueAt(view, p99, col);
            const b = valueAt(view, p50, col);
            const tag = col.native ? " (native reference)" : "";
            p99Items.push(`${col.title}: ${a.ok ? `${p99.format(a.median)} µs` : a.why === "failed" ? "failed" : "not measured"}${tag}`);
            if (a.ok && b.ok && b.median > 0) {
                const ratio = a.median / b.median;
                jitItems.push(`${col.title}: ${ratio.toFixed(1)}x${tag}`);
            } else jitItems.push(`${col.title}: —`);
        }
        out.push(B.p(`**P99 Latency (${p99.label.replace(/ P99.*/, "")}):**`), B.list(p99Items));
        out.push(B.p("**Jitter (P99/P50 ratio):**"), B.list(jitItems));
        out.push(B.p(`**Key Finding:** ${finding(view, p99)}${winsSentence(view, L, "latency percentiles")}`));
    }
    return out;
}

function ppsAnalysis(view: ReportView): Block[] {
    const out: Block[] = [];
    out.push(B.h(3, "PPS Analysis"));
    const P = view.rows.pps;
    if (P.length === 0) out.push(B.p("Not measured."));
    else {
        const small = P[0];
        out.push(B.p(`**${small.label.replace(" bytes", "-byte")} Packets (best overhead indicator):**`), B.list(compareRow(view, small)));
        const best = bestGuest(view, small);
        let key = finding(view, small);
        if (best) {
            const slow = rankRow(view, small).slice(-1)[0];
            // 1e6 / pps is the time between delivered packets, not the CPU a packet costs (that is the CPU table's CPU-µs/packet).
            key += ` Time between delivered packets: ${((1 / best.v) * 1e6).toFixed(1)} µs for ${best.col.title}`;
            key += slow && slow.col !== best.col ? ` vs ${((1 / slow.v) * 1e6).toFixed(1)} µs for ${slow.col.title}.` : ".";
        }
        out.push(B.p(`**Key Finding:** ${key}${winsSentence(view, P, "packet sizes")}`));
    }
    return out;
}

function transactionAnalysis(view: ReportView): Block[] {
    const out: Block[] = [];
    const R = view.rows.transactions;
    if (R.length > 0) {
        out.push(B.h(3, "Transaction Rate Analysis"));
        for (const row of R) out.push(B.p(`**${row.label}:**`), B.list(compareRow(view, row)));
        out.push(B.p(`**Key Finding:** ${finding(view, R[0])}${winsSentence(view, R, "transaction tests")}`));
    }
    return out;
}

export function analysis(view: ReportView): Block[] {
    const out: Block[] = [];
    if (view.guests.length === 0) return [B.p("The run has no guest pairs: nothing to compare against a virtio baseline.")];
    const baseNote = view.base && view.base.backend !== "virtio" ? ` No virtio pair in this run: ${view.base.title} is the baseline.` : "";
    if (baseNote) out.push(B.p(baseNote.trim()));
    const R = view.ranking;
    if (R.tests > 0)
        out.push(
            B.p(
                `"Significant" below means a p-value adjusted by Benjamini-Hochberg over all ${R.tests} row × guest-pair tests of this report (q = ${R.q}) and a change beyond ${(R.threshold * 100).toFixed(0)}%; the rule in full is under Conclusions.`,
            ),
        );
    out.push(...throughputAnalysis(view), ...latencyAnalysis(view), ...ppsAnalysis(view), ...transactionAnalysis(view));
    return out;
}

const CATEGORY_NAME: Record<Category, string> = { throughput: "throughput", latency: "latency", pps: "packet rate", transactions: "transaction rate" };

export function conclusions(view: ReportView): Block[] {
    const R = view.ranking;
    if (R.guests.length === 0) return [B.h(3, "Performance Hierarchy"), B.p("No guest pairs in this run.")];
    const called = R.outcomes.filter((o) => o.better);
    const items: ListItem[] = R.tiers.map((tier) => {
        const text = tier.map((c) => `**${c.title}**`).join(", ");
        const beaten = (c: Column) => R.beats.get(c)!.map((x) => x.title);
        const head =
            tier.length > 1 ? `${text} (tied: neither beats the other)` : beaten(tier[0]).length > 0 ? `${text} (beats ${beaten(tier[0]).join(", ")})` : text;
        const sub: ListItem[] = [];
        for (const col of tier) {
            const name = (r: Row) => (r.category === "pps" ? `PPS ${r.label}` : r.label);
            const better = called.filter((o) => o.better === col).map((o) => `${name(o.row)} vs ${(o.a === col ? o.b : o.a).title}`);
            const worse = called.filter((o) => o.better !== col && (o.a === col || o.b === col)).map((o) => `${name(o.row)} vs ${o.better!.title}`);
            const who = tier.length > 1 || R.tiers.length > 1 ? `${col.title}: ` : "";
            const parts = [
                better.length ? `significantly better on ${better.join(", ")}` : "",
                worse.length ? `significantly worse on ${worse.join(", ")}` : "",
            ].filter(Boolean);
            if (R.guests.length > 1) sub.push(`${who}${parts.length ? parts.join("; ") : "no significant difference from another guest"}`);
            const nat = ofNative(view, col);
            if (nat !== undefined) sub.push(`${who}${pct(nat)} of bare metal (geometric mean over throughput, PPS and transaction rates)`);
            const failed = view.failed.filter((c) => c.pair === col.pair).map((c) => c.cell);
            if (failed.length > 0) sub.push(`${who}failed: ${failed.join(", ")}`);
        }
        return { text: head, items: sub };
    });
    const out: Block[] = [
        B.h(3, "Performance Hierarchy"),
        B.list(items, true),
        B.p(`Ranked only from significant differences: ${ruleText(R)}. Guests in one line are tied.`),
    ];
    const rec: ListItem[] = [];
    const n = view.repetitions;
    if (R.guests.length === 1) rec.push(`Only \`${R.guests[0].title}\` was measured: nothing to choose between`);
    else if (R.outcomes.length > 0 && R.outcomes.every((o) => o.underpowered))
        rec.push(
            `No recommendation: with ${n} repetition${n === "1" ? "" : "s"} per cell the test cannot reach p <= ${R.q}; rerun with more repetitions (${repetitionsNeeded(R.q, false)} at least)`,
        );
    else if (called.length === 0)
        rec.push(
            "No recommendation: no backend is significantly better than another on any metric of this run; the differences in the tables are within noise",
        );
    else if (R.best) rec.push(`Default: \`${R.best.title}\` (beats every other guest: better in at least 2 distinct tests and worse in none)`);
    else rec.push("No default: no backend beats every other; where a category has a clear winner it is named below");
    for (const cat of Object.keys(view.rows) as Category[]) {
        const top = R.categoryBest[cat];
        if (top) rec.push(`${CATEGORY_NAME[cat][0].toUpperCase()}${CATEGORY_NAME[cat].slice(1)}-bound workloads: \`${top.title}\``);
    }
    const tcg = Object.entries(view.doc.environment.guests).filter(([, g]) => g.accel === "tcg");
    if (tcg.length > 0)
        rec.push(
            `The guests ran under TCG (software emulation): the ranking measures the emulator as much as the backend; confirm on a KVM host before choosing a production default`,
        );
    out.push(B.h(3, "Recommendations"), B.list(rec));
    return out;
}
