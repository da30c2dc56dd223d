// Generates core/seccomp/syscalls.ts, the syscall name -> number tables the seccomp compiler uses.
//
//   npx ts-node --transpile-only scripts/gen-syscalls.ts [--x86-64-header FILE] [--linux-source TARBALL]
//
// Sources (Debian bookworm; defaults):
// - x86_64: /usr/include/x86_64-linux-gnu/asm/unistd_64.h (linux-libc-dev).
// - aarch64: arm64 uses the generic table, include/uapi/asm-generic/unistd.h, configured by the
//   __ARCH_WANT_* macros of arch/arm64/include/uapi/asm/unistd.h. Both come from the kernel source
//   tarball /usr/src/linux-source-6.1.tar.xz (linux-source-6.1), extracted in one tar pass.
// The generic header is evaluated as the preprocessor would for a 64-bit, non-compat build:
// its #if/#ifdef conditionals and the __NR3264_* indirections (__NR_fstat -> __NR3264_fstat) are
// resolved, so aarch64 gets fstat/newfstatat and none of open, fork, stat, ...
// The output is deterministic: rerunning with the same sources rewrites the same bytes.
import { spawnSync } from "node:child_process";
import { sha256Hex } from "../core/hash";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

type Macros = Map<string, string>;

/** Joins continued lines and blanks out comments, keeping line structure. */
function clean(text: string): string[] {
    const noComments = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(/\/\/[^\n]*/g, "");
    return noComments.replace(/\\\n/g, " ").split("\n");
}

/** Evaluates a #if expression: defined(), !, &&, ||, ==, !=, parentheses, integers and macros. */
function evaluate(expr: string, macros: Macros, depth = 0): number {
    if (depth > 16) throw new Error(`'${expr}' does not resolve (recursive macro?)`);
    const tokens = expr.match(/[A-Za-z_]\w*|0x[0-9a-fA-F]+|\d+|&&|\|\||==|!=|[()!]/g) ?? [];
    if (tokens.join("") !== expr.replace(/\s+/g, "")) throw new Error(`cannot evaluate '#if ${expr}'`);
    return new IfExpression(expr, tokens, macros, depth).parse();
}

/** A recursive-descent parser over one #if expression's tokens, loosest first: ||, &&, == and !=, then ! and terms. */
class IfExpression {
    private i = 0;

    constructor(
        private readonly expr: string,
        private readonly tokens: string[],
        private readonly macros: Macros,
        private readonly depth: number,
    ) {}

    parse(): number {
        const v = this.or();
        if (this.i !== this.tokens.length) throw new Error(`'#if ${this.expr}': trailing '${this.tokens.slice(this.i).join(" ")}'`);
        return v;
    }

    private peek(): string | undefined {
        return this.tokens[this.i];
    }

    private take(t?: string): string {
        const v = this.tokens[this.i++];
        if (t !== undefined && v !== t) throw new Error(`'#if ${this.expr}': expected '${t}', got '${v}'`);
        return v;
    }

    // An undefined or empty macro is 0, as in the C preprocessor.
    private value(name: string): number {
        const v = this.macros.get(name)?.trim();
        return v ? evaluate(v, this.macros, this.depth + 1) : 0;
    }

    private primary(): number {
        const t = this.take();
        if (t === "(") {
            const v = this.or();
            this.take(")");
            return v;
        }
        if (t === "!") return this.primary() ? 0 : 1;
        if (t === "defined") return this.defined();
        if (/^(0x[0-9a-fA-F]+|\d+)$/.test(t)) return Number(t);
        if (/^[A-Za-z_]\w*$/.test(t)) return this.value(t);
        throw new Error(`'#if ${this.expr}': unexpected '${t}'`);
    }

    /** `defined NAME` or `defined(NAME)`, its keyword taken. */
    private defined(): number {
        const paren = this.peek() === "(";
        if (paren) this.take("(");
        const name = this.take();
        if (paren) this.take(")");
        return this.macros.has(name) ? 1 : 0;
    }

