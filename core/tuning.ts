// Host tuning for stable numbers (what Firecracker's performance runs set by hand): CPU frequency
// governor, turbo/boost, sysctls. Pure: which files a setting writes, and what it writes there.

/** A sysctl key: dot-separated words, each [a-z0-9_-] (so the path under /proc/sys never leaves it). */
export function sysctlProblem(key: string): string | undefined {
    if (!/^[a-z0-9_]+(\.[a-z0-9_-]+)+$/i.test(key)) return "is not a sysctl key like net.core.rmem_max (dot-separated words of letters, digits, '_' and '-')";
    if (!TUNING_SYSCTLS.some((p) => (p.endsWith(".") || p.endsWith("_") ? key.startsWith(p) : key === p))) {
        // kernel.core_pattern=|prog, kernel.modprobe and the like would run programs as root.
        return `is not a tuning sysctl: netbed sets only ${TUNING_SYSCTLS.map((p) => (p.endsWith(".") || p.endsWith("_") ? `${p}*` : p)).join(", ")}`;
    }
    return undefined;
}

/** The sysctls a testbed tunes for stable numbers: networking, memory, the scheduler and watchdogs. */
const TUNING_SYSCTLS = [
    "net.",
    "vm.",
    "kernel.sched_",
    "kernel.numa_balancing",
    "kernel.timer_migration",
    "kernel.nmi_watchdog",
    "kernel.watchdog",
    "kernel.perf_event_paranoid",
];

export function sysctlPath(key: string): string {
    return `/proc/sys/${key.split(".").join("/")}`;
}

/** A sysctl value as /proc/sys takes it: numbers and words, one line, tabs between fields. */
export function sysctlValueProblem(v: string): string | undefined {
    if (/[\n\r\0]/.test(v)) return "must be one line";
    if (v.length > 4096) return "must be at most 4096 characters";
    return undefined;
}

/** /proc/sys prints multi-field values with tabs; a setting given with spaces is the same value. */
export function sameSysctl(a: string, b: string): boolean {
    return a.trim().split(/\s+/).join(" ") === b.trim().split(/\s+/).join(" ");
}

export const GOVERNORS = ["performance", "powersave", "schedutil", "ondemand", "conservative", "userspace"] as const;

/** The files that turn boost off (value written for "off", for "on"), by driver. */
export const BOOST_FILES: { file: string; off: string; on: string }[] = [
    // intel_pstate inverts it: no_turbo=1 is boost off.
    { file: "/sys/devices/system/cpu/intel_pstate/no_turbo", off: "1", on: "0" },
    // acpi-cpufreq and amd-pstate.
    { file: "/sys/devices/system/cpu/cpufreq/boost", off: "0", on: "1" },
];

/** CPU directories under /sys/devices/system/cpu from an `ls` of it. */
export function cpuDirs(ls: string): string[] {
    return ls
        .split(/\s+/)
        .filter((n) => /^cpu\d+$/.test(n))
        .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
}
