// solo5's view of a results document: packets per second per backend at one packet size, with
// what each packet cost in host CPU. Pure: plain data in, plain data out.
import { type CellResult, compareDocs, type ResultsDoc } from "netbed";

export interface PpsRow {
    pair: string;
    backend: string;
    /** The VMM's confinement ("none" unconfined, else the SecurityProfile and its filter). */
    security: string;
    size: number;
    /** Median packets per second received, and the loss at that offered rate. */
    pps: number;
    lossPct: number | null;
    /** Host CPU (all machines, busy time) per packet, in microseconds; null without CPU accounting. */
    cpuUsPerPacket: number | null;
    /** The guest's VMM process alone per packet (null for bare metal). */
    vmmUsPerPacket: number | null;
    /** Median VM exits per second over the repetitions; null where the host exposes no KVM statistics (TCG). */
    vmExitsPerSecond: number | null;
}

function median(v: number[]): number | null {
    if (v.length === 0) return null;
    const s = [...v].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function ppsCost(doc: Pick<ResultsDoc, "cells" | "run">, size: number): PpsRow[] {
    const packets = (pps: number) => pps * doc.run.settings.duration;
    return doc.cells
        .filter((c) => c.status === "ok" && c.cell === `pps-${size}` && c.metrics.pps)
        .map((c) => {
            const pps = c.metrics.pps.median;
            const per = (cpuSeconds: number | null | undefined) => (cpuSeconds == null || pps <= 0 ? null : (cpuSeconds * 1e6) / packets(pps));
            const exits = c.repetitions.map((r) => r.cpu?.vmExitsPerSecond).filter((x): x is number => typeof x === "number");
            return {
                pair: c.pair,
                backend: c.dimensions.backend,
                security: c.dimensions.security,
                size,
                pps,
                lossPct: c.metrics.lossPct?.median ?? null,
                cpuUsPerPacket: per(c.cpuSeconds?.busy),
                vmmUsPerPacket: per(c.cpuSeconds?.vmm),
                vmExitsPerSecond: median(exits),
            };
        });
}

export interface ConfinementCost {
    /** Median PPS without and with the profile. */
    ppsOpen: number;
    ppsConfined: number;
    /** Confined over unconfined, minus 1 (negative: confinement costs packets); null without a baseline. */
    change: number | null;
    pValue: number;
    /** netbed compare's verdict: a change is called only when significant and beyond the noise threshold. */
    verdict: string;
    reason: string;
}

/**
 * The cost of confinement as a measured difference: the confined pair against the unconfined one of
 * the same run, by netbed compare's rule (permutation test, alpha and noise threshold). Null where
 * either cell is missing or failed.
 */
export function confinementCost(doc: ResultsDoc, size: number, open: string, confined: string, alpha = 0.01): ConfinementCost | null {
    const cmp = compareDocs(doc, doc, { pairA: open, pairB: confined, alpha });
    const m = cmp.cells.find((c) => c.cell === `pps-${size}` && c.status === "compared")?.metrics.find((x) => x.metric === "pps");
    if (!m) return null;
    return { ppsOpen: m.medianA, ppsConfined: m.medianB, change: m.change, pValue: m.pValue, verdict: m.verdict, reason: m.reason };
}

/** One row of solo5's tables: an I/O configuration, measured by a pair, or absent with the reason. */
export interface Experiment {
    /** The row's name, e.g. "QEMU vhost=off, seccomp, event-driven". */
    experiment: string;
    /** The pair that measured it ... */
    pair?: string;
    /** ... or why it is not measured here (e.g. "not on this machine: no /dev/vhost-net"). */
    absent?: string;
}

/** solo5's first table: PPS with `size`-byte packets as receiver, by I/O configuration. */
export interface Solo5PpsLine {
    experiment: string;
    pair: string | null;
    /** What the cell records: the VMM's confinement and the guest's notification model (null: no guest or no cell). */
    security: string | null;
    notification: string | null;
    pps: number | null;
    lossPct: number | null;
    /** Why pps is null: the row's reason, or the failed cell's error. */
    note: string | null;
}

/** solo5's second table: VM exits and CPU usage per model. */
export interface Solo5ModelLine {
    experiment: string;
    pair: string | null;
    /** Median VM exits per second; null with the reason in `note` (TCG has none to count). */
    vmExitsPerSecond: number | null;
    /** Host CPU busy during the measurement in % of one CPU (all machines), and the guest's VMM alone. */
    cpuPct: number | null;
    vmmCpuPct: number | null;
    note: string | null;
}

type Found = { cell: CellResult | undefined; note: string | null };

function cellOf(doc: Pick<ResultsDoc, "cells">, size: number, e: Experiment): Found {
    if (!e.pair) return { cell: undefined, note: e.absent ?? "not measured" };
    const cell = doc.cells.find((c) => c.pair === e.pair && c.cell === `pps-${size}`);
    if (!cell) return { cell: undefined, note: `pair '${e.pair}' has no pps-${size} cell` };
    return cell.status === "ok" ? { cell, note: null } : { cell: undefined, note: `failed: ${cell.error ?? "no repetition finished"}` };
}

export function solo5PpsTable(doc: Pick<ResultsDoc, "cells">, size: number, experiments: readonly Experiment[]): Solo5PpsLine[] {
    return experiments.map((e) => {
        const { cell, note } = cellOf(doc, size, e);
        return {
            experiment: e.experiment,
            pair: e.pair ?? null,
            security: cell ? cell.dimensions.security : null,
            notification: cell?.dimensions.notification ?? null,
            pps: cell?.metrics.pps?.median ?? null,
            lossPct: cell?.metrics.lossPct?.median ?? null,
            note,
        };
    });
}

/** Why a cell's VM exits are null: the run's own reason where it gave one. */
function exitsNote(cell: CellResult): string {
    if (cell.dimensions.backend === "bare-metal") return "no guest";
    const why = cell.repetitions.map((r) => r.cpu?.unmeasured?.vmExitsPerSecond).find((x) => x);
    return why ?? (cell.dimensions.accel === "tcg" ? "TCG guest: no VM exits to count" : "not measured");
}

export function solo5ModelTable(doc: Pick<ResultsDoc, "cells" | "run">, size: number, experiments: readonly Experiment[]): Solo5ModelLine[] {
    const pct = (cpuSeconds: number | null | undefined) => (cpuSeconds == null ? null : Math.round((cpuSeconds / doc.run.settings.duration) * 1000) / 10);
    return experiments.map((e) => {
        const { cell, note } = cellOf(doc, size, e);
        if (!cell) return { experiment: e.experiment, pair: e.pair ?? null, vmExitsPerSecond: null, cpuPct: null, vmmCpuPct: null, note };
        const exits = median(cell.repetitions.map((r) => r.cpu?.vmExitsPerSecond).filter((x): x is number => typeof x === "number"));
        return {
            experiment: e.experiment,
            pair: e.pair ?? null,
            vmExitsPerSecond: exits,
            cpuPct: pct(cell.cpuSeconds?.busy),
            vmmCpuPct: pct(cell.cpuSeconds?.vmm),
            note: exits === null ? `VM exits null: ${exitsNote(cell)}` : null,
        };
    });
}

/** A table as aligned text: the first column left-aligned, the others right-aligned. */
function textTable(header: string[], rows: string[][]): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) =>
        r
            .map((v, i) => (i === 0 || i === r.length - 1 ? v.padEnd(widths[i]) : v.padStart(widths[i])))
            .join("   ")
            .trimEnd();
    return [line(header), "-".repeat(line(header).length), ...rows.map(line)];
}

const dash = (v: number | null, f: (x: number) => string) => (v === null ? "-" : f(v));

export function renderSolo5PpsTable(lines: readonly Solo5PpsLine[], size: number): string[] {
    return textTable(
        ["Experiment", `PPS with ${size} byte packets as receiver`, "loss", "confinement", "notification", "notes"],
        lines.map((l) => [
            l.experiment,
            dash(l.pps, (x) => `${(x / 1000).toFixed(1)}k`),
            dash(l.lossPct, (x) => `${x.toFixed(0)}%`),
            l.security ?? "-",
            l.notification ?? "-",
            l.note ?? "",
        ]),
    );
}

export function renderSolo5ModelTable(lines: readonly Solo5ModelLine[]): string[] {
    return textTable(
        ["Model", "VM exits/s", "CPU usage", "notes"],
        lines.map((l) => [
            l.experiment,
            dash(l.vmExitsPerSecond, (x) => x.toFixed(0)),
            dash(l.cpuPct, (x) => `${x}%${l.vmmCpuPct === null ? "" : ` (VMM ${l.vmmCpuPct}%)`}`),
            l.note ?? "",
        ]),
    );
}