    private eq(): number {
        let v = this.primary();
        while (this.peek() === "==" || this.peek() === "!=") {
            const op = this.take();
            const r = this.primary();
            v = (op === "==") === (v === r) ? 1 : 0;
        }
        return v;
    }

    private and(): number {
        let v = this.eq();
        while (this.peek() === "&&") {
            this.take();
            const r = this.eq();
            v = v && r ? 1 : 0;
        }
        return v;
    }

    private or(): number {
        let v = this.and();
        while (this.peek() === "||") {
            this.take();
            const r = this.and();
            v = v || r ? 1 : 0;
        }
        return v;
    }
}

/** Runs the conditional and #define/#undef part of the preprocessor; returns the macros defined at the end. */
function preprocess(text: string, predefined: Macros): Macros {
    const macros: Macros = new Map(predefined);
    // One frame per open #if: whether its current branch is live, and whether any branch was taken.
    const stack: { live: boolean; taken: boolean; parentLive: boolean }[] = [];
    const live = () => stack.every((f) => f.live);
    for (const raw of clean(text)) {
        const m = /^\s*#\s*(\w+)\s*(.*?)\s*$/.exec(raw);
        if (!m) continue;
        const [, directive, rest] = m;
        switch (directive) {
            case "if":
            case "ifdef":
            case "ifndef": {
                const parentLive = live();
                const cond = directive === "if" ? evaluate(rest, macros) !== 0 : macros.has(rest) === (directive === "ifdef");
                const on = parentLive && cond;
                stack.push({ live: on, taken: on, parentLive });
                break;
            }
            case "elif": {
                const f = stack[stack.length - 1];
                if (!f) throw new Error("#elif without #if");
                const on = f.parentLive && !f.taken && evaluate(rest, macros) !== 0;
                f.live = on;
                f.taken ||= on;
                break;
            }
            case "else": {
                const f = stack[stack.length - 1];
                if (!f) throw new Error("#else without #if");
                f.live = f.parentLive && !f.taken;
                f.taken = true;
                break;
            }
            case "endif":
                if (!stack.pop()) throw new Error("#endif without #if");
                break;
            case "define": {
                if (!live()) break;
                const d = /^(\w+)(\([^)]*\))?\s*(.*)$/.exec(rest);
                if (!d) throw new Error(`bad #define '${rest}'`);
                // Function-like macros (__SYSCALL(x, y)) are not syscall numbers.
                if (!d[2]) macros.set(d[1], d[3]);
                break;
            }
            case "undef":
                if (live()) macros.delete(rest);
                break;
            case "include":
            case "error":
            case "warning":
            case "pragma":
                break;
            default:
                throw new Error(`unsupported directive '#${directive}'`);
        }
    }
    if (stack.length) throw new Error("unterminated #if");
    return macros;
}

/** name -> number for every __NR_name, following macro indirections to an integer. */
function syscallTable(macros: Macros): Record<string, number> {
    const table: Record<string, number> = {};
    // Not syscalls: the table size and the start of arch-private numbers.
    const skip = new Set(["syscalls", "arch_specific_syscall"]);
    for (const [macro, value] of macros) {
        const m = /^__NR_(\w+)$/.exec(macro);
        if (!m || skip.has(m[1])) continue;
        let v = value.trim();
        for (let hops = 0; !/^\d+$/.test(v); hops++) {
            const next = macros.get(v);
            if (next === undefined || hops > 8) throw new Error(`${macro} = '${value}' does not resolve to a number`);
            v = next.trim();
        }
        table[m[1]] = Number(v);
    }
    const byNr = new Map<number, string>();
    for (const [name, nr] of Object.entries(table)) {
        const other = byNr.get(nr);
        if (other) throw new Error(`syscalls '${other}' and '${name}' share number ${nr}`);
        byNr.set(nr, name);
    }
    return table;
}

