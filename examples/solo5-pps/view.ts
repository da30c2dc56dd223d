// solo5's view of a results document: packets per second per backend at one packet size, with
// what each packet cost in host CPU. Pure: plain data in, plain data out.
import { compareDocs, type ResultsDoc } from "netbed";

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
