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
