// Runs commands on an existing machine over SSH (ssh2), with the host key pinned.
import type { Duplex } from "node:stream";
import { Client, type ClientChannel, type SFTPWrapper } from "ssh2";
import { renderForSsh } from "../../core/argv";
import { sshFingerprint } from "../../core/fingerprint";
import { sleep } from "../../core/sleep";
import { CappedOutput, CommandError, commandTimeoutMs, type RunOptions, type RunResult, type Transport } from "./types";

export interface SshConfig {
    host: string;
    port: number;
    user: string;
    privateKey?: string;
    /** true: the agent at $SSH_AUTH_SOCK; a path: that agent's socket. */
    agent?: true | string;
    hostKeyFingerprint: string;
    connectTimeoutMs: number;
    dialRetries: number;
    /** Milliseconds between keepalive probes on an open connection (default 15 000). */
    keepaliveIntervalMs?: number;
}

/**
 * Unanswered keepalives tolerated: ssh2 declares the connection lost at the next probe, so a host
 * that goes silent mid-command fails within (KEEPALIVE_MISSES + 1) intervals, not at the command's
 * timeout (20 minutes for apt-get).
 */
export const KEEPALIVE_MISSES = 4;

/**
 * How a command that may be aborted runs on the host: OpenSSH's sshd refuses the SSH "signal"
 * request in many configurations ("session signalling requires privilege separation", root logins
 * among them), so the command is stopped through its session's stdin instead. It runs in the
 * background with stdin from /dev/null; a watcher waits for the session's stdin to close (the
 * client's abort, or the connection dropping when the provider dies) and then sends it TERM. A
 * constant: the command comes as the positional parameters.
 */
const ABORTABLE = [
    // A background list's stdin is /dev/null unless redirected: the watcher reads the session's from fd 3.
    "exec 3<&0",
    '"$@" </dev/null 3<&- & p=$!',
    '{ cat <&3 >/dev/null; kill -TERM "$p"; } >/dev/null 2>&1 & w=$!',
    "exec 3<&-",
    'wait "$p"; r=$?',
    'kill "$w" 2>/dev/null',
    'exit "$r"',
].join("\n");
const DEFAULT_KEEPALIVE_MS = 15_000;

/** Raised when the host presents a key other than the pinned one. Never retried. */
export class HostKeyMismatchError extends Error {
    constructor(label: string, expected: string, got: string) {
        super(
            `on host ${label}: the SSH host key ${got} does not match the pinned hostKeyFingerprint ${expected}; ` +
                "refusing to connect. If the host was legitimately re-keyed, update hostKeyFingerprint " +
                "(ssh-keyscan -p PORT HOST | ssh-keygen -lf -).",
        );
        this.name = "HostKeyMismatchError";
    }
}

function agentSocket(label: string): string {
    const sock = process.env.SSH_AUTH_SOCK;
    if (!sock)
        throw new Error(
            `on host ${label}: ssh.agent is true but SSH_AUTH_SOCK is not set where netbed runs: start ssh-agent (and ssh-add your key) or give the agent socket's path`,
        );
    return sock;
}

export class SshTransport implements Transport {
    readonly label: string;
    private client?: Promise<Client>;
    /** Why each connection ended, for the error of a command that was running on it. */
    private readonly lost = new WeakMap<Client, string>();

