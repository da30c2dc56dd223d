// What netbed reads from /proc (proc(5)): a /proc/<pid>/stat line, CPU time from /proc/stat and
// per process, a VMM's vhost worker threads. Pure.

export interface ProcStat {
    pid: number;
    /** Field 2, without its parentheses: it may itself hold spaces and parentheses. */
    comm: string;
    /** Field 3: R, S, D, Z (a zombie: exited, not yet reaped), ... */
    state: string;
    ppid: number;
    /** Fields 14-17, in clock ticks: the process's own user and system time, then its waited-for children's. */
    utime: number;
    stime: number;
    cutime: number;
    cstime: number;
    /** Field 22, clock ticks since boot, kept as text: with the pid it identifies a process. */
    startTime: string | undefined;
}

/** Parses one /proc/<pid>/stat line; undefined when it is not one (too few fields, CPU times not numbers). */
export function parseProcStat(line: string): ProcStat | undefined {
    const open = line.indexOf("(");
    const close = line.lastIndexOf(")");
    if (open < 0 || close < open) return undefined;
    // Fields from 3 on follow the last ')': field k is f[k - 3].
    const f = line
        .slice(close + 1)
        .trim()
        .split(/\s+/);
    const n = (k: number) => Number(f[k - 3]);
    if (f.length < 15 || [14, 15, 16, 17].some((k) => !Number.isFinite(n(k)))) return undefined;
    return {
        pid: Number(line.slice(0, open)),
        comm: line.slice(open + 1, close),
        state: f[0],
        ppid: n(4),
        utime: n(14),
        stime: n(15),
        cutime: n(16),
        cstime: n(17),
        startTime: f[19],
    };
}

export interface CpuSplit {
    user: number;
    system: number;
    softirq: number;
    irq: number;
    guest: number;
    idle: number;
    /** Everything but idle and iowait. */
    busy: number;
}

function cpuLine(stat: string): number[] {
    const line = stat.split("\n").find((l) => l.startsWith("cpu "));
    if (!line) throw new Error("no aggregate 'cpu' line in /proc/stat");
    return line.trim().split(/\s+/).slice(1).map(Number);
}

/**
 * CPU-seconds between two /proc/stat readings. The kernel already counts guest time inside user
 * (and guest_nice inside nice), so guest is reported on its own and subtracted from user.
 */
export function cpuSeconds(before: string, after: string, ticksPerSecond = 100): CpuSplit {
    const b = cpuLine(before);
    const a = cpuLine(after);
    const d = (i: number) => ((a[i] ?? 0) - (b[i] ?? 0)) / ticksPerSecond;
    const [user, nice, system, idle, iowait, irq, softirq, steal, guest, guestNice] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(d);
    return {
        user: user + nice - guest - guestNice,
        system,
        softirq,
        irq,
        guest: guest + guestNice,
        idle: idle + iowait,
        busy: user + nice + system + irq + softirq + steal,
    };
}

/** What identifies a running process: its start time (with its pid), and its name. */
export interface ProcessIdentity {
    start: string;
    comm: string;
}

/** A live process's identity from its /proc/<pid>/stat line; undefined for a zombie or no stat line. */
export function identityOf(stat: string): ProcessIdentity | undefined {
    // A killed daemon stays a zombie until whoever adopted it reaps it: that is dead too.
    const p = parseProcStat(stat);
    if (!p || p.state === "Z" || !p.startTime) return undefined;
    return { start: p.startTime, comm: p.comm };
}

/** Whether a stat line is the live process that started at `start`: a pid reused since is another process. */
export function isSameProcess(stat: string, start: string): boolean {
    return identityOf(stat)?.start === start;
}

/** The name the kernel gives a VMM's vhost workers: kernel threads before Linux 6.4, the VMM's own threads since. */
export function vhostWorkerName(vmmPid: number): string {
    return `vhost-${vmmPid}`;
}

export function isVhostWorker(threadName: string, vmmPid: number): boolean {
    return threadName === vhostWorkerName(vmmPid);
}

/** The vhost worker threads of a VMM from `ps -eLo tid=,comm=`. */
export function vhostThreadIds(ps: string, vmmPid: number): number[] {
    const out: number[] = [];
    for (const line of ps.split("\n")) {
        const m = /^\s*(\d+)\s+(\S+)\s*$/.exec(line);
        if (m && isVhostWorker(m[2], vmmPid)) out.push(Number(m[1]));
    }
    return out;
}

/** utime + stime of a process (all its threads) between two /proc/<pid>/stat readings. */
export function processCpuSeconds(before: string, after: string, ticksPerSecond = 100): number {
    const f = (s: string) => {
        const p = parseProcStat(s);
        return p ? p.utime + p.stime : NaN;
    };
    return (f(after) - f(before)) / ticksPerSecond;
}

/**
 * CPU time (ms) of a process and of its children it has waited for, from /proc/<pid>/stat
 * (utime, stime, cutime, cstime: fields 14-17, in clock ticks).
 */
export function procStatCpu(stat: string, ticksPerSecond = 100): { selfMs: number; childrenMs: number } {
    const p = parseProcStat(stat);
    if (!p) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 120)}`);
    const ms = (ticks: number) => (ticks * 1000) / ticksPerSecond;
    return { selfMs: ms(p.utime + p.stime), childrenMs: ms(p.cutime + p.cstime) };
}
