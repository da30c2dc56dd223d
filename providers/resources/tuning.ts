// HostTuning: governor, boost, sysctls and NIC IRQ affinity, each read before it is written so
// delete can put it back; what the host does not offer is skipped with the reason.
import { BOOST_FILES, GOVERNORS, cpuDirs, sameSysctl, sysctlPath } from "../../core/tuning";
import { HostTuningArgsSchema, type HostTuningInputs, type HostTuningOutputs, HostTuningOutputsSchema, type TuningApplied } from "../../schema/tuning";
import { type IrqApplied, WRITE_FILE, applyIrqAffinity, restoreIrqAffinity } from "../hostops/irq";
import { type Ctx, type ReplaceOnlyHandler, inputsFromState, replaceOnlyTable } from "../runtime/resource";
import { type Transport, hostTransport } from "../transport";

async function readFile(t: Transport, file: string): Promise<string | undefined> {
    const r = await t.run(["cat", file], { check: false });
    return r.code === 0 ? r.stdout.trim() : undefined;
}

type Planned = { setting: string; file?: string; wanted: string; before?: string; skipped?: string };

/** Every file a setting writes, with the value and the value it has now; or why the host does not offer it. */
async function plan(t: Transport, i: HostTuningInputs): Promise<Planned[]> {
    const out: Planned[] = [];
    if (i.governor) {
        const cpus = cpuDirs((await t.run(["ls", "/sys/devices/system/cpu"], { check: false })).stdout);
        let any = false;
        for (const c of cpus) {
            const base = `/sys/devices/system/cpu/${c}/cpufreq`;
            const avail = await readFile(t, `${base}/scaling_available_governors`);
            if (avail === undefined) continue;
            any = true;
            out.push(
                avail.split(/\s+/).includes(i.governor)
                    ? { setting: `governor ${c}`, file: `${base}/scaling_governor`, wanted: i.governor, before: await readFile(t, `${base}/scaling_governor`) }
                    : { setting: `governor ${c}`, wanted: i.governor, skipped: `${c} offers governors ${avail}, not ${i.governor}` },
            );
        }
        if (!any)
            out.push({
                setting: "governor",
                wanted: i.governor,
                skipped: `host '${i.host.name}' has no cpufreq (no /sys/devices/system/cpu/cpu*/cpufreq): the hypervisor or firmware owns the frequency`,
            });
    }
    if (i.boost !== undefined) {
        const wanted = i.boost ? "on" : "off";
        let found = false;
        for (const b of BOOST_FILES) {
            const before = await readFile(t, b.file);
            if (before === undefined) continue;
            out.push({ setting: "boost", file: b.file, wanted: i.boost ? b.on : b.off, before });
            found = true;
            break;
        }
        if (!found)
            out.push({ setting: "boost", wanted, skipped: `host '${i.host.name}' exposes no boost control (${BOOST_FILES.map((b) => b.file).join(", ")})` });
    }
    for (const [key, value] of Object.entries(i.sysctls)) {
        const file = sysctlPath(key);
        const before = await readFile(t, file);
        out.push(
            before === undefined
                ? { setting: key, wanted: value, skipped: `host '${i.host.name}' has no sysctl ${key} (${file})` }
                : { setting: key, file, wanted: value, before },
        );
    }
    return out;
}

async function apply(ctx: Ctx, t: Transport, i: HostTuningInputs): Promise<TuningApplied[]> {
    const applied: TuningApplied[] = [];
    for (const p of await plan(t, i)) {
        if (p.skipped || !p.file) {
            ctx.log.warn(ctx.urn, `${p.setting}: skipped: ${p.skipped}`);
            applied.push(p);
            continue;
        }
        const before = p.before;
        const w = await t.run(["sh", "-c", WRITE_FILE, "sh", p.file, p.wanted], { check: false });
        const after = await readFile(t, p.file);
        if (w.code !== 0) {
            const skipped = `host '${i.host.name}' refused ${p.wanted} in ${p.file}: ${w.stderr.trim()}`;
            ctx.log.warn(ctx.urn, `${p.setting}: skipped: ${skipped}`);
            applied.push({ ...p, before, after, skipped });
        } else {
            ctx.log.info(ctx.urn, `${p.setting}: ${before} -> ${after}`);
            applied.push({ ...p, before, after });
        }
    }
    return applied;
}

async function restore(t: Transport, applied: TuningApplied[]): Promise<void> {
    // In reverse, so a setting written twice ends at its first value.
    for (const a of [...applied].reverse()) {
        if (a.skipped || !a.file || a.before === undefined) continue;
        await t.run(["sh", "-c", WRITE_FILE, "sh", a.file, a.before], { check: false });
    }
}

export const tuningHandler: ReplaceOnlyHandler<HostTuningInputs, HostTuningOutputs> = {
    ...replaceOnlyTable(HostTuningArgsSchema),
    outputs: HostTuningOutputsSchema,
    // The old values must be restored before the new ones are read as "before".
    deleteBeforeReplace: true,

    async create(ctx, i) {
        const t = hostTransport(ctx, i.host);
        const applied = await apply(ctx, t, i);
        let irqs: IrqApplied[] = [];
        try {
            irqs = await applyIrqAffinity(ctx, t, i.host.name, i.irqAffinity);
        } catch (e) {
            await restore(t, applied);
            throw e;
        }
        return { id: `${i.host.name}/${ctx.name}`, outs: { ...i, applied, irqs, drift: [] } };
    },

    async read(ctx, _id, state) {
        const i = inputsFromState(HostTuningArgsSchema, state);
        const t = hostTransport(ctx, i.host);
        const drift: string[] = [];
        // The inputs as the host shows them now, so drift is a diff that the next `up` repairs (by
        // replacement: the old values are restored, then the declared ones applied again).
        const seen: Partial<HostTuningInputs> & { sysctls: Record<string, string> } = { sysctls: { ...i.sysctls } };
        for (const a of state.applied) {
            if (a.skipped || !a.file) continue;
            const now = await readFile(t, a.file);
            if (now !== undefined && sameSysctl(now, a.after ?? a.wanted)) continue;
            drift.push(`${a.setting}: ${a.file} is ${now ?? "gone"}, was set to ${a.after ?? a.wanted}`);
            if (a.setting in i.sysctls) {
                if (now === undefined) delete seen.sysctls[a.setting];
                else seen.sysctls[a.setting] = now;
            } else if (a.setting.startsWith("governor ")) {
                // A value the schema does not take (or a file gone) still differs from the declared one.
                seen.governor = GOVERNORS.find((g) => g === now);
            } else if (a.setting === "boost") {
                const b = BOOST_FILES.find((f) => f.file === a.file);
                seen.boost = now === b?.on ? true : now === b?.off ? false : undefined;
            }
        }
        return { ...state, ...seen, drift };
    },

    async delete(ctx, _id, i) {
        const t = hostTransport(ctx, i.host);
        await restoreIrqAffinity(t, i.irqs);
        await restore(t, i.applied);
    },
};
