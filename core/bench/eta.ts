// How long a benchmark run still needs, from the wall time its steps took so far. Each test kind
// has its own cost beyond its nominal seconds (an ICMP step waits for its echoes, an iperf3 step
// for its connection), so steps are timed per kind; a kind not yet measured is costed at the
// ratio of wall to nominal seconds of every kind so far. Pure.

export interface TimedStep {
    test: string;
    /** The seconds the step's tool was asked to run for. */
    nominal: number;
    /** Wall seconds the whole step took (CPU samples, the tool, writing its files). */
    seconds: number;
}

export interface PendingStep {
    test: string;
    nominal: number;
}

function ratio(steps: readonly TimedStep[]): number | undefined {
    const nominal = steps.reduce((a, s) => a + s.nominal, 0);
    return nominal > 0 ? steps.reduce((a, s) => a + s.seconds, 0) / nominal : undefined;
}

/** Seconds the pending steps should take, or undefined before any step was timed. */
export function remainingSeconds(done: readonly TimedStep[], pending: readonly PendingStep[]): number | undefined {
    const overall = ratio(done);
    if (overall === undefined) return undefined;
    const byKind = new Map<string, number | undefined>();
    let total = 0;
    for (const p of pending) {
        if (!byKind.has(p.test)) byKind.set(p.test, ratio(done.filter((d) => d.test === p.test)));
        total += p.nominal * (byKind.get(p.test) ?? overall);
    }
    return total;
}

/** "about 7 min", "about 40 s": a duration as precise as an estimate can be. */
export function durationText(seconds: number): string {
    if (seconds < 90) return `about ${Math.max(5, Math.round(seconds / 5) * 5)} s`;
    if (seconds < 5400) return `about ${Math.round(seconds / 60)} min`;
    return `about ${(seconds / 3600).toFixed(1)} h`;
}

/** What precision-driven repetitions may still add: one step per open cell and round, and how many repetitions that ends at. */
export interface PrecisionCap {
    /** One step per cell still wider than the target, repeated once per round it may still get. */
    steps: readonly PendingStep[];
    repetitions: number;
}

/**
 * The progress line's estimate. With precision-driven repetitions the number of rounds is not known
 * in advance: the estimate covers this round, and bounds the rest by every open cell running to the
 * cap.
 */
export function etaText(done: readonly TimedStep[], pending: readonly PendingStep[], cap?: PrecisionCap): string {
    const s = remainingSeconds(done, pending);
    if (s === undefined) return "";
    if (!cap) return `${durationText(s)} left`;
    const most = s + (remainingSeconds(done, cap.steps) ?? 0);
    return `${durationText(s)} left in this round, at most ${durationText(most).replace(/^about /, "")} if every open cell runs to ${cap.repetitions} repetitions`;
}
