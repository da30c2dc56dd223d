// Finds shell invocations in source text: a shell as an argv word, a spawn option `shell`, exec()
// of a command string (child_process, or an SSH channel), eval, `sh -c` in text, and shell script
// constants. Pure: the test feeds it files.

export interface ShellUse {
    file: string;
    line: number;
    kind: string;
    text: string;
}

const TS_PATTERNS: [string, RegExp][] = [
    ["shell as an argv word", /["'`](?:\/usr)?(?:\/bin\/)?(?:busybox\s+)?(?:ba|da|z)?sh["'`]\s*[,\]]/],
    ["spawn option shell", /\bshell\s*:(?!\s*false\b)/],
    [
        "exec of a string (child_process)",
        /import\s*\{[^}]*\bexec(?:Sync)?\b[^}]*\}\s*from\s*["'](?:node:)?child_process["']|child_process["']?\)?\s*\.\s*exec(?:Sync)?\b/,
    ],
    ["exec of a string (SSH channel)", /\b(?:client|conn|ssh)\w*\.exec\s*\(/i],
    ["eval", /\beval\b/],
    ["sh -c in text", /\b(?:ba|da)?sh\s+-c\b/],
    ["shell script constant", /#!\s*\/bin\/(?:busybox\s+)?(?:ba)?sh\b/],
];

const SH_PATTERNS: [string, RegExp][] = [
    ["sh -c", /\b(?:ba|da)?sh\s+-c\b/],
    ["eval", /\beval\b/],
];

/** Every line of `text` that uses a shell; comment lines are skipped. */
export function findShellUses(file: string, text: string): ShellUse[] {
    const sh = file.endsWith(".sh");
    const patterns = sh ? SH_PATTERNS : TS_PATTERNS;
    const out: ShellUse[] = [];
    text.split("\n").forEach((raw, i) => {
        const t = raw.trim();
        if (sh ? t.startsWith("#") : /^(\/\/|\/?\*)/.test(t)) return;
        const hit = patterns.find(([, re]) => re.test(raw));
        if (hit) out.push({ file, line: i + 1, kind: hit[0], text: t.length > 160 ? `${t.slice(0, 160)}...` : t });
    });
    return out;
}

export interface Reviewed {
    file: string;
    /** A substring of every line this review covers. */
    match: string;
    reason: string;
}

/** Splits uses into reviewed ones and the rest; also returns reviews that match no use (stale). */
export function review(uses: ShellUse[], reviewed: Reviewed[]): { unreviewed: ShellUse[]; stale: Reviewed[] } {
    const used = new Set<Reviewed>();
    const unreviewed = uses.filter((u) => {
        const r = reviewed.find((x) => x.file === u.file && u.text.includes(x.match));
        if (r) used.add(r);
        return !r;
    });
    return { unreviewed, stale: reviewed.filter((r) => !used.has(r)) };
}
