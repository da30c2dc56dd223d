// Coalesces the `ip` and `ethtool -k` commands that link resources issue at the same time on one
// host into batches, sent to the host's long-lived ip process where it has one (providers/hostops/ipsession.ts).
// The engine creates many links at once (8 operations at a time); as separate processes, their
// few commands each would be most of what provisioning costs.
// While a batch runs, new commands queue and go out together in the next one (a group commit), so
// a lone command waits for nothing and a busy host sends few large batches.
import { type BatchOutcome, ETHTOOL_BATCH_SCRIPT, batchLine, batchable, parseBatch, parseEthtoolBatch, renderBatch, staleIndex } from "../../core/ipbatch";
import { type SessionOutcome, endIpSession, ethtoolSession, ipSession } from "./ipsession";
import { CommandError, DEFAULT_TIMEOUT_MS, type RunResult, type Transport } from "../transport";

interface Job {
    argv: readonly string[];
    line: string;
    check: boolean;
    query: boolean;
    /** Times this query was asked again because a dump was interrupted. */
    retries: number;
    resolve: (r: RunResult) => void;
    reject: (e: Error) => void;
}

interface Queue {
    pending: Job[];
    running: boolean;
}

/** Global options a batch may carry; anything else runs on its own. */
const BATCHABLE_GLOBALS = new Set(["-json", "-details", "-6"]);
const QUERY_VERBS = new Set(["show", "list", "lst", "get"]);
/** A query whose dump keeps being interrupted (or a command ip keeps sending to a stale index) is answered as it is after this many asks. */
const MAX_RETRIES = 3;
/** Keeps one batch's stdin and output small and its failure's blast radius bounded. */
const MAX_BATCH = 256;

const ipQueues = new WeakMap<Transport, Map<string, Queue>>();
const ethtoolQueues = new WeakMap<Transport, { pending: { dev: string; resolve: (r: RunResult) => void; reject: (e: Error) => void }[]; running: boolean }>();

function finish(t: Transport, job: Job, r: BatchOutcome): void {
    if (job.check && r.code !== 0) job.reject(new CommandError(t.label, job.argv, r.code, r.stdout, r.stderr));
    else job.resolve(r);
}

/** Runs the jobs' lines in the host's long-lived ip process, or in an ip process of their own. */
async function sendBatch(t: Transport, globals: string[], jobs: Job[]): Promise<SessionOutcome> {
    const lines = jobs.map((j) => j.line);
    const session = ipSession(t, globals);
    if (session) return session.run(lines, DEFAULT_TIMEOUT_MS);
    try {
        const r = await t.run(["ip", ...globals, "-force", "-batch", "-"], { stdin: renderBatch(lines), check: false });
        return { ...r, killed: false, firstLine: 0 };
    } catch (err) {
        const e = err as CommandError;
        return { code: -1, stdout: e.stdout ?? "", stderr: `${e.stderr ?? ""}\n${e.message}`.trim(), killed: true, firstLine: 0 };
    }
}

async function runIpBatch(t: Transport, globals: string[], q: Queue, jobs: Job[]): Promise<void> {
    // Killed or timed out: whatever ran is unknown, so every command past the last sentinel fails.
    const r = await sendBatch(t, globals, jobs);
    const killed = r.killed;
    let parsed: ReturnType<typeof parseBatch>;
    try {
        parsed = parseBatch(jobs.length, r.stdout, r.stderr, r.code, killed, r.firstLine);
    } catch (err) {
        for (const j of jobs) j.reject(new CommandError(t.label, j.argv, null, r.stdout, r.stderr, `failed in an ip batch: ${(err as Error).message}`));
        return;
    }
    // A netlink dump that raced with a change anywhere on the host (a VMM exiting, a link made)
    // is reported by ip as "Dump was interrupted" on stderr and may miss entries (seen: a bridge
    // read back without its address) while the command still succeeds. Which command it was is
    // not known in a batch: queries are read-only, so every query of the batch is asked again.
    const interrupted = /Dump was interrupted/.test(r.stderr);
    const stale = staleIndex(r.stderr);
    if (stale) await endIpSession(t, globals);
    const again: Job[] = [];
    parsed.done.forEach((res, k) => {
        const j = jobs[k];
        const retry = ((interrupted || stale) && j.query) || (res.code !== 0 && staleIndex(res.stderr));
        if (retry && j.retries < MAX_RETRIES) {
            j.retries++;
            again.push(j);
        } else finish(t, j, res);
    });
    const rest = jobs.slice(parsed.done.length);
    if (killed) {
        for (const j of rest) j.reject(new CommandError(t.label, j.argv, null, "", r.stderr, "was cut short with its ip batch (killed or timed out)"));
        return;
    }
    if (parsed.stoppedAt) {
        // ip stopped at this command (it exits on an argument it cannot parse); the ones after
        // it never ran and go out again with the next batch.
        finish(t, rest[0], { code: r.code, stdout: "", stderr: parsed.stoppedAt.stderr });
        q.pending.unshift(...rest.slice(1));
    }
    q.pending.unshift(...again);
}

