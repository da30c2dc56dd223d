// `ip -batch` input and output for many independent `ip` commands in one process. Pure.
//
// One `ip` process per command costs a fork/exec (tens of ms on a busy 2-core machine), which is
// most of what provisioning many links costs; iproute2 runs a batch of lines in one process. Its
// line syntax is not argv: words split on blanks, '"' or '\'' quote a word, '#' starts a comment
// anywhere on the line. A command whose words cannot be written unambiguously is not batched.
//
// Output is attributed by position: every command line is followed by a sentinel line
// (`addr show dev lo`, which prints exactly one JSON line in every namespace), so the stdout
// lines between two sentinels belong to the command before the second one, and the number of
// sentinels says how far ip got. With -force ip goes on after a failed command and prints
// "Command failed -:<line>" on stderr after that command's own messages; an argument ip cannot
// parse at all ends the process (exit 255) without that marker.
//
// ip keeps some state from one batch line to the next: `link show` sets its address family to
// AF_PACKET for the rest of the process, after which every `addr show` prints links without
// their addresses (seen: a bridge read back without its address) and `route show` dumps every
// family. So `link show` is never batched, and the sentinel is an `addr show`.

/** The line that follows every command; its output marks the command's end. */
const SENTINEL = ["addr", "show", "dev", "lo"];

/**
 * Ends a batch written to an ip process that stays open: it fails (no link can have a '/' in its
 * name) without printing on stdout, so its "Command failed" line on stderr says that everything
 * the batch wrote on stderr has arrived (stdout and stderr are separate pipes).
 */
export const END_LINE = "addr show dev nb/end";

/** ip's batch reader stops with "Too many arguments" at 100 words. */
const MAX_WORDS = 90;

/** One batch line for a command's words (without `ip` and global options); undefined when not representable. */
export function batchLine(words: readonly string[]): string | undefined {
    if (words.length === 0 || words.length > MAX_WORDS) return undefined;
    const out: string[] = [];
    for (const w of words) {
        if (/^[^\s"'#\\]+$/.test(w)) out.push(w);
        // Spaces (an interface alias) are fine inside double quotes; nothing else special is.
        else if (/^[^\t\r\n\f\v"#\\]*$/.test(w)) out.push(`"${w}"`);
        else return undefined;
    }
    return out.join(" ");
}

/**
 * Whether a command may share a batch: not a query whose output could be taken for the
 * sentinel's, and not `link show`, which changes how later lines of the batch behave.
 */
export function batchable(words: readonly string[]): boolean {
    if (words.includes("lo")) return false;
    return !(words[0] === "link" && ["show", "list", "lst"].includes(words[1] ?? "show"));
}

/** The batch text for commands already rendered by batchLine. Line 2k+1 is command k, 2k+2 its sentinel. */
export function renderBatch(lines: readonly string[]): string {
    const s = SENTINEL.join(" ");
    return lines.map((l) => `${l}\n${s}\n`).join("");
}

export interface BatchOutcome {
    code: number;
    stdout: string;
    stderr: string;
}

export interface ParsedBatch {
    /** One entry per command that ip finished (in order); commands after them are not here. */
    done: BatchOutcome[];
    /**
     * The command ip stopped at without finishing (an argument it could not parse ends the
     * process), with what ip said; undefined when every command finished or ip was killed.
     */
    stoppedAt?: { index: number; stderr: string };
}

/**
 * Whether ip answered from a stale name-to-index cache. ip remembers the index of every link it
 * has seen for the life of its process; a link deleted (and perhaps made again under its name)
 * since is then addressed by its old index and the kernel answers ENODEV ("No such device"), while
 * a name ip looks up afresh fails as "Cannot find device". A query may even succeed, printing
 * nothing for the link. A fresh process has an empty cache, so the batch's queries and the changes
 * that failed this way are sent again to a new process.
 */
export function staleIndex(stderr: string): boolean {
    return /No such device/.test(stderr);
}

/** How many sentinel lines complete lines of `stdout` hold. */
export function countSentinels(stdout: string): number {
    const lines = stdout.split("\n");
    lines.pop(); // the last piece is not a complete line yet
    return lines.filter(isSentinelLine).length;
}

function isSentinelLine(line: string): boolean {
    try {
        const j = JSON.parse(line);
        return Array.isArray(j) && j.length === 1 && j[0]?.ifname === "lo" && !("dst" in j[0]);
    } catch {
        return false;
    }
}

/**
 * Splits the output of `ip -json -force -batch -` run on renderBatch(lines) into per-command
 * results. `exitCode` is the process's; `killed` says it died by a signal (its buffered stdout may
 * be lost, so nothing past the last sentinel seen is known). `firstLine` is the number of lines the
 * process read before this batch (ip numbers lines from its start).
 */
export function parseBatch(count: number, stdout: string, stderr: string, exitCode: number, killed = false, firstLine = 0): ParsedBatch {
    // stderr: the messages before each "Command failed -:N" belong to the command on line N.
    const failed = new Map<number, string>();
    let pending: string[] = [];
    for (const line of stderr.split("\n")) {
        const m = /^Command failed -:(\d+)$/.exec(line);
        if (m) {
            failed.set(Number(m[1]) - firstLine, pending.join("\n").trim());
            pending = [];
        } else if (line !== "") pending.push(line);
    }
    const tail = pending.join("\n").trim();

    const done: BatchOutcome[] = [];
    let out: string[] = [];
    for (const line of stdout.split("\n")) {
        if (line === "") continue;
        if (done.length < count && isSentinelLine(line)) {
            const k = done.length;
            const err = failed.get(2 * k + 1);
            done.push({ code: err === undefined ? 0 : 1, stdout: out.length ? `${out.join("\n")}\n` : "", stderr: err ?? "" });
            out = [];
        } else out.push(line);
    }
    if (done.length === count || killed) return { done };
    if (exitCode === 0) throw new Error(`ip -batch exited 0 but finished ${done.length} of ${count} commands`);
    const k = done.length;
    // The command ip stopped at: its own failure marker, or the message that ended the process.
    return { done, stoppedAt: { index: k, stderr: failed.get(2 * k + 1) ?? tail } };
}

/** A constant script that runs `ethtool -k` for each device given as an argument (never evaluated as code). */
export const ETHTOOL_BATCH_SCRIPT = 'for d do ethtool -k "$d" 2>&1; echo "### netbed-ethtool $?"; done';

/** The same for device names read one a line from stdin, for a shell that stays open (providers/hostops/ipsession.ts). */
export const ETHTOOL_LOOP_SCRIPT = 'while IFS= read -r d; do ethtool -k "$d" 2>&1; echo "### netbed-ethtool $?"; done';

/** Splits ETHTOOL_BATCH_SCRIPT's (or ETHTOOL_LOOP_SCRIPT's) output into one result per device, in order; undefined where it stopped short. */
export function parseEthtoolBatch(count: number, stdout: string): (BatchOutcome | undefined)[] {
    const res: (BatchOutcome | undefined)[] = [];
    let cur: string[] = [];
    for (const line of stdout.split("\n")) {
        const m = /^### netbed-ethtool (\d+)$/.exec(line);
        if (m) {
            const code = Number(m[1]);
            const text = cur.length ? `${cur.join("\n")}\n` : "";
            res.push(code === 0 ? { code, stdout: text, stderr: "" } : { code, stdout: "", stderr: text });
            cur = [];
        } else cur.push(line);
    }
    while (res.length < count) res.push(undefined);
    return res.slice(0, count);
}
