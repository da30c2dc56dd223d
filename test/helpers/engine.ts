// What the engine fault suites share: the processes this test started (the pulumi CLI, the netbed
// plugin), a stack's leftovers on the machine, interrupting an operation, clearing pending
// operations as Pulumi documents, and a destroy that must leave nothing.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { parseProcStat } from "../../core/procstat";
import { sleep } from "../../core/sleep";
import { must, netnsList } from "./index";

export { sleep };

function ppidOf(pid: number): number | undefined {
    try {
        return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))?.ppid;
    } catch {
        return undefined;
    }
}

export function cmdline(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
    } catch {
        return "";
    }
}

export function alive(pid: number): boolean {
    try {
        return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))?.state !== "Z";
    } catch {
        return false;
    }
}

/** This process's descendants, by walking /proc's parent links. */
function descendants(root = process.pid): number[] {
    const pids = fs
        .readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .map(Number);
    const parent = new Map(pids.map((p) => [p, ppidOf(p)]));
    const out: number[] = [];
    const isDesc = (p: number): boolean => {
        for (let q = parent.get(p), n = 0; q !== undefined && n < 64; q = parent.get(q), n++) if (q === root) return true;
        return false;
    };
    for (const p of pids) if (isDesc(p)) out.push(p);
    return out;
}

/** The `pulumi` CLI processes this test started (through the Automation API). */
export function cliPids(): number[] {
    return descendants().filter((p) => fs.existsSync(`/proc/${p}/comm`) && fs.readFileSync(`/proc/${p}/comm`, "utf8").trim() === "pulumi");
}

/** The netbed provider plugins under this test (node running dist/providers/runtime/main.js). */
export function pluginPids(): number[] {
    return descendants().filter((p) => /dist\/providers\/runtime\/main\.js/.test(cmdline(p)));
}

export function rootLinks(): string[] {
    return (JSON.parse(must(["ip", "-json", "link", "show"])) as any[]).map((l) => l.ifname);
}

export function walk(dir: string): string[] {
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
        return [];
    }
    return entries.flatMap((e) => [path.join(dir, e.name), ...(e.isDirectory() ? walk(path.join(dir, e.name)) : [])]);
}

function netnsInode(ns: string): number | undefined {
    try {
        return fs.statSync(`/run/netns/${ns}`).ino;
    } catch {
        return undefined;
    }
}

/** Everything of one stack's left on the machine: must be empty after destroy. */
export class Leftovers {
    private inodes = new Set<number>();
    private plugins = new Set<number>();
    private rootBefore: Set<string>;
    constructor(
        readonly prefix: string,
        private rootNames: string[] = [],
    ) {
        this.rootBefore = new Set(rootLinks());
    }
    /** Remembers the stack's namespaces (by inode, which outlives the name) and plugin processes. */
    note(): void {
        for (const ns of netnsList()) if (ns.startsWith(this.prefix)) this.inodes.add(netnsInode(ns) ?? -1);
        for (const p of pluginPids()) this.plugins.add(p);
    }
    list(): string[] {
        const out: string[] = [];
        for (const ns of netnsList()) if (ns.startsWith(this.prefix)) out.push(`namespace ${ns}`);
        for (const f of walk("/run/netbed")) if (f.includes(this.prefix)) out.push(`file ${f}`);
        // Only names this stack gives in the root namespace: other tests may add links meanwhile.
        for (const l of rootLinks()) if (!this.rootBefore.has(l) && this.rootNames.includes(l)) out.push(`root link ${l}`);
        for (const d of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
            let ns = "";
            try {
                ns = fs.readlinkSync(`/proc/${d}/ns/net`);
            } catch {
                continue;
            }
            const ino = Number(/\[(\d+)\]/.exec(ns)?.[1]);
            if (this.inodes.has(ino) && alive(Number(d))) out.push(`process ${d} (${cmdline(Number(d)).trim()}) in a destroyed namespace`);
        }
        for (const p of this.plugins) if (alive(p)) out.push(`provider plugin ${p}`);
        return out;
    }
}

/**
 * `pulumi up` of `stack` (project `dir`) in a child process (test/helpers/up-child.ts), with this
 * process's environment: resolves when it succeeds, rejects with its error and output otherwise.
 * Use it for an up whose CLI a test kills (see up-child.ts for why).
 */
