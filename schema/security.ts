import { z } from "zod";
import type { HostProbe } from "../core/probe";
import { ARCHES, compileFilter } from "../core/seccomp/compile";
import {
    LANDLOCK_SCOPES,
    type LandlockRules,
    SECCOMP_PRESETS,
    capabilityProblem,
    isArch,
    rulePathProblem,
    seccompPolicy,
    syscallNameProblem,
    unmetLandlockNeeds,
} from "../core/security";
import { machineLabel, machineOf } from "../core/placement";
import { hostPath, observedObject, refineWith } from "./common";
import { type HostConnection, HostConnectionSchema } from "./host";

const problem = (check: (v: string) => string | undefined) => (v: string, ctx: z.RefinementCtx) => {
    const p = check(v);
    if (p) ctx.addIssue({ code: z.ZodIssueCode.custom, message: p });
};

const SyscallName = z.string().superRefine(problem((n) => syscallNameProblem(n)));
const RulePath = z.string().superRefine(refineWith(rulePathProblem));
const Port = z
    .number({ invalid_type_error: "must be a TCP port number" })
    .int()
    .min(1, "must be a TCP port in 1..65535")
    .max(65535, "must be a TCP port in 1..65535");
const Id = z.number().int().min(0).max(4294967294);

const SeccompSchema = z
    .object({
        /**
         * `qemu` (default: what QEMU needs to boot and run the benchmark matrix), `strict` (what a
         * TCG guest was seen to use), `none` (no filter), or `custom` with `allow`.
         */
        preset: z.enum(SECCOMP_PRESETS, { errorMap: () => ({ message: `must be one of ${SECCOMP_PRESETS.join(", ")}` }) }).default("qemu"),
        /** What every syscall outside the list gets. Default: the preset's (kill-process). */
        defaultAction: z.enum(["kill-process", "kill-thread", "errno", "log", "trap"]).optional(),
        /** The errno of defaultAction "errno" (default EPERM). */
        errno: z.number().int().min(1).max(4095).optional(),
        /** Syscall names added to the preset's list; socket here also allows every address family (the presets allow unix sockets only). */
        extraAllow: z.array(SyscallName).default([]),
        /** For preset "custom": the whole list (it must include execve, which starts the program). */
        allow: z.array(SyscallName).optional(),
    })
    .strict();

const LandlockSchema = z
    .object({
        enabled: z.boolean().default(true),
        /** `strict` (default) refuses a host whose Landlock ABI lacks a feature asked for; `best-effort` drops it there. */
        mode: z.enum(["strict", "best-effort"]).default("strict"),
        /** Read files and list directories beneath these paths. */
        ro: z.array(RulePath).default([]),
        /** Also write, create and remove beneath these paths (never create device nodes). */
        rw: z.array(RulePath).default([]),
        /** Execute (and read) files beneath these paths. */
        exec: z.array(RulePath).default([]),
        /** TCP ports the process may bind / connect to (ABI 4); any makes every other port denied. */
        bindPorts: z.array(Port).default([]),
        connectPorts: z.array(Port).default([]),
        /** Deny every TCP bind and connect (ABI 4). */
        denyTcp: z.boolean().default(false),
        /**
         * No connecting to abstract unix sockets, no signals, outside the process's domain (ABI 6).
         * Default: both where the host's ABI has them, none below (whatever the mode); a list given
         * here follows the mode.
         */
        scopes: z.array(z.enum(LANDLOCK_SCOPES, { errorMap: () => ({ message: `must be one of ${LANDLOCK_SCOPES.join(", ")}` }) })).optional(),
    })
    .strict();

