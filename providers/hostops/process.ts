// Whether a process netbed started (a detached VMM) still runs: its pid and its start time, so a
// pid the kernel gave to another process since reads as gone. The one check the MicroVm handler
// and the benchmark use; core/procstat.ts reads the stat line.
import * as fs from "node:fs";
import { type ProcessIdentity, identityOf, isSameProcess } from "../../core/procstat";
import type { Transport } from "../transport";

/** The identity of the process with this pid on the transport's host; undefined when none runs. */
export async function processIdentity(t: Transport, pid: number): Promise<ProcessIdentity | undefined> {
    const r = await t.run(["cat", `/proc/${pid}/stat`], { check: false, timeoutMs: 10_000 });
    return r.code === 0 ? identityOf(r.stdout) : undefined;
}

export async function alive(t: Transport, pid: number, start: string): Promise<boolean> {
    return (await processIdentity(t, pid))?.start === start;
}

/** The same on this machine, read without starting a process (a diff asks for every guest in every preview). */
export async function aliveHere(pid: number, start: string): Promise<boolean> {
    const stat = await fs.promises.readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    return isSameProcess(stat, start);
}