function kickIp(t: Transport, key: string, globals: string[], q: Queue): void {
    if (q.running || q.pending.length === 0) return;
    q.running = true;
    // Defer to the next turn of the event loop so commands issued together share the batch.
    setImmediate(() => {
        const jobs = q.pending.splice(0, MAX_BATCH);
        runIpBatch(t, globals, q, jobs)
            .catch((err) => {
                for (const j of jobs) j.reject(err as Error);
            })
            .finally(() => {
                q.running = false;
                kickIp(t, key, globals, q);
            });
    });
}

/**
 * Runs an `ip` command (argv[0] === "ip") through this host's shared batch. JSON queries and
 * changes (add/set/del) are batched; `link show` (see core/ipbatch.ts), anything else, or a word
 * the batch syntax cannot carry, runs as its own process. Same result and errors as `t.run(argv, { check })`.
 */
export function runIp(t: Transport, argv: readonly string[], opts: { check?: boolean } = {}): Promise<RunResult> {
    const check = opts.check !== false;
    let k = 1;
    while (k < argv.length && argv[k].startsWith("-")) k++;
    const globals = argv.slice(1, k);
    const words = argv.slice(k);
    const line = batchLine(words);
    const query = QUERY_VERBS.has(words[1] ?? "");
    if (argv[0] !== "ip" || !line || !globals.every((g) => BATCHABLE_GLOBALS.has(g)) || (query && !globals.includes("-json")) || !batchable(words)) {
        return t.run(argv, { check });
    }
    // Changes print nothing with -json; the sentinel needs it to print one line.
    const g = [...new Set(["-json", ...globals])].sort();
    const key = g.join(" ");
    let byKey = ipQueues.get(t);
    if (!byKey) ipQueues.set(t, (byKey = new Map()));
    let q = byKey.get(key);
    if (!q) byKey.set(key, (q = { pending: [], running: false }));
    const queue = q;
    return new Promise((resolve, reject) => {
        queue.pending.push({ argv, line, check, query, retries: 0, resolve, reject });
        kickIp(t, key, g, queue);
    });
}

/** `ethtool -k DEV` through this host's shared batch (a shell running ethtool per device, open for the operation where the host is this machine); never throws on a non-zero exit. */
export function ethtoolFeatures(t: Transport, dev: string): Promise<RunResult> {
    let q = ethtoolQueues.get(t);
    if (!q) ethtoolQueues.set(t, (q = { pending: [], running: false }));
    const queue = q;
    const kick = () => {
        if (queue.running || queue.pending.length === 0) return;
        queue.running = true;
        setImmediate(async () => {
            const jobs = queue.pending.splice(0, MAX_BATCH);
            try {
                const devs = jobs.map((j) => j.dev);
                const session = devs.every((d) => d !== "" && !/[\n\r]/.test(d)) ? ethtoolSession(t) : undefined;
                const out = session
                    ? await session.run(devs, DEFAULT_TIMEOUT_MS)
                    : (await t.run(["sh", "-c", ETHTOOL_BATCH_SCRIPT, "sh", ...devs], { check: false })).stdout;
                const res = parseEthtoolBatch(jobs.length, out);
                for (const [k, j] of jobs.entries()) {
                    const one = res[k];
                    // Where the shell stopped short, ask that device on its own.
                    if (one) j.resolve(one);
                    else t.run(["ethtool", "-k", j.dev], { check: false }).then(j.resolve, j.reject);
                }
            } catch (err) {
                for (const j of jobs) j.reject(err as Error);
            } finally {
                queue.running = false;
                kick();
            }
        });
    };
    return new Promise((resolve, reject) => {
        queue.pending.push({ dev, resolve, reject });
        kick();
    });
}
