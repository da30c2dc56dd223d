import { z } from "zod";
import { GOVERNORS, sysctlProblem, sysctlValueProblem } from "../core/tuning";
import { observedList } from "./common";
import { HostConnectionSchema } from "./host";

export const HostTuningArgsSchema = z
    .object({
        host: HostConnectionSchema,
        /** CPU frequency governor for every CPU that has cpufreq (performance for stable numbers). */
        governor: z.enum(GOVERNORS, { errorMap: () => ({ message: `must be one of ${GOVERNORS.join(", ")}` }) }).optional(),
        /** Turbo / boost: false turns it off (intel_pstate no_turbo, or cpufreq boost). */
        boost: z.boolean().optional(),
        /** sysctls to set while the tuning exists, e.g. net.core.rmem_max, net.core.busy_poll. */
        sysctls: z
            .record(
                z.string().superRefine((k, ctx) => {
                    const p = sysctlProblem(k);
                    if (p) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `'${k}' ${p}` });
                }),
                z
                    .union([z.string(), z.number()])
                    .transform((v) => String(v))
                    .superRefine((v, ctx) => {
                        const p = sysctlValueProblem(v);
                        if (p) ctx.addIssue({ code: z.ZodIssueCode.custom, message: p });
                    }),
            )
            .default({}),
        /** IRQ affinity of the physical NIC's queues: every IRQ whose /proc/interrupts name contains `match`. */
        irqAffinity: z
            .array(
                z
                    .object({
                        match: z.string().regex(/^[A-Za-z0-9_.:@+-]+$/, "must be part of an IRQ name like eth0 or eth0-TxRx-0"),
                        cpus: z.array(z.number().int().min(0).max(8191, "must be a CPU number (at most 8191, NR_CPUS)")).min(1),
                    })
                    .strict(),
            )
            .default([]),
    })
    .strict();

export type HostTuningInputs = z.output<typeof HostTuningArgsSchema>;

/** One setting as applied: the value before (restored on delete), after, or why it was skipped. */
export interface TuningApplied {
    setting: string;
    file?: string;
    wanted: string;
    before?: string;
    after?: string;
    skipped?: string;
}

/** One IRQ confined (with the affinity it had before), or why a match was skipped. */
export interface IrqApplied {
    match: string;
    irq?: number;
    name?: string;
    before?: string;
    after?: string;
    skipped?: string;
}

/** What create and read return besides the inputs. */
export const HostTuningOutputsSchema = z
    .object({
        applied: observedList<TuningApplied>("settings as applied"),
        /** IRQs confined ([] in state from versions that confined none). */
        irqs: observedList<IrqApplied>("IRQs as confined").default([]),
        /** Settings whose current value differs from what was applied (read on refresh). */
        drift: z.array(z.string()),
    })
    .strict();
export type HostTuningOutputs = z.output<typeof HostTuningOutputsSchema>;
export type HostTuningState = HostTuningInputs & HostTuningOutputs;