    constructor(
        private readonly cfg: SshConfig,
        private readonly onProgress: (msg: string) => void = () => undefined,
        name?: string,
    ) {
        this.label = `${name ? `'${name}' (` : ""}ssh ${cfg.user}@${cfg.host}:${cfg.port}${name ? ")" : ""}`;
    }

    private dialOnce(): Promise<Client> {
        return new Promise((resolve, reject) => {
            const c = new Client();
            let mismatch: HostKeyMismatchError | undefined;
            const interval = this.cfg.keepaliveIntervalMs ?? DEFAULT_KEEPALIVE_MS;
            c.on("ready", () => resolve(c));
            c.on("error", (e) => {
                reject(mismatch ?? e);
                const why =
                    (e as { level?: string }).level === "client-timeout" && /keepalive/i.test(e.message)
                        ? `no answer to ${KEEPALIVE_MISSES + 1} keepalives ${interval} ms apart`
                        : e.message;
                if (!this.lost.has(c)) this.lost.set(c, `the connection failed: ${why}`); // the first cause, not its echoes
            });
            c.on("close", () => {
                if (!this.lost.has(c)) this.lost.set(c, "the connection closed");
            });
            c.connect({
                host: this.cfg.host,
                port: this.cfg.port,
                username: this.cfg.user,
                privateKey: this.cfg.privateKey,
                agent: this.cfg.agent === true ? agentSocket(this.label) : this.cfg.agent,
                readyTimeout: this.cfg.connectTimeoutMs,
                keepaliveInterval: interval,
                keepaliveCountMax: KEEPALIVE_MISSES,
                hostVerifier: (key: Buffer) => {
                    const got = sshFingerprint(key);
                    if (got === this.cfg.hostKeyFingerprint) return true;
                    mismatch = new HostKeyMismatchError(this.label, this.cfg.hostKeyFingerprint, got);
                    return false;
                },
            });
        });
    }

    /** Connects with bounded retries (1 s, 2 s, 4 s ... apart, at most 10 s); a wrong host key is final. */
    private async dial(): Promise<Client> {
        let lastErr: unknown;
        for (let attempt = 0; attempt <= this.cfg.dialRetries; attempt++) {
            try {
                return await this.dialOnce();
            } catch (e) {
                if (e instanceof HostKeyMismatchError) throw e;
                lastErr = e;
                if (attempt < this.cfg.dialRetries) {
                    const wait = Math.min(1000 * 2 ** attempt, 10_000);
                    this.onProgress(
                        `ssh ${this.cfg.host}:${this.cfg.port}: attempt ${attempt + 1}/${this.cfg.dialRetries + 1} failed (${(e as Error).message}); retrying in ${wait / 1000} s`,
                    );
                    await sleep(wait);
                }
            }
        }
        throw new Error(`on host ${this.label}: could not connect after ${this.cfg.dialRetries + 1} attempts: ${(lastErr as Error)?.message ?? lastErr}`);
    }

    private connection(): Promise<Client> {
        if (!this.client) {
            const p = this.dial();
            this.client = p;
            // Forget only this connection when it ends (the next use dials again). A failed dial
            // attempt's close must not drop the dial in progress: callers arriving during the
            // back-off would start a second dial sequence and leak its connection.
            const forget = () => {
                if (this.client === p) this.client = undefined;
            };
            p.then((c) => c.on("close", forget), forget);
        }
        return this.client;
    }

    async run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
        const client = await this.connection();
        const timeoutMs = commandTimeoutMs(opts);
        const line = this.remoteLine(argv, opts, timeoutMs);
        return new Promise((resolve, reject) => {
            // sshd refuses a channel beyond its MaxSessions (10 by default) while others are open:
            // the command did not start, so retrying as channels close is safe (bounded: about 6 s).
            const start = (attempt: number) =>
                client.exec(line, (err: Error | undefined, ch: ClientChannel) => {
                    if (!err) return void this.follow(client, ch, argv, opts, timeoutMs).then(resolve, reject);
                    if (attempt < 5 && /Channel open failure/.test(err.message)) return void setTimeout(() => start(attempt + 1), 200 * 2 ** attempt);
                    reject(new CommandError(this.label, argv, null, "", "", `could not start: ${err.message}`));
                });
            start(0);
        });
    }

    /** The line the host's shell runs: the command under coreutils timeout, through ABORTABLE if it may be aborted. */
    private remoteLine(argv: readonly string[], opts: RunOptions, timeoutMs: number): string {
        // The remote side enforces the timeout too (coreutils timeout), so a command is never left
        // running on the host when the channel is torn down.
        const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
        const abortable = opts.signal !== undefined;
        if (abortable && opts.stdin !== undefined) throw new Error(`on host ${this.label}: an abortable command takes no stdin (${argv[0]})`);
        const command = abortable ? ["sh", "-c", ABORTABLE, "sh", ...argv] : [...argv];
        return renderForSsh(["timeout", "-k", "5", String(secs), ...command], opts.env, opts.cwd);
    }