export function upInChild(stack: Stack, dir: string, onOutput: (s: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(__dirname, "up-child.ts"), stack.name, dir], {
            cwd: path.join(__dirname, "..", ".."),
            stdio: ["ignore", "pipe", "pipe"],
        });
        let err = "";
        child.stdout.on("data", (d: Buffer) => onOutput(d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("error", reject);
        child.on("close", (code, signal) => (code === 0 ? resolve() : reject(new Error(`up in a child process failed (exit ${code ?? signal}): ${err}`))));
    });
}

/** Starts `op`, and when `when()` holds kills the CLI with `signal`; returns the op's error. */
export async function interrupt(
    op: Promise<unknown>,
    signal: NodeJS.Signals,
    when: () => boolean,
    target: () => number[] = cliPids,
    timeoutMs = 120_000,
): Promise<{ err: string; killed: number[] }> {
    let done = false;
    const settled = op
        .then(
            () => "",
            (e) => String(e),
        )
        .finally(() => (done = true));
    const t0 = Date.now();
    let killed: number[] = [];
    while (!done && Date.now() - t0 < timeoutMs) {
        if (when()) {
            killed = target();
            for (const p of killed) process.kill(p, signal);
            if (killed.length > 0) break;
        }
        await sleep(20);
    }
    return { err: await settled, killed };
}

export const BACKEND_LOCKS = (backend: string) => path.join(backend, ".pulumi", "locks");

/** Clears the pending operations an interrupted update left, as Pulumi documents: export, edit, import. */
export async function clearPending(stack: Stack): Promise<number> {
    const dep = await stack.exportStack();
    const pending = (dep.deployment.pending_operations ?? []) as unknown[];
    if (pending.length > 0) {
        dep.deployment.pending_operations = [];
        await stack.importStack(dep);
    }
    return pending.length;
}

/** Destroys the stack, asserts nothing of it is left, and removes the stack. */
export async function destroyClean(stack: Stack, left: Leftovers, onOutput: (s: string) => void): Promise<void> {
    left.note();
    // What the destroy started from and said, shown only if something is left (it happened once in
    // CI, with two namespaces and their owner records, and did not recur here).
    const before = ((await stack.exportStack()).deployment.resources ?? []).map((r: { urn: string; id?: string }) => `${r.urn} ${r.id ?? ""}`);
    const said: string[] = [];
    await stack.destroy({
        onOutput: (t) => {
            said.push(t);
            onOutput(t);
        },
        color: "never",
    });
    // A plugin killed mid-operation, or the CLI's children, may take a moment to go.
    for (let n = 0; n < 50 && left.list().length > 0; n++) await sleep(100);
    const after = left.list();
    if (after.length > 0) {
        const plugins = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d) && /dist\/providers\/runtime\/main\.js/.test(cmdline(Number(d))));
        console.error(
            [
                `left after destroy: ${after.join(", ")}`,
                `state before destroy:\n  ${before.join("\n  ")}`,
                `owner records: ${after
                    .filter((l) => l.startsWith("file "))
                    .map((l) => {
                        try {
                            return `${l} = ${fs.readFileSync(l.slice(5), "utf8").trim()}`;
                        } catch (e) {
                            return `${l} (${(e as Error).message})`;
                        }
                    })
                    .join("; ")}`,
                `netbed plugins now running: ${plugins.map((p) => `${p} (parent ${ppidOf(Number(p))})`).join(", ") || "none"}`,
                `destroy said:\n${said.join("").slice(-4000)}`,
            ].join("\n"),
        );
    }
    assert.deepEqual(after, [], "left behind after destroy");
    await stack.workspace.removeStack(stack.name);
}

/**
 * The hooks every engine fault suite needs, registered in the calling `describe`: a file state
 * backend of its own, the engine's output kept for error messages, and cleanups run after each test.
 */
export function engineSuite(): { log: string[]; onOutput: (s: string) => void; tail: () => string; cleanup: (() => void)[]; backend: () => string } {
    const saved = { ...process.env };
    let backend = "";
    const log: string[] = [];
    const cleanup: (() => void)[] = [];
    before(() => {
        backend = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-state-"));
        process.env.PULUMI_BACKEND_URL = `file://${backend}`;
        process.env.PULUMI_CONFIG_PASSPHRASE = "test";
    });
    afterEach(() => {
        for (const c of cleanup.splice(0)) c();
    });
    after(() => {
        fs.rmSync(backend, { recursive: true, force: true });
        process.env = saved;
    });
    return { log, onOutput: (s) => log.push(s), tail: () => log.join("").slice(-3000), cleanup, backend: () => backend };
}
