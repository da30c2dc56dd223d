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
    /**
     * Host CPU busy in % of one CPU over each measurement's window (all machines; the window is the
     * tool's run with its start and finish, so a saturated 2-CPU machine reads 200%), and the
     * guest's VMM alone; medians over the repetitions.
     */
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

type Cpu = NonNullable<CellResult["repetitions"][number]["cpu"]>;
const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

/** Median over the repetitions of CPU-seconds (from `of`, null: none) per second of the measurement's window, in %. */
function cpuPct(cell: CellResult, of: (cpu: Cpu) => number | null): number | null {
    const v: number[] = [];
    for (const r of cell.repetitions) {
        const cpuSeconds = r.cpu && r.seconds > 0 ? of(r.cpu) : null;
        if (cpuSeconds !== null) v.push((100 * cpuSeconds) / r.seconds);
    }
    const m = median(v);
    return m === null ? null : Math.round(m * 10) / 10;
}

const busyOf = (cpu: Cpu) => sum(Object.values(cpu.machines).map((m) => m.busy));
/** The VMM of the cell's own guest (every guest's VMM is accounted in every measurement). */
const vmmOf = (cell: CellResult) => (cpu: Cpu) => {
    const guest = [cell.dimensions.server, cell.dimensions.client].find((name) => cpu.vmm[name] !== undefined);
    return guest === undefined ? null : cpu.vmm[guest];
};

export function solo5ModelTable(doc: Pick<ResultsDoc, "cells">, size: number, experiments: readonly Experiment[]): Solo5ModelLine[] {
    return experiments.map((e) => {
        const { cell, note } = cellOf(doc, size, e);
        if (!cell) return { experiment: e.experiment, pair: e.pair ?? null, vmExitsPerSecond: null, cpuPct: null, vmmCpuPct: null, note };
        const exits = median(cell.repetitions.map((r) => r.cpu?.vmExitsPerSecond).filter((x): x is number => typeof x === "number"));
        return {
            experiment: e.experiment,
            pair: e.pair ?? null,
            vmExitsPerSecond: exits,
            cpuPct: cpuPct(cell, busyOf),
            vmmCpuPct: cpuPct(cell, vmmOf(cell)),
            note: exits === null ? `VM exits null: ${exitsNote(cell)}` : null,
        };
    });
}

/** A table as aligned text; `right` names the columns of figures (right-aligned), the rest are left-aligned. */
function textTable(header: string[], rows: string[][], right: number[]): string[] {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) =>
        r
            .map((v, i) => (right.includes(i) ? v.padStart(widths[i]) : v.padEnd(widths[i])))
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
        [1, 2],
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
        [1, 2],
    );
}
