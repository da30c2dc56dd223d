// SecurityProfile logic that needs no host: capability names, which Landlock ABI each rule needs,
// the seccomp policy a profile stands for, and the launcher chain's argv. Pure.
import {
    ARCHES,
    type Arch,
    type DenyRule,
    type SeccompAction,
    type SeccompPolicy,
    editDistance,
    syscallNumber,
    unknownSyscallMessage,
} from "./seccomp/compile";
import { ENOSYS_FALLBACKS, PRESET_NAMES, type PresetName, presetPolicy } from "./seccomp/presets";

/** Linux capabilities by bit number (linux/capability.h, up to CAP_CHECKPOINT_RESTORE = 40). */
export const CAPABILITIES = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** Why `name` is not a capability netbed knows (lower case, without "cap_"), or undefined. */
export function capabilityProblem(name: string): string | undefined {
    if ((CAPABILITIES as readonly string[]).includes(name)) return undefined;
    const plain = name.toLowerCase().replace(/^cap_/, "");
    if ((CAPABILITIES as readonly string[]).includes(plain)) return `is written '${plain}' here (lower case, without 'cap_')`;
    const close = CAPABILITIES.filter((c) => editDistance(plain, c) <= 2 || c.includes(plain)).slice(0, 3);
    return `is not a Linux capability${close.length ? `: did you mean ${close.map((c) => `'${c}'`).join(", ")}?` : ` (known: ${CAPABILITIES.join(", ")})`}`;
}

/** The CapEff/CapPrm bit mask of a set of capabilities, as /proc/PID/status prints it (16 hex digits). */
export function capabilityMask(caps: readonly string[]): string {
    const bits = caps.reduce((m, c) => m | (1n << BigInt(CAPABILITIES.indexOf(c as Capability))), 0n);
    return bits.toString(16).padStart(16, "0");
}

export const LANDLOCK_SCOPES = ["abstract-unix", "signal"] as const;

export interface LandlockRules {
    enabled: boolean;
    mode: "strict" | "best-effort";
    ro: string[];
    rw: string[];
    exec: string[];
    bindPorts: number[];
    connectPorts: number[];
    denyTcp: boolean;
    scopes: (typeof LANDLOCK_SCOPES)[number][];
}

/** A Landlock feature a profile asks for, the ABI that brought it, and the fields that ask for it. */
export interface LandlockNeed {
    feature: string;
    abi: number;
    fields: (keyof LandlockRules)[];
}

/** What the rules need from the kernel's Landlock ABI (nothing when Landlock is off). */
function landlockNeeds(l: LandlockRules): LandlockNeed[] {
    if (!l.enabled) return [];
    const needs: LandlockNeed[] = [{ feature: "Landlock", abi: 1, fields: ["enabled"] }];
    const tcp = (["bindPorts", "connectPorts", "denyTcp"] as const).filter((k) => (k === "denyTcp" ? l.denyTcp : l[k].length > 0));
    if (tcp.length > 0) needs.push({ feature: "TCP port rules", abi: 4, fields: tcp });
    if (l.scopes.length > 0) needs.push({ feature: "scopes", abi: 6, fields: ["scopes"] });
    return needs;
}

/** The needs a host with Landlock ABI `abi` cannot meet (0: no Landlock). */
export function unmetLandlockNeeds(l: LandlockRules, abi: number): LandlockNeed[] {
    return landlockNeeds(l).filter((n) => n.abi > abi);
}

/** Why a path cannot be a Landlock rule, or undefined. */
export function rulePathProblem(p: string): string | undefined {
    if (!p.startsWith("/")) return "must be an absolute path";
    if (p.includes("\0")) return "must not contain NUL bytes";
    if (p.split("/").includes("..")) return "must not contain '..' (give the path it stands for)";
    return undefined;
}

export const SECCOMP_PRESETS = [...PRESET_NAMES, "custom"] as const;

export interface SeccompSpec {
    preset: (typeof SECCOMP_PRESETS)[number];
    defaultAction?: Exclude<SeccompAction, "allow">;
    errno?: number;
    extraAllow: string[];
    allow?: string[];
}

/** Why a syscall name is unknown on every architecture netbed compiles for (with a close match), or undefined. */
export function syscallNameProblem(name: string, arch: Arch = "x86_64"): string | undefined {
    if (ARCHES.some((a) => syscallNumber(name, a) !== undefined)) return undefined;
    return unknownSyscallMessage(name, arch);
}

/**
 * The seccomp policy of a profile; undefined for preset "none" (no filter). A preset keeps its
 * ENOSYS answers for clone3 and io_uring_setup (and its unix-only socket rule, unless extraAllow
 * names socket); a custom list gets them for the names it does not
 * allow itself, because glibc and QEMU fall back from those calls instead of failing.
 */
export function seccompPolicy(s: SeccompSpec): SeccompPolicy | undefined {
    if (s.preset === "none") return undefined;
    const base: SeccompPolicy =
        s.preset === "custom"
            ? { defaultAction: "kill-process", allow: s.allow ?? [], deny: ENOSYS_FALLBACKS.filter((d: DenyRule) => !(s.allow ?? []).includes(d.name)) }
            : presetPolicy(s.preset as PresetName)!;
    return {
        ...base,
        defaultAction: s.defaultAction ?? base.defaultAction,
        errno: s.errno,
        allow: [...base.allow, ...s.extraAllow],
        // A name in extraAllow lifts the preset's conditions on it (socket: every address family).
        deny: base.deny?.filter((d) => !(d.args && s.extraAllow.includes(d.name))),
    };
}

