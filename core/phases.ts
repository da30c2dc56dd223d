// Where an `up`'s time went, by phase: probing the hosts, building the fabric, getting the guest
// kernel and image, booting the guests, the benchmark and its report. The provider records each
// create and update it runs; a phase lasts from its first operation's start to its last one's end
// (its resources run in parallel, so their times are not added up). Pure: the caller gives the clock.

import { TOKENS } from "./tokens";

export const PHASES = ["probe", "fabric", "kernel", "image", "boot", "benchmark", "report"] as const;
export type Phase = (typeof PHASES)[number];

const PHASE_OF_TYPE: Record<string, Phase> = {
    [TOKENS.Host]: "probe",
    [TOKENS.Bridge]: "fabric",
    [TOKENS.Tap]: "fabric",
    [TOKENS.MacvtapLink]: "fabric",
    [TOKENS.VethPair]: "fabric",
    [TOKENS.Nat]: "fabric",
    [TOKENS.HostTuning]: "fabric",
    [TOKENS.Kernel]: "kernel",
    [TOKENS.GuestImage]: "image",
    [TOKENS.SecurityProfile]: "boot",
    [TOKENS.MicroVm]: "boot",
    [TOKENS.BenchmarkRun]: "benchmark",
};

export function phaseOf(type: string): Phase | undefined {
    return PHASE_OF_TYPE[type];
}

export class PhaseClock {
    private readonly spans = new Map<Phase, { start: number; end: number }>();

    /** One operation of a phase, from start to end (milliseconds). */
    record(phase: Phase, start: number, end: number): void {
        const s = this.spans.get(phase);
        this.spans.set(phase, s ? { start: Math.min(s.start, start), end: Math.max(s.end, end) } : { start, end });
    }

    /** Seconds per phase recorded so far, in the order an up runs them. */
    seconds(): Partial<Record<Phase, number>> {
        const out: Partial<Record<Phase, number>> = {};
        for (const p of PHASES) {
            const s = this.spans.get(p);
            if (s) out[p] = (s.end - s.start) / 1000;
        }
        return out;
    }
}

/** "probe 1.2 s, fabric 0.8 s, boot 24.0 s": the phases in the order an up runs them. */
export function phasesText(seconds: Readonly<Record<string, number>>): string {
    return PHASES.filter((p) => seconds[p] !== undefined)
        .map((p) => `${p} ${seconds[p].toFixed(1)} s`)
        .join(", ");
}