/** Extracts the generic and arm64 unistd headers and the top Makefile (for the version) in one pass. */
function fromTarball(tarball: string): { generic: string; arm64: string; version: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gen-syscalls-"));
    try {
        const r = spawnSync(
            "tar",
            [
                "-xJf",
                tarball,
                "-C",
                dir,
                "--wildcards",
                "--no-wildcards-match-slash",
                "*/include/uapi/asm-generic/unistd.h",
                "*/arch/arm64/include/uapi/asm/unistd.h",
                "*/Makefile",
            ],
            { encoding: "utf8" },
        );
        if (r.status !== 0) throw new Error(`tar failed on ${tarball}: ${r.stderr || r.error}`);
        const [top] = fs.readdirSync(dir);
        const read = (p: string) => fs.readFileSync(path.join(dir, top, p), "utf8");
        const makefile = read("Makefile");
        const field = (k: string) => new RegExp(`^${k}[ \\t]*=[ \\t]*(\\S*)`, "m").exec(makefile)?.[1] ?? "";
        const version = [field("VERSION"), field("PATCHLEVEL"), field("SUBLEVEL")].filter(Boolean).join(".") + field("EXTRAVERSION");
        return { generic: read("include/uapi/asm-generic/unistd.h"), arm64: read("arch/arm64/include/uapi/asm/unistd.h"), version };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function render(name: string, table: Record<string, number>): string {
    const rows = Object.entries(table)
        .sort((a, b) => a[1] - b[1])
        .map(([n, nr]) => `    ${n}: ${nr},`);
    return `export const ${name}: Readonly<Record<string, number>> = Object.freeze({\n${rows.join("\n")}\n});\n`;
}

function main(argv: string[]): void {
    const opt = (flag: string, dflt: string) => {
        const i = argv.indexOf(flag);
        return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
    };
    const x86Header = opt("--x86-64-header", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h");
    const tarball = opt("--linux-source", "/usr/src/linux-source-6.1.tar.xz");
    const out = path.join(__dirname, "..", "core", "seccomp", "syscalls.ts");

    const x86Text = fs.readFileSync(x86Header, "utf8");
    const x86 = syscallTable(preprocess(x86Text, new Map()));

    const src = fromTarball(tarball);
    // arm64's uapi header is a list of __ARCH_WANT_* switches followed by the generic include.
    const wants: Macros = new Map([...preprocess(src.arm64, new Map())].filter(([k]) => k.startsWith("__ARCH_WANT_")));
    // A 64-bit native build: __BITS_PER_LONG 64 and no __SYSCALL_COMPAT.
    const aarch64 = syscallTable(preprocess(src.generic, new Map([...wants, ["__BITS_PER_LONG", "64"]])));

    const text = [
        "// Generated by scripts/gen-syscalls.ts; do not edit. Regenerate with:",
        "//   npx ts-node --transpile-only scripts/gen-syscalls.ts",
        `// x86_64 (${Object.keys(x86).length} syscalls): ${x86Header}`,
        `//   sha256 ${sha256Hex(x86Text)}`,
        `// aarch64 (${Object.keys(aarch64).length} syscalls): include/uapi/asm-generic/unistd.h of Linux ${src.version}, from ${path.basename(tarball)},`,
        `//   sha256 ${sha256Hex(src.generic)},`,
        `//   evaluated 64-bit, non-compat, with ${[...wants.keys()].sort().join(" ")}`,
        `//   (from arch/arm64/include/uapi/asm/unistd.h).`,
        "",
        render("SYSCALLS_X86_64", x86),
        render("SYSCALLS_AARCH64", aarch64),
    ].join("\n");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, text);
    console.log(`wrote ${out}: x86_64 ${Object.keys(x86).length}, aarch64 ${Object.keys(aarch64).length} syscalls`);
}

main(process.argv.slice(2));
