// The fields netbed reads from a /proc/<pid>/stat line (proc(5)). Pure.

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