export function isArch(a: string): a is Arch {
    return (ARCHES as readonly string[]).includes(a);
}

export interface WrapperSpec {
    /** Absolute paths of util-linux prlimit and setpriv and of netbed-confine on the host. */
    prlimit: string;
    setpriv: string;
    launcher: string;
    rlimits: { nofile?: number; memlock?: number | "unlimited" };
    capabilities: string[];
    user?: number;
    group?: number;
    /** Supplementary groups kept (e.g. kvm for /dev/kvm); none when absent. */
    groups?: number[];
    landlock: LandlockRules;
    /** The compiled filter on the host; undefined for no filter. */
    filterPath?: string;
}

/** netbed-confine's Landlock options for a set of rules (without the final "--"). */
export function landlockArgs(l: Pick<LandlockRules, "ro" | "rw" | "exec" | "bindPorts" | "connectPorts" | "denyTcp" | "scopes">): string[] {
    return [
        ...l.ro.flatMap((p) => ["--ro", p]),
        ...l.rw.flatMap((p) => ["--rw", p]),
        ...l.exec.flatMap((p) => ["--exec", p]),
        ...l.bindPorts.flatMap((p) => ["--bind-port", String(p)]),
        ...l.connectPorts.flatMap((p) => ["--connect-port", String(p)]),
        ...(l.denyTcp ? ["--deny-tcp"] : []),
        ...l.scopes.flatMap((s) => ["--scope", s]),
    ];
}

/**
 * The argv prefix that confines a program: netbed-confine as root without Landlock (the first
 * stage: it opens the taps and listening sockets the program is handed as fds), prlimit (as root,
 * so hard limits can rise), then setpriv (no_new_privs, uid/gid, capabilities), then netbed-confine
 * again (Landlock, then seccomp). Each execs in place, so the program keeps the pid the chain started
 * with. The first stage's options go after its "--no-landlock" (withRootLauncherArgs); the last word
 * is the second stage's "--": more Landlock options (a VM's own paths) go right before it, the
 * program right after it. Capabilities are limited in the inheritable, ambient and bounding sets
 * alike: after exec, root keeps exactly the bounding set, any other uid exactly the ambient set.
 */
export function wrapperArgv(w: WrapperSpec): string[] {
    const limits = [
        ...(w.rlimits.nofile !== undefined ? [`--nofile=${w.rlimits.nofile}:${w.rlimits.nofile}`] : []),
        ...(w.rlimits.memlock !== undefined ? [`--memlock=${w.rlimits.memlock}:${w.rlimits.memlock}`] : []),
    ];
    const caps = ["-all", ...w.capabilities.map((c) => `+${c}`)].join(",");
    const groups = w.groups?.length ? [`--groups=${w.groups.join(",")}`] : ["--clear-groups"];
    return [
        w.launcher,
        "--no-landlock",
        "--",
        ...(limits.length > 0 ? [w.prlimit, ...limits, "--"] : []),
        w.setpriv,
        "--no-new-privs",
        ...(w.group !== undefined ? [`--regid=${w.group}`, ...groups] : []),
        ...(w.user !== undefined ? [`--reuid=${w.user}`] : []),
        `--inh-caps=${caps}`,
        `--ambient-caps=${caps}`,
        `--bounding-set=${caps}`,
        "--",
        w.launcher,
        ...(w.landlock.enabled ? [...(w.landlock.mode === "best-effort" ? ["--best-effort"] : []), ...landlockArgs(w.landlock)] : ["--no-landlock"]),
        ...(w.filterPath ? ["--seccomp", w.filterPath] : []),
        "--",
    ];
}

/** Inserts options into a wrapper's first, root stage (fds it opens: --tap, --listen). */
export function withRootLauncherArgs(wrapper: readonly string[], extra: readonly string[]): string[] {
    if (wrapper[1] !== "--no-landlock" || !wrapper[0].endsWith("/netbed-confine"))
        throw new Error("the SecurityProfile's wrapper has no root stage (a profile made by an older netbed): replace the SecurityProfile");
    return [...wrapper.slice(0, 2), ...extra, ...wrapper.slice(2)];
}

/** The scopes in force: the ones asked for, or by default every scope the host's Landlock ABI has (6 and later). */
export function scopesFor(asked: LandlockRules["scopes"] | undefined, abi: number): LandlockRules["scopes"] {
    return asked ?? (abi >= 6 ? [...LANDLOCK_SCOPES] : []);
}

/** Inserts more netbed-confine options into a wrapper (before its final "--"). */
export function withLauncherArgs(wrapper: readonly string[], extra: readonly string[]): string[] {
    if (wrapper[wrapper.length - 1] !== "--") throw new Error("a SecurityProfile wrapper ends with the launcher's '--'");
    return [...wrapper.slice(0, -1), ...extra, "--"];
}
