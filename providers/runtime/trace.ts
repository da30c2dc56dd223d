// Provider profiling for the provisioning bench: with NETBED_TRACE=<file> in the engine's
// environment, every provider call and every process the provider spawns is appended to <file> as
// one JSON line (times in ms since the epoch). Off (no file, no cost beyond one check) otherwise.
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { procStatCpu } from "../../core/procstat";

const file = process.env.NETBED_TRACE;

/** Wall-clock ms with sub-ms resolution, comparable across processes. */
function now(): number {
    return performance.timeOrigin + performance.now();
}

function write(ev: Record<string, unknown>): void {
    // Synchronous and appended: the lines of a killed provider are still there, and events from
    // concurrent calls never interleave within a line.
    if (file) fs.appendFileSync(file, `${JSON.stringify(ev)}\n`);
}

const tracing = file !== undefined && file !== "";

/** Records the plugin process's start (its own clock origin) and when it is ready to serve. */
export function traceStart(): void {
    if (tracing) write({ ev: "start", pid: process.pid, t0: performance.timeOrigin, t1: now() });
}

/** Times one provider call; the result and any error pass through unchanged. */
async function traceCall<T>(op: string, urn: string, fn: () => Promise<T>): Promise<T> {
    if (!tracing) return fn();
    const t0 = now();
    let ok = true;
    try {
        return await fn();
    } catch (e) {
        ok = false;
        throw e;
    } finally {
        const cpu = procStatCpu(fs.readFileSync("/proc/self/stat", "utf8"));
        write({ ev: "call", pid: process.pid, op, urn, t0, t1: now(), ok, cpuMs: cpu.selfMs, childCpuMs: cpu.childrenMs });
    }
}

/** The provider calls the engine makes (provider.Provider's methods netbed implements). */
const CALLS = ["check", "diff", "create", "read", "update", "delete"] as const;

/**
 * The provider with each of its calls timed when tracing, else the provider itself. The URN is
 * the argument after the id for every call but check and create, where it comes first.
 */
export function traced<P extends object>(p: P): P {
    if (!tracing) return p;
    return new Proxy(p, {
        get(target, prop, receiver) {
            const v = Reflect.get(target, prop, receiver);
            if (typeof v !== "function" || !(CALLS as readonly (string | symbol)[]).includes(prop)) return v;
            const urnAt = prop === "check" || prop === "create" ? 0 : 1;
            return (...args: unknown[]) => traceCall(String(prop), String(args[urnAt]), () => v.apply(target, args));
        },
    });
}

/** Called by the transport around every process it spawns; returns the function that ends it. */
export function traceSpawn(argv: readonly string[], stdin?: string | Buffer): () => void {
    if (!tracing) return () => undefined;
    const t0 = now();
    // An `ip -batch` carries its commands on stdin: their number says how much one process did.
    const stdinLines =
        stdin === undefined
            ? 0
            : stdin
                  .toString()
                  .split("\n")
                  .filter((l) => l !== "").length;
    return () => write({ ev: "spawn", pid: process.pid, argv: argv.slice(0, 7), stdinLines, t0, t1: now() });
}

/** One batch written to a long-lived `ip -batch` process (providers/hostops/ipsession.ts): `commands` lines, from t0 (Date.now()) to now. */
export function traceIpBatch(commands: number, t0: number): void {
    if (tracing) write({ ev: "ipbatch", pid: process.pid, stdinLines: 2 * commands, t0, t1: now() });
}
