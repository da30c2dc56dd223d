// IRQ affinity for NIC queues (the KVM criteria pin them with the vCPUs): applied while a resource
// exists and restored when it goes. Shared by MicroVm and HostTuning.
import { parseInterrupts } from "../../core/probe";
import type { IrqApplied } from "../../schema/tuning";
import type { Ctx } from "../runtime/resource";
import type { Transport } from "../transport";

export type { IrqApplied };

/** Writes $2 to the file $1: a constant script, the path and value are its arguments. */
export const WRITE_FILE = 'printf "%s\\n" "$2" > "$1"';

export async function applyIrqAffinity(ctx: Ctx, t: Transport, host: string, wanted: { match: string; cpus: number[] }[]): Promise<IrqApplied[]> {
    if (wanted.length === 0) return [];
    const table = await t.run(["cat", "/proc/interrupts"], { check: false });
    const irqs = table.code === 0 ? parseInterrupts(table.stdout) : [];
    const out: IrqApplied[] = [];
    for (const a of wanted) {
        const hits = irqs.filter((q) => q.name.includes(a.match));
        if (hits.length === 0) {
            const skipped =
                table.code === 0 ? `no IRQ on host '${host}' matches '${a.match}' in /proc/interrupts` : `host '${host}' has no readable /proc/interrupts`;
            ctx.log.warn(ctx.urn, `irqAffinity: ${skipped}; skipped`);
            out.push({ match: a.match, skipped });
            continue;
        }
        for (const q of hits) {
            const file = `/proc/irq/${q.irq}/smp_affinity_list`;
            const before = (await t.run(["cat", file], { check: false })).stdout.trim();
            const w = await t.run(["sh", "-c", WRITE_FILE, "sh", file, a.cpus.join(",")], { check: false });
            const after = (await t.run(["cat", file], { check: false })).stdout.trim();
            if (w.code !== 0) {
                const skipped = `IRQ ${q.irq} (${q.name}): the host refused the affinity: ${w.stderr.trim()}`;
                ctx.log.warn(ctx.urn, `irqAffinity: ${skipped}`);
                out.push({ match: a.match, irq: q.irq, name: q.name, before, after, skipped });
            } else {
                out.push({ match: a.match, irq: q.irq, name: q.name, before, after });
            }
        }
    }
    return out;
}

export async function restoreIrqAffinity(t: Transport, applied: IrqApplied[]): Promise<void> {
    for (const a of applied) {
        if (a.skipped || a.irq === undefined || !a.before) continue;
        await t.run(["sh", "-c", WRITE_FILE, "sh", `/proc/irq/${a.irq}/smp_affinity_list`, a.before], { check: false });
    }
}
