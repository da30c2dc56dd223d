// The exit code of `netbed compare`, from a comparison alone, so every gate (the CLI, the statistics
// benchmark) tells the same truth. Pure.
//   0 no regression the family could have seen
//   3 a regression a gate can trust: a cell that worked in A and failed in B, or a metric regressed
//     (Holm-adjusted p <= alpha, beyond its threshold) within one interleaved run or with --noise
//   4 a regression between separate runs whose drift was not calibrated: it may be drift
//   5 underpowered: no metric of the family can reach alpha with these repetitions, so a pass would
//     say nothing (unless allowUnderpowered)
// A regression beats underpowered: a newly failed cell is seen whatever the repetitions.
import { fmtLevel } from "./abtest";
import type { Comparison } from "./comparison";

export const EXIT_OK = 0;
export const EXIT_REGRESSION = 3;
export const EXIT_UNCALIBRATED = 4;
export const EXIT_UNDERPOWERED = 5;

export function gateOutcome(c: Comparison, opts: { allowUnderpowered?: boolean } = {}): { code: number; reason: string } {
    const { alpha, family } = c.settings;
    const holm = `Holm over ${family.size} metric tests, family-wise alpha ${alpha}`;
    const k = c.counts;
    if (k.newlyFailed > 0 || (k.regressions > 0 && c.drift !== "uncalibrated")) {
        const parts = [
            k.newlyFailed > 0 ? `${k.newlyFailed} cell(s) worked in A and failed in B` : "",
            k.regressions > 0 ? `${k.regressions} regression(s) (${holm})` : "",
        ];
        return { code: EXIT_REGRESSION, reason: parts.filter(Boolean).join("; ") };
    }
    if (k.regressions > 0) {
        return {
            code: EXIT_UNCALIBRATED,
            reason: `${k.regressions} regression(s) (${holm}) between separate runs, with thresholds not calibrated for the drift between runs: exit ${EXIT_UNCALIBRATED}, not ${EXIT_REGRESSION}. To gate on it, pass --noise A1 A2 (two runs of one configuration) or compare two pairs of one interleaved run (--pair-a/--pair-b)`,
        };
    }
    if (c.power.underpowered && !opts.allowUnderpowered) {
        const level = fmtLevel(alpha / Math.max(1, family.size));
        return {
            code: EXIT_UNDERPOWERED,
            reason: `underpowered: none of the ${family.size} metric tests can reach p <= ${level} (alpha ${alpha} / ${family.size}, Holm's first step) with these repetitions, so no regression could have been seen; rerun with at least ${c.power.repetitionsNeeded} repetitions per side, or pass --allow-underpowered`,
        };
    }
    const weak = c.power.underpowered
        ? "underpowered, allowed: nothing could have been called"
        : k.underpowered > 0
          ? `${k.underpowered} of ${k.tests} metrics underpowered`
          : "";
    return { code: EXIT_OK, reason: `no regression (${holm})${weak ? `; ${weak}` : ""}` };
}
