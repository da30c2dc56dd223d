// argv handling. netbed never builds a shell command out of inputs; the one place a command
// must become a single string is SSH's "exec" request, which the remote sshd hands to the
// user's shell. There every word is single-quoted, so the remote shell sees exactly the argv.

/** Quotes one word for a POSIX shell: 'it'\''s' style, which has no special cases. */
export function shQuote(word: string): string {
    if (word.includes("\0")) throw new Error("argv words cannot contain NUL bytes");
    return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Renders argv (and an optional environment) as one POSIX shell command line for SSH exec. */
export function renderForSsh(argv: readonly string[], env?: Readonly<Record<string, string>>, cwd?: string): string {
    if (argv.length === 0) throw new Error("argv must not be empty");
    const words: string[] = [];
    if (cwd !== undefined) words.push("cd", shQuote(cwd), "&&");
    const envEntries = Object.entries(env ?? {});
    if (envEntries.length > 0) {
        words.push("env");
        for (const [k, v] of envEntries) {
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name '${k}'`);
            words.push(shQuote(`${k}=${v}`));
        }
    }
    for (const w of argv) words.push(shQuote(w));
    return words.join(" ");
}

/** A human-readable rendering of argv for error messages and logs (not for execution). */
export function displayArgv(argv: readonly string[]): string {
    return argv.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : shQuote(w))).join(" ");
}