    /** Follows a started command's channel to its end: its output and exit, its timeout, its abort. */
    private follow(client: Client, ch: ClientChannel, argv: readonly string[], opts: RunOptions, timeoutMs: number): Promise<RunResult> {
        return new Promise((resolve, reject) => {
            const kill = () => {
                ch.signal("KILL");
                ch.close();
            };
            const out = new CappedOutput("stdout", kill);
            const errb = new CappedOutput("stderr", kill);
            let code: number | null = null;
            let signal: string | undefined;
            let timedOut = false;
            let aborted = false;
            // Closing the session's stdin makes ABORTABLE's watcher stop the command; the channel
            // then closes when it has exited (forced after the grace `timeout -k` gives too).
            const onAbort = () => {
                aborted = true;
                ch.end();
                setTimeout(() => ch.close(), 10_000).unref();
            };
            const timer = setTimeout(() => {
                timedOut = true;
                ch.signal("KILL");
                ch.close();
                reject(new CommandError(this.label, argv, null, out.text(), errb.text(), `timed out after ${timeoutMs} ms`));
            }, timeoutMs);
            ch.on("data", (b: Buffer) => out.push(b));
            ch.stderr.on("data", (b: Buffer) => errb.push(b));
            ch.on("exit", (c: number | null, sig?: string) => {
                code = c;
                signal = sig;
            });
            if (opts.signal?.aborted) onAbort();
            else opts.signal?.addEventListener("abort", onAbort, { once: true });
            ch.on("close", () => {
                clearTimeout(timer);
                opts.signal?.removeEventListener("abort", onAbort);
                if (timedOut) return; // already rejected
                const overflow = [out, errb].find((o) => o.overflowed);
                if (overflow) return reject(new CommandError(this.label, argv, null, "", "", overflow.reason()));
                const ended = { code, signal, aborted, stdout: out.text(), stderr: errb.text() };
                try {
                    resolve(this.outcome(client, argv, opts, ended));
                } catch (e) {
                    reject(e);
                }
            });
            // An abortable command's stdin stays open: its end is the abort.
            if (opts.signal === undefined) ch.end(opts.stdin ?? "");
        });
    }

    /** What a closed channel's command came to: its result, or the error of a failed or lost command. */
    private outcome(
        client: Client,
        argv: readonly string[],
        opts: RunOptions,
        e: { code: number | null; signal?: string; aborted: boolean; stdout: string; stderr: string },
    ): RunResult {
        if (e.aborted) return { code: -1, stdout: e.stdout, stderr: e.stderr };
        if (e.code === null) {
            const why = e.signal ? `was killed by ${e.signal}` : `lost its connection before it exited (${this.lost.get(client) ?? "the channel closed"})`;
            throw new CommandError(this.label, argv, null, e.stdout, e.stderr, why);
        }
        if (e.code !== 0 && opts.check !== false) throw new CommandError(this.label, argv, e.code, e.stdout, e.stderr);
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }

    /** An SFTP session; its failure names the host, the file operation and, if the connection died, why. */
    private async sftp(what: string): Promise<SFTPWrapper> {
        const client = await this.connection();
        return new Promise((resolve, reject) =>
            client.sftp((e, s) =>
                e ? reject(new Error(`on host ${this.label}: could not ${what}: no SFTP session (${this.lost.get(client) ?? e.message})`)) : resolve(s),
            ),
        );
    }

    async putFile(path: string, data: string | Buffer, mode = 0o644): Promise<void> {
        const dir = path.replace(/\/[^/]*$/, "") || "/";
        await this.run(["mkdir", "-p", "--", dir]);
        const sftp = await this.sftp(`write ${path}`);
        const tmp = `${path}.tmp-netbed`;
        try {
            // Created exclusively: a link planted at the temporary name is not followed.
            await new Promise<void>((resolve) => sftp.unlink(tmp, () => resolve()));
            await new Promise<void>((resolve, reject) => sftp.writeFile(tmp, data, { mode, flag: "wx" }, (e) => (e ? reject(e) : resolve())));
            // posix-rename replaces an existing file atomically; plain SFTP rename refuses to.
            await new Promise<void>((resolve, reject) => sftp.ext_openssh_rename(tmp, path, (e) => (e ? reject(e) : resolve())));
        } catch (e) {
            await new Promise<void>((resolve) => sftp.unlink(tmp, () => resolve()));
            throw new Error(`on host ${this.label}: could not write ${path}: ${(e as Error).message}`);
        } finally {
            sftp.end();
        }
    }

    async getFile(path: string): Promise<Buffer> {
        const sftp = await this.sftp(`read ${path}`);
        try {
            return await new Promise<Buffer>((resolve, reject) => sftp.readFile(path, (e, b) => (e ? reject(e) : resolve(b))));
        } catch (e) {
            throw new Error(`on host ${this.label}: could not read ${path}: ${(e as Error).message}`);
        } finally {
            sftp.end();
        }
    }

    /** OpenSSH's streamlocal forwarding (the sshd must allow it: AllowStreamLocalForwarding, on by default). */
    async connectUnix(socket: string): Promise<Duplex> {
        const client = await this.connection();
        return new Promise((resolve, reject) =>
            client.openssh_forwardOutStreamLocal(socket, (err, stream) =>
                err ? reject(new Error(`on host ${this.label}: cannot connect to ${socket}: ${err.message}`)) : resolve(stream),
            ),
        );
    }

    async close(): Promise<void> {
        const c = this.client;
        this.client = undefined;
        if (c) (await c.catch(() => undefined))?.end();
    }
}
