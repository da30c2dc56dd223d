// One long-lived `ip -force -batch -` process per host (this machine or one of its network
// namespaces) and set of global options, fed batch after batch on its stdin for as long as the
// provider keeps sending them: provisioning 64 taps costs one ip process instead of one per batch.
// It ends once idle, and before its namespace is deleted: a process inside a namespace keeps the
// namespace, and its links, alive after `ip netns del`. SSH hosts keep one process per batch.
// The same for the shell that runs `ethtool -k` per device (`ip netns exec` costs a mount namespace).
import { type ChildProcess, spawn } from "node:child_process";
import { END_LINE, ETHTOOL_LOOP_SCRIPT, countSentinels, renderBatch } from "../../core/ipbatch";
import { traceIpBatch, traceSpawn } from "../runtime/trace";
import { LocalTransport, NetnsTransport, type Transport, childEnv } from "../transport";

/** Idle time after which the process ends; the next batch starts another. */
const IDLE_MS = 300;
const ETHTOOL_MARKER = /^### netbed-ethtool \d+$/gm;

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

/** A process that stays open and takes work on its stdin; it ends once idle. */
class Session {
    protected readonly child: ChildProcess;
    protected out = "";
    protected err = "";
    protected exit?: { code: number | null; signal: NodeJS.Signals | null };
    private wake?: () => void;
    private idle?: NodeJS.Timeout;
    private ending = false;
    readonly exited: Promise<void>;

    constructor(argv: readonly string[], onEnd: () => void) {
        this.child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: childEnv() });
        const traced = traceSpawn(argv);
        this.child.stdout!.setEncoding("utf8").on("data", (d: string) => {
            this.out += d;
            this.wake?.();
        });
        this.child.stderr!.setEncoding("utf8").on("data", (d: string) => {
            this.err += d;
            this.wake?.();
        });
        this.child.stdin!.on("error", () => undefined); // it may exit with input unread
        this.child.on("error", (e) => (this.err += `could not start ${argv[0]}: ${e.message}\n`));
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

    /** Writes `input`, then waits until `done()` holds or the process ends (killed after timeoutMs). Whether it timed out. */
    protected async exchange(input: string, done: () => boolean, timeoutMs: number): Promise<boolean> {
        clearTimeout(this.idle);
        this.child.stdin!.write(input);
        let timedOut = false;
        const timer = setTimeout(() => {
            timedOut = true;
            this.child.kill("SIGKILL");
        }, timeoutMs);
        await new Promise<void>((resolve) => {
            this.wake = () => {
                if (this.exit || done()) resolve();
            };
            this.wake();
        });
        clearTimeout(timer);
        this.wake = undefined;
        if (!this.exit) this.idle = setTimeout(() => this.end(), IDLE_MS).unref();
        return timedOut;
    }

    /** Closes its stdin: it does what it has read, then exits. */
    end(): Promise<void> {
        this.ending = true;
        clearTimeout(this.idle);
        this.child.stdin!.end();
        return this.exited;
    }
}

class IpSession extends Session {
    private lines = 0;

    /** Runs rendered command lines (core/ipbatch.ts batchLine) and returns everything ip said about them. */
    async run(lines: readonly string[], timeoutMs: number): Promise<SessionOutcome> {
        const t0 = Date.now();
        const firstLine = this.lines;
        this.lines += 2 * lines.length + 1;
        const endMarker = `Command failed -:${this.lines}\n`;
        const timedOut = await this.exchange(
            `${renderBatch(lines)}${END_LINE}\n`,
            () => this.err.includes(endMarker) && countSentinels(this.out) >= lines.length,
            timeoutMs,
        );
        const at = this.exit ? this.err.length : this.err.indexOf(endMarker) + endMarker.length;
        const res = {
            code: this.exit ? (this.exit.code ?? -1) : 0,
            stdout: this.out,
            stderr: this.err.slice(0, at),
            killed: timedOut || !!this.exit?.signal,
            firstLine,
        };
        this.out = "";
        this.err = this.err.slice(at);
        traceIpBatch(lines.length, t0);
        return res;
    }
}

/** A shell running `ethtool -k` for each device name it reads (core/ipbatch.ts ETHTOOL_LOOP_SCRIPT). */
class EthtoolSession extends Session {
    /** ETHTOOL_LOOP_SCRIPT's output for these devices (what it printed for them, markers included). */
    async run(devs: readonly string[], timeoutMs: number): Promise<string> {
        const done = () => (this.out.match(ETHTOOL_MARKER) ?? []).length >= devs.length;
        await this.exchange(devs.map((d) => `${d}\n`).join(""), done, timeoutMs);
        const marks = [...this.out.matchAll(ETHTOOL_MARKER)];
        const cut = marks.length >= devs.length ? marks[devs.length - 1].index! + marks[devs.length - 1][0].length : this.out.length;
        const res = this.out.slice(0, cut);
        this.out = this.out.slice(cut);
        return res;
    }
}

const sessions = new Map<Transport, Map<string, Session>>();

function session<S extends Session>(
    t: Transport,
    key: string,
    make: (argv: string[], onEnd: () => void) => S,
    argv: (namespace?: string) => string[],
): S | undefined {
    if (!(t instanceof LocalTransport)) return undefined;
    let byKey = sessions.get(t);
    if (!byKey) sessions.set(t, (byKey = new Map()));
    const have = byKey.get(key);
    if (have?.usable) return have as S;
    const s: S = make(argv(t instanceof NetnsTransport ? t.namespace : undefined), () => {
        if (byKey!.get(key) === s) byKey!.delete(key);
    });
    byKey.set(key, s);
    return s;
}

/**
 * The open ip process of this host for these global options (started if needed), or undefined
 * where the host is not this machine (SSH: one process per batch there).
 */
export function ipSession(t: Transport, globals: readonly string[]): IpSession | undefined {
    return session(
        t,
        globals.join(" "),
        (a, e) => new IpSession(a, e),
        (ns) => ["ip", ...(ns ? ["-n", ns] : []), ...globals, "-force", "-batch", "-"],
    );
}

/** The open ethtool shell of this host (started if needed), or undefined where the host is not this machine. */
export function ethtoolSession(t: Transport): EthtoolSession | undefined {
    const sh = ["sh", "-c", ETHTOOL_LOOP_SCRIPT];
    return session(
        t,
        "ethtool",
        (a, e) => new EthtoolSession(a, e),
        (ns) => (ns ? ["ip", "netns", "exec", ns, ...sh] : sh),
    );
}

/** Ends this host's ip process for these global options, if it has one (its cache went stale). */
export async function endIpSession(t: Transport, globals: readonly string[]): Promise<void> {
    await sessions.get(t)?.get(globals.join(" "))?.end();
}

/** Ends the ip and ethtool processes inside a network namespace (before it is deleted), once they have run what they were sent. */
export async function endIpSessions(namespace: string): Promise<void> {
    const ending: Promise<void>[] = [];
    for (const [t, byKey] of sessions) {
        if (t instanceof NetnsTransport && t.namespace === namespace) for (const s of byKey.values()) ending.push(s.end());
    }
    await Promise.all(ending);
}
