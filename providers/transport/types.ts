// The one interface through which the provider touches a host.
import type { Duplex } from "node:stream";
import { displayArgv } from "../../core/argv";

export interface RunOptions {
    /** Bytes fed to the command's standard input. */
    stdin?: string | Buffer;
    /** Extra environment variables for the command. */
    env?: Record<string, string>;
    /** Kill the command after this many milliseconds (default 120 000). */
    timeoutMs?: number;
    /** Working directory for the command (default: the transport's default). */
    cwd?: string;
    /** When false, a non-zero exit is returned instead of thrown (default true). */
    check?: boolean;
    /**
     * Ends the command (SIGTERM) when aborted, for servers that run until told to stop; the run
     * then resolves with what the command printed and code -1 instead of failing.
     */
    signal?: AbortSignal;
}

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

export interface Transport {
    /** A short description of the host for messages, e.g. "netns nb-server". */
    readonly label: string;
    run(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
    putFile(path: string, data: string | Buffer, mode?: number): Promise<void>;
    getFile(path: string): Promise<Buffer>;
    /** A stream to a unix socket on the host (a VMM's control socket), over SSH where remote. */
    connectUnix(path: string): Promise<Duplex>;
    close(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 120_000;

/** The longest delay Node's timers hold: a longer one fires at once (and killed an ICMP cell of 100 000 x 60 s). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A command's timeout as a timer can hold it. */
export function commandTimeoutMs(opts: RunOptions): number {
    return Math.min(opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, MAX_TIMER_MS);
}

/**
 * The most a command may print on one stream before it is killed: 400 MiB. The largest legitimate
 * output, iperf3 --json of a 3600 s bidirectional run of 128 streams (the schema's maximum), is
 * about 0.3 GB (316 bytes per stream, direction and second, measured on loopback); Node cannot make
 * a string of more than 512 MiB anyway.
 */
export const MAX_OUTPUT_BYTES = 400 * 2 ** 20;

/** One output stream of a command, collected up to MAX_OUTPUT_BYTES; onOverflow runs once past it. */
export class CappedOutput {
    private readonly chunks: Buffer[] = [];
    private bytes = 0;
    overflowed = false;
    constructor(
        readonly stream: "stdout" | "stderr",
        private readonly onOverflow: () => void,
        private readonly cap = MAX_OUTPUT_BYTES,
    ) {}
    push(b: Buffer): void {
        if (this.overflowed) return;
        this.bytes += b.length;
        if (this.bytes > this.cap) {
            this.overflowed = true;
            this.onOverflow();
            return;
        }
        this.chunks.push(b);
    }
    text(): string {
        return Buffer.concat(this.chunks).toString();
    }
    /** The CommandError reason of an overflow. */
    reason(): string {
        return `printed more than ${this.cap} bytes on ${this.stream} and was killed: that is more than any command netbed runs prints (a broken or hostile host)`;
    }
}

/** A command that failed: carries the host, the argv, the exit code and what it printed. */
export class CommandError extends Error {
    constructor(
        readonly host: string,
        readonly argv: readonly string[],
        readonly code: number | null,
        readonly stdout: string,
        readonly stderr: string,
        reason?: string,
    ) {
        const what = reason ?? `exited with code ${code}`;
        const err = stderr.trim() ? `\nstderr: ${tail(stderr)}` : "";
        const out = !stderr.trim() && stdout.trim() ? `\nstdout: ${tail(stdout)}` : "";
        super(`on host ${host}: \`${displayArgv(argv)}\` ${what}${err}${out}`);
        this.name = "CommandError";
    }
}

function tail(s: string, max = 4000): string {
    const t = s.trim();
    return t.length > max ? `...${t.slice(-max)}` : t;
}