export const SecurityProfileArgsSchema = z
    .object({
        host: HostConnectionSchema,
        seccomp: SeccompSchema.default({}),
        landlock: LandlockSchema.default({}),
        /**
         * Capabilities kept (every other one is dropped). Default none: the launcher's first stage
         * opens taps (TUNSETIFF) and listening sockets as root and hands QEMU their fds.
         */
        capabilities: z.array(z.string().superRefine(refineWith(capabilityProblem))).default([]),
        /**
         * uid and gid to run as (both, or group alone). Default: the system user netbed-vmm (created on
         * the host if missing: no login shell, no home). user 0 and group 0 keep root.
         */
        user: Id.optional(),
        group: Id.optional(),
        /** Resource limits, soft and hard alike: open files, locked memory in bytes. */
        rlimits: z
            .object({
                nofile: z
                    .number()
                    .int()
                    .min(1)
                    .max(1 << 20)
                    .optional(),
                memlock: z
                    .union([z.number().int().min(0).max(Number.MAX_SAFE_INTEGER, "must be at most 2^53-1 bytes, or 'unlimited'"), z.literal("unlimited")])
                    .optional(),
            })
            .strict()
            .default({}),
        /** Where the launcher is built, shared by stacks (default /var/cache/netbed: native/<sha256>/netbed-confine). */
        cacheDir: hostPath(" on the host").default("/var/cache/netbed"),
        /** What the host offers, from its probe (filled by the SDK): checked before anything is created. */
        hostCaps: z
            .object({ arch: z.string(), landlockAbi: z.number().int().min(0), seccompFilter: z.boolean() })
            .strict()
            .optional(),
    })
    .strict()
    .superRefine((v, ctx) => {
        const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
        const s = v.seccomp;
        let seccompIssues = 0;
        const sIssue = (path: (string | number)[], message: string) => {
            seccompIssues++;
            issue(path, message);
        };
        if (s.preset === "custom" && !s.allow) sIssue(["seccomp", "allow"], "preset 'custom' needs allow: the whole list of syscalls");
        if (s.preset !== "custom" && s.allow)
            sIssue(["seccomp", "allow"], `is the whole list of preset 'custom'; to add syscalls to preset '${s.preset}', use extraAllow`);
        if (s.preset === "custom" && s.allow && !s.allow.includes("execve"))
            sIssue(["seccomp", "allow"], "must include execve: netbed-confine installs the filter right before it execs the program");
        if (s.preset === "none") {
            for (const k of ["defaultAction", "errno"] as const)
                if (s[k] !== undefined) sIssue(["seccomp", k], "only applies with a filter (preset 'none' installs none)");
            if (s.extraAllow.length > 0) sIssue(["seccomp", "extraAllow"], "only applies with a filter (preset 'none' installs none)");
        } else if (s.errno !== undefined && s.defaultAction !== "errno") sIssue(["seccomp", "errno"], "only applies with defaultAction 'errno'");
        const nameProblems = [...s.extraAllow, ...(s.allow ?? [])].some((n) => syscallNameProblem(n));
        const policy = seccompPolicy(s);
        if (policy && !nameProblems && seccompIssues === 0) {
            const arches: string[] = v.hostCaps ? [v.hostCaps.arch] : [...ARCHES];
            for (const arch of arches) {
                if (!isArch(arch)) {
                    issue(
                        ["seccomp", "preset"],
                        `netbed compiles seccomp filters for ${ARCHES.join(" and ")}; host '${v.host.name}' is ${arch}: use preset 'none'`,
                    );
                    continue;
                }
                try {
                    compileFilter(policy, arch, { missing: "skip" });
                } catch (e) {
                    issue(["seccomp"], (e as Error).message);
                }
            }
            if (v.hostCaps && !v.hostCaps.seccompFilter)
                issue(["seccomp", "preset"], `host '${v.host.name}' has no seccomp filters (CONFIG_SECCOMP_FILTER): use preset 'none'`);
        }

        const l: LandlockRules = { ...v.landlock, scopes: v.landlock.scopes ?? [] };
        if (!l.enabled) {
            if (v.landlock.scopes !== undefined && l.scopes.length > 0) issue(["landlock", "scopes"], "only applies when landlock.enabled is true");
            for (const k of ["ro", "rw", "exec", "bindPorts", "connectPorts"] as const)
                if (l[k].length > 0) issue(["landlock", k], "only applies when landlock.enabled is true");
            if (l.denyTcp) issue(["landlock", "denyTcp"], "only applies when landlock.enabled is true");
        } else if (v.hostCaps && l.mode === "strict") {
            const abi = v.hostCaps.landlockAbi;
            for (const need of unmetLandlockNeeds(l, abi)) {
                issue(
                    ["landlock", need.fields[0]],
                    need.abi === 1
                        ? `host '${v.host.name}' has no Landlock (ABI 0): set landlock.mode 'best-effort' to run without it there, or landlock.enabled false`
                        : `${need.feature} need Landlock ABI ${need.abi}; host '${v.host.name}' has ABI ${abi}: set landlock.mode 'best-effort' to go without them there`,
                );
            }
        }
        if (v.user !== undefined && v.group === undefined) issue(["group"], "give group with user (otherwise the process keeps root's group 0)");
    });

export type SecurityProfileInputs = z.output<typeof SecurityProfileArgsSchema>;
/** What a SecurityProfile's check needs to know of its host (its `hostCaps` input). */
export function securityHostCaps(p: HostProbe): NonNullable<SecurityProfileInputs["hostCaps"]> {
    return { arch: p.arch, landlockAbi: p.landlockAbi, seccompFilter: p.seccompFilter };
}

/** The rules a profile applies on its host, as read back at create. */
export interface SecurityRules {
    seccomp: { preset: string; defaultAction?: string; errno?: number; syscalls: string[] };
    /** The Landlock rules in force at the host's ABI; `dropped` names what best-effort left out there. */
    landlock: LandlockRules & { abi: number; dropped: string[] };
    noNewPrivs: true;
    capabilities: string[];
    user?: number;
    group?: number;
    /** Supplementary groups the VMM keeps (none when absent). */
    groups?: number[];
    rlimits: { nofile?: number; memlock?: number | "unlimited" };
}

/** What a MicroVm takes from its profile's outputs (the MicroVm's `security` input). */
export function vmSecurityOf(p: { name: string; wrapper: string[]; rules: SecurityRules; landlockAbi: number; filterSha256?: string; host: HostConnection }) {
    return {
        profile: p.name,
        wrapper: p.wrapper,
        landlock: { enabled: p.rules.landlock.enabled, abi: p.landlockAbi },
        filterSha256: p.filterSha256,
        user: p.rules.user,
        group: p.rules.group,
        groups: p.rules.groups,
        machine: machineOf(p.host),
        machineLabel: machineLabel(p.host),
    };
}

/** What create and read return besides the inputs. */
export const SecurityProfileOutputsSchema = z
    .object({
        /** The resource name (MicroVm records it). */
        name: z.string(),
        /** Where the profile's files are on its host (absent in state from versions that named it by the profile's name alone). */
        profileDir: z.string().optional(),
        /** sha256 of the compiled filter (undefined for preset "none"). */
        filterSha256: z.string().optional(),
        filterBytes: z.number(),
        filterInstructions: z.number(),
        syscallCount: z.number(),
        skippedSyscalls: z.array(z.string()),
        landlockAbi: z.number(),
        rules: observedObject<SecurityRules>("the rules as applied"),
        launcherPath: z.string(),
        filterPath: z.string().optional(),
        wrapper: z.array(z.string()),
    })
    .strict();
export type SecurityProfileOutputs = z.output<typeof SecurityProfileOutputsSchema>;
export type SecurityProfileState = SecurityProfileInputs & SecurityProfileOutputs;
