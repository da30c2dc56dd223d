// Runs commands on the machine the provider runs on, optionally inside a network namespace.
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import type { Duplex } from "node:stream";
import { traceSpawn } from "../runtime/trace";
import { childEnv } from "./env";
import { CappedOutput, CommandError, commandTimeoutMs, type RunOptions, type RunResult, type Transport } from "./types";

/** Spawns argv directly (no shell) and collects its output, with a hard timeout. */
function spawnCollect(label: string, argv: readonly string[], opts: RunOptions = {}, shown: readonly string[] = argv): Promise<RunResult> {
    const timeoutMs = commandTimeoutMs(opts);
    return new Promise((resolve, reject) => {
        // A command the provider stops itself (a benchmark server) must also stop when the provider
        // dies: killed outright it cannot, and the server would hold its port and namespace.
        // The kernel sends it SIGTERM when its parent exits.
        const spawned = opts.signal ? ["setpriv", "--pdeathsig", "TERM", "--", ...argv] : argv;
        const child = spawn(spawned[0], spawned.slice(1), {
            env: childEnv(opts.env),
            cwd: opts.cwd,
            stdio: ["pipe", "pipe", "pipe"],
        });
        const traced = traceSpawn(spawned, opts.stdin);
        const kill = () => child.kill("SIGKILL");
        const out = new CappedOutput("stdout", kill);
        const err = new CappedOutput("stderr", kill);
        let timedOut = false;
        let aborted = false;
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, timeoutMs);
        const onAbort = () => {
            aborted = true;
            child.kill("SIGTERM");
        };
        if (opts.signal?.aborted) onAbort();
        else opts.signal?.addEventListener("abort", onAbort, { once: true });
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        child.on("error", (e) => {
            traced();
            clearTimeout(timer);
            reject(new CommandError(label, shown, null, "", "", `could not start: ${e.message}`));
        });
        child.on("close", (code, signal) => {
            traced();
            clearTimeout(timer);
            opts.signal?.removeEventListener("abort", onAbort);
            const res = { code: code ?? -1, stdout: out.text(), stderr: err.text() };
            const overflow = [out, err].find((o) => o.overflowed);
            if (overflow) {
                reject(new CommandError(label, shown, null, "", "", overflow.reason()));
            } else if (aborted && !timedOut) {
                resolve({ ...res, code: -1 });
            } else if (timedOut) {
                reject(new CommandError(label, shown, null, res.stdout, res.stderr, `timed out after ${timeoutMs} ms`));
            } else if (signal) {
                reject(new CommandError(label, shown, null, res.stdout, res.stderr, `was killed by ${signal}`));
            } else if (code !== 0 && opts.check !== false) {
                reject(new CommandError(label, shown, code, res.stdout, res.stderr));
            } else {
                resolve(res);
            }
        });
        child.stdin.on("error", () => undefined); // the command may exit without reading stdin
        child.stdin.end(opts.stdin ?? "");
    });
}

export class LocalTransport implements Transport {
    readonly label: string;
    constructor(label = "local") {
        this.label = label;
    }
    run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
        return spawnCollect(this.label, argv, opts);
    }
    async putFile(file: string, data: string | Buffer, mode = 0o644): Promise<void> {
        await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
        // Write then rename so a reader never sees half a file. The temporary name is predictable:
        // create it exclusively ("wx"), so a link planted there is not followed.
        const tmp = `${file}.tmp-${process.pid}`;
        await fs.rm(tmp, { force: true });
        try {
            await fs.writeFile(tmp, data, { mode, flag: "wx" });
            await fs.rename(tmp, file);
        } catch (e) {
            await fs.rm(tmp, { force: true });
            throw new Error(`on host ${this.label}: could not write ${file}: ${(e as Error).message}`);
        }
    }
    getFile(file: string): Promise<Buffer> {
        return fs.readFile(file);
    }
    // A netns shares this machine's filesystem, so its unix sockets are reached from here too.
    connectUnix(socket: string): Promise<Duplex> {
        return new Promise((resolve, reject) => {
            const c = net.createConnection({ path: socket });
            c.once("connect", () => resolve(c));
            c.once("error", (e) => reject(new Error(`on host ${this.label}: cannot connect to ${socket}: ${e.message}`)));
        });
    }
    async close(): Promise<void> {}
}

/**
 * Runs commands inside a named network namespace with `ip netns exec`. The namespace shares the
 * filesystem with this machine, so files go through the local filesystem.
 */
export class NetnsTransport extends LocalTransport {
    constructor(
        readonly namespace: string,
        name?: string,
    ) {
        super(name ? `'${name}' (netns ${namespace})` : `netns ${namespace}`);
    }
    override run(argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
        // `ip -n NS` enters only the network namespace; `ip netns exec` also builds a mount
        // namespace for every command, which costs more. Errors show the caller's argv.
        const wrapped = argv[0] === "ip" ? ["ip", "-n", this.namespace, ...argv.slice(1)] : ["ip", "netns", "exec", this.namespace, ...argv];
        return spawnCollect(this.label, wrapped, opts, argv);
    }
}
