// The `custom` VMM driver's argv template: placeholders in {braces} are replaced by the VM's
// values, each inside one argv word (never re-split by a shell). Pure.

export const PLACEHOLDERS = ["kernel", "initrd", "cmdline", "vcpus", "memoryMiB", "console"] as const;
const NIC_PLACEHOLDER = /^(tap|mac|fd)(\d+)$/;

/** Why a template is unusable for a VM with `nics` NICs, or undefined. */
export function templateProblem(argv: readonly string[], nics: number): string | undefined {
    if (argv.length === 0) return "must not be empty";
    if (!argv[0].startsWith("/")) return `its first word '${argv[0]}' must be the VMM binary's absolute path`;
    for (const w of argv) {
        for (const m of w.matchAll(/\{([^}]*)\}/g)) {
            const p = m[1];
            const nic = NIC_PLACEHOLDER.exec(p);
            if (nic) {
                if (Number(nic[2]) >= nics) return `'{${p}}' refers to NIC ${nic[2]}, but the VM has ${nics}`;
            } else if (!(PLACEHOLDERS as readonly string[]).includes(p)) {
                return `'{${p}}' is not a placeholder (use ${PLACEHOLDERS.map((x) => `{${x}}`).join(", ")}, {tapN}, {macN}, {fdN})`;
            }
        }
    }
    if (!argv.some((w) => w.includes("{kernel}"))) return "never uses {kernel}";
    return undefined;
}

export interface TemplateValues {
    kernel: string;
    initrd: string;
    cmdline: string;
    vcpus: number;
    memoryMiB: number;
    console: string;
    taps: (string | undefined)[];
    macs: string[];
    fds: (number | undefined)[];
}

export function renderTemplate(argv: readonly string[], v: TemplateValues): string[] {
    return argv.map((w) =>
        w.replace(/\{([^}]*)\}/g, (_, p: string) => {
            const nic = NIC_PLACEHOLDER.exec(p);
            if (nic) {
                const i = Number(nic[2]);
                const val = nic[1] === "tap" ? v.taps[i] : nic[1] === "mac" ? v.macs[i] : v.fds[i];
                if (val === undefined) throw new Error(`'{${p}}': NIC ${i} has no ${nic[1]} (check its backend)`);
                return String(val);
            }
            return String((v as unknown as Record<string, unknown>)[p]);
        }),
    );
}
