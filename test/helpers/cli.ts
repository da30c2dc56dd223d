// Runs engine operations as a user does, in a process of their own: the bare `pulumi` CLI (the
// program runs under a Node.js language host) or netbed's CLI (the Automation API, the program
// inline). Every run is bounded: one that outlives its timeout is killed and reported as hung.
import { spawn, spawnSync } from "node:child_process";
import * as path from "node:path";
import { ROOT, engineBinDir, withoutSidecars } from "../../scripts/engine";

export type Driver = "pulumi" | "netbed";
export type Op = "preview" | "up" | "refresh" | "destroy" | "outputs";

export interface Result {
    code: number | null;
    signal: NodeJS.Signals | null;
    out: string;
    seconds: number;
    hung: boolean;
}

/** The engine's environment as `. scripts/env.sh` sets it, with a test backend and passphrase. */
export function cliEnv(backend: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
        ...process.env,
        PATH: `${engineBinDir()}:${process.env.PATH}`,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
        PULUMI_BACKEND_URL: withoutSidecars(`file://${backend}`),
        PULUMI_CONFIG_PASSPHRASE: "test",
        ...extra,
    };
}

/** argv and working directory of one operation. */
export function command(driver: Driver, op: Op, stack: string, dir: string): { argv: string[]; cwd: string } {
    if (driver === "netbed") {
        return {
            argv: [process.execPath, "-r", "ts-node/register/transpile-only", path.join(ROOT, "scripts", "netbed.ts"), op, "--stack", stack, "--dir", dir],
            cwd: ROOT,
        };
    }
    const args: Record<Op, string[]> = {
        preview: ["preview"],
        up: ["up", "--yes"],
        refresh: ["refresh", "--yes"],
        destroy: ["destroy", "--yes"],
        // The default program's results document is a secret output (collapsed in `pulumi up`'s display).
        outputs: ["stack", "output", "--json", "--show-secrets"],
    };
    return { argv: ["pulumi", ...args[op], "--non-interactive", "--stack", stack], cwd: dir };
}

/** Starts a command; `done` settles when it exits (or is killed after timeoutMs). */
export function start(argv: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; onOutput?: (s: string) => void }) {
    const t0 = Date.now();
    // A process group of its own, as a terminal's foreground job: SIGINT reaches what Ctrl-C would.
    const child = spawn(argv[0], argv.slice(1), { cwd: opts.cwd, env: opts.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const take = (b: Buffer) => {
        out += b.toString();
        opts.onOutput?.(b.toString());
    };
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    let hung = false;
    const timer = setTimeout(() => {
        hung = true;
        process.kill(-child.pid!, "SIGKILL");
    }, opts.timeoutMs);
    const done = new Promise<Result>((resolve) => {
        child.on("close", (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, out, seconds: (Date.now() - t0) / 1000, hung });
        });
    });
    return { child, done };
}

export function run(argv: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Result> {
    return start(argv, { timeoutMs: 600_000, ...opts }).done;
}

/** A quick `pulumi` command (stack init/rm, config, export) that must succeed. */
export function pulumiSync(args: string[], cwd: string, env: NodeJS.ProcessEnv): string {
    const r = spawnSync("pulumi", [...args, "--non-interactive"], { cwd, env, encoding: "utf8", timeout: 120_000 });
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} in ${cwd} failed (${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
}

/** "Resources:" counts of an engine run's summary, e.g. { create: 3 } or { unchanged: 9 }. */
export function summary(out: string): Record<string, number> {
    const block = out.slice(out.lastIndexOf("Resources:"));
    const counts: Record<string, number> = {};
    for (const m of block.matchAll(/^\s+(?:[-+~]\s)?(\d+) (to create|created|unchanged|to delete|deleted|to update|updated|errored)$/gm))
        counts[m[2]] = Number(m[1]);
    return counts;
}
