// Where a BenchmarkRun's wall time goes besides the measuring it reports. Pure.
//
// The matrix-overhead figure is wall time / the nominal seconds of the measured repetitions. The
// rest is accounted here: warm-up repetitions (run in full, then omitted), each tool's own start
// and finish beyond its nominal duration (connection set-up, result exchange, the process start
// inside a namespace or through the guest agent), CPU sampling around each measurement, raw-data
// writes, host servers started and stopped, the machines' probe, and what nothing above covers.

const OVERHEAD_PARTS = ["warmups", "toolStartStop", "cpuSampling", "fileWrites", "servers", "environment"] as const;
type OverheadPart = (typeof OVERHEAD_PARTS)[number];

export interface OverheadStep {
    test: string;
    warmup: boolean;
    /** Wall seconds of the tool run(s) of this step. */
    seconds: number;
    /** Nominal seconds of this step (settings.duration, or count x interval for ping). */
    nominal: number;
    cpuSampling: number;
    fileWrites: number;
}

export interface OverheadReport {
    wallSeconds: number;
    /** Nominal seconds of the measured (non-warm-up) repetitions: the figure's denominator. */
    measuredSeconds: number;
    ratio: number;
    /** Seconds per part; `other` is the wall time none of them covers. */
    seconds: Record<OverheadPart | "measuring" | "other", number>;
    /** Per test kind: steps, and the tool's mean seconds beyond nominal per step. */
    toolStartStopByTest: Record<string, { steps: number; meanSeconds: number }>;
}

export function overheadReport(wallSeconds: number, steps: readonly OverheadStep[], servers: number, environment: number): OverheadReport {
    const sum = (f: (s: OverheadStep) => number, of = steps) => of.reduce((a, s) => a + f(s), 0);
    const reps = steps.filter((s) => !s.warmup);
    const measuredSeconds = sum((s) => s.nominal, reps);
    const seconds = {
        measuring: measuredSeconds,
        warmups: sum(
            (s) => s.nominal,
            steps.filter((s) => s.warmup),
        ),
        toolStartStop: sum((s) => s.seconds - s.nominal),
        cpuSampling: sum((s) => s.cpuSampling),
        fileWrites: sum((s) => s.fileWrites),
        servers,
        environment,
        other: 0,
    };
    seconds.other = wallSeconds - Object.values(seconds).reduce((a, b) => a + b, 0);
    const byTest: OverheadReport["toolStartStopByTest"] = {};
    for (const t of [...new Set(steps.map((s) => s.test))]) {
        const of = steps.filter((s) => s.test === t);
        byTest[t] = { steps: of.length, meanSeconds: sum((s) => s.seconds - s.nominal, of) / of.length };
    }
    return { wallSeconds, measuredSeconds, ratio: measuredSeconds > 0 ? wallSeconds / measuredSeconds : NaN, seconds, toolStartStopByTest: byTest };
}

/** The smallest ratio any harness reaches with these settings when tools take exactly their nominal time. */
export function warmupFloor(settings: { repetitions: number; warmup: number }): number {
    return (settings.repetitions + settings.warmup) / settings.repetitions;
}

/** The overhead breakdown of a run, beside its results document. */
export function overheadPath(resultsPath: string): string {
    return resultsPath.replace(/\.json$/, ".overhead.json");
}
