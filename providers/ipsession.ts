// One long-lived `ip -force -batch -` process per host (this machine or one of its network
// namespaces) and set of global options, fed batch after batch on its stdin for as long as the
// provider keeps sending them: provisioning 64 taps costs one ip process instead of one per batch.
// It ends once idle, and before its namespace is deleted: a process inside a namespace keeps the
// namespace, and its links, alive after `ip netns del`. SSH hosts keep one process per batch.
import { ChildProcess, spawn } from "child_process";
import { END_LINE, countSentinels, renderBatch } from "../core/ipbatch";
import { traceIpBatch, traceSpawn } from "./trace";
import { LocalTransport, NetnsTransport, Transport } from "./transport";

/** Idle time after which the process ends; the next batch starts another. */
const IDLE_MS = 300;

export interface SessionOutcome {
    /** ip's exit code if it ended, else 0. */
    code: number;
    stdout: string;
    stderr: string;
    /** It died by a signal (killed, or timed out): nothing past its last sentinel is known. */
    killed: boolean;
    /** Lines ip had read before this batch (its "Command failed -:N" counts from its start). */
    firstLine: number;
}

class IpSession {
    private readonly child: ChildProcess;
    private lines = 0;
    private out = "";
    private err = "";
    private exit?: { code: number | null; signal: NodeJS.Signals | null };
    private wake?: () => void;
    private idle?: NodeJS.Timeout;
    private ending = false;
    readonly exited: Promise<void>;

    constructor(argv: readonly string[], onEnd: () => void) {
        this.child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
        const traced = traceSpawn(argv);
        this.child.stdout!.setEncoding("utf8").on("data", (d: string) => {
            this.out += d;
            this.wake?.();
        });
        this.child.stderr!.setEncoding("utf8").on("data", (d: string) => {
            this.err += d;
            this.wake?.();
        });
        this.child.stdin!.on("error", () => undefined); // ip may exit with lines unread
        this.child.on("error", (e) => (this.err += `could not start ip: ${e.message}\n`));
        this.exited = new Promise((resolve) =>
            this.child.on("close", (code, signal) => {
                traced();
                this.exit = { code, signal };
                onEnd();
                this.wake?.();
                resolve();
            }),
        );
    }

    get usable(): boolean {
        return !this.exit && !this.ending;
    }

    /** Runs rendered command lines (core/ipbatch.ts batchLine) and returns everything ip said about them. */
    async run(lines: readonly string[], timeoutMs: number): Promise<SessionOutcome> {
        clearTimeout(this.idle);
        const t0 = Date.now();
        const firstLine = this.lines;
        this.lines += 2 * lines.length + 1;
        const endMarker = `Command failed -:${this.lines}\n`;
        this.child.stdin!.write(`${renderBatch(lines)}${END_LINE}\n`);
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            this.child.kill("SIGKILL");
        }, timeoutMs);
        await new Promise<void>((resolve) => {
            this.wake = () => {
                if (this.exit || (this.err.includes(endMarker) && countSentinels(this.out) >= lines.length)) resolve();
            };
            this.wake();
        });
        clearTimeout(timer);
        this.wake = undefined;
        const at = this.exit ? this.err.length : this.err.indexOf(endMarker) + endMarker.length;
        const res = { code: this.exit ? (this.exit.code ?? -1) : 0, stdout: this.out, stderr: this.err.slice(0, at), killed: timedOut || !!this.exit?.signal, firstLine };
        this.out = "";
        this.err = this.err.slice(at);
        traceIpBatch(lines.length, t0);
        if (!this.exit) this.idle = setTimeout(() => this.end(), IDLE_MS).unref();
        return res;
    }

    /** Closes ip's stdin: it runs what it has read, then exits. */
    end(): Promise<void> {
        this.ending = true;
        clearTimeout(this.idle);
        this.child.stdin!.end();
        return this.exited;
    }
}

const sessions = new Map<Transport, Map<string, IpSession>>();

/**
 * The open ip process of this host for these global options (started if needed), or undefined
 * where the host is not this machine (SSH: one process per batch there).
 */
export function ipSession(t: Transport, globals: readonly string[]): IpSession | undefined {
    if (!(t instanceof LocalTransport)) return undefined;
    const key = globals.join(" ");
    let byKey = sessions.get(t);
    if (!byKey) sessions.set(t, (byKey = new Map()));
    const have = byKey.get(key);
    if (have?.usable) return have;
    const ns = t instanceof NetnsTransport ? ["-n", t.namespace] : [];
    const s: IpSession = new IpSession(["ip", ...ns, ...globals, "-force", "-batch", "-"], () => {
        if (byKey!.get(key) === s) byKey!.delete(key);
    });
    byKey.set(key, s);
    return s;
}

/** Ends this host's ip process for these global options, if it has one (its cache went stale). */
export async function endIpSession(t: Transport, globals: readonly string[]): Promise<void> {
    await sessions.get(t)?.get(globals.join(" "))?.end();
}

/** Ends the ip processes inside a network namespace (before it is deleted), once they have run what they were sent. */
export async function endIpSessions(namespace: string): Promise<void> {
    const ending: Promise<void>[] = [];
    for (const [t, byKey] of sessions) {
        if (t instanceof NetnsTransport && t.namespace === namespace) for (const s of byKey.values()) ending.push(s.end());
    }
    await Promise.all(ending);
}
