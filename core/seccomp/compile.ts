// Compiles a seccomp policy to a classic-BPF program (SECCOMP_MODE_FILTER). Pure: no libseccomp,
// no native code; the bytes are what prctl(PR_SET_SECCOMP) / seccomp(2) take as sock_fprog.filter.
import { sha256Hex } from "../hash";
import {
    type ArgOp,
    Assembler,
    BPF_JMP_JEQ_K,
    BPF_JMP_JGE_K,
    BPF_LD_W_ABS,
    BPF_RET_K,
    type Cond,
    type Entry,
    emitTree,
    OFF_ARCH,
    OFF_NR,
    type Rule,
} from "./emit";
import { SYSCALLS_AARCH64, SYSCALLS_X86_64 } from "./syscalls";

export type Arch = "x86_64" | "aarch64";
export const ARCHES: readonly Arch[] = ["x86_64", "aarch64"];

/** seccomp_data.arch values (linux/audit.h). */
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
export const AUDIT_ARCH_I386 = 0x40000003;
const AUDIT_ARCH: Record<Arch, number> = { x86_64: AUDIT_ARCH_X86_64, aarch64: AUDIT_ARCH_AARCH64 };
/** x32 syscalls enter the x86_64 table with this bit set in nr (same audit arch): always refused. */
export const X32_SYSCALL_BIT = 0x40000000;
/** The kernel's program length limit. */
export const BPF_MAXINSNS = 4096;

export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
const EPERM = 1;
/** The kernel caps the errno a filter may return at MAX_ERRNO. */
const MAX_ERRNO = 4095;

export type SeccompAction = "kill-process" | "kill-thread" | "errno" | "log" | "trap" | "allow";

/**
 * A condition on one 64-bit syscall argument, compared unsigned. A negative number stands for its
 * 64-bit two's complement (-1 is 0xffffffffffffffff). masked-eq holds when (arg & mask) == value.
 */
interface ArgCondition {
    index: 0 | 1 | 2 | 3 | 4 | 5;
    op: ArgOp;
    value: bigint | number;
    /** Only (and required) for masked-eq. */
    mask?: bigint | number;
}

/** A syscall allowed when all its conditions hold; several rules for one name are alternatives. */
export interface SyscallRule {
    name: string;
    args: readonly ArgCondition[];
}

/** A syscall (optionally: when all conditions hold) answered with an action other than allow. */
export interface DenyRule {
    name: string;
    action: Exclude<SeccompAction, "allow">;
    /** For action "errno"; default EPERM. */
    errno?: number;
    args?: readonly ArgCondition[];
}

/**
 * For each syscall, deny rules are tried first (in order), then allow rules; the first whose
 * conditions all hold decides. Everything else gets defaultAction. Independently of the policy,
 * another architecture's syscalls (i386 int 0x80, x32) kill the process.
 */
export interface SeccompPolicy {
    defaultAction: SeccompAction;
    /** The errno of defaultAction "errno"; default EPERM. */
    errno?: number;
    allow: readonly (string | SyscallRule)[];
    deny?: readonly DenyRule[];
}

export interface CompileOptions {
    /**
     * A name that is a syscall on another architecture but not on this one (open on aarch64):
     * "error" throws, "skip" leaves it out and lists it in `skipped`. Default "error".
     */
    missing?: "skip" | "error";
}

export interface CompiledFilter {
    arch: Arch;
    /** struct sock_filter[] (u16 code, u8 jt, u8 jf, u32 k; little-endian), 8 bytes each. */
    program: Buffer;
    instructions: number;
    /** sha256 of program, hex. */
    sha256: string;
    /** The syscalls the allow list names (unconditionally or not), by number. */
    syscalls: { name: string; nr: number }[];
    /** Names left out because this architecture lacks them (missing: "skip"), sorted. */
    skipped: string[];
}

const TABLES: Record<Arch, Readonly<Record<string, number>>> = { x86_64: SYSCALLS_X86_64, aarch64: SYSCALLS_AARCH64 };

function syscallTable(arch: Arch): Readonly<Record<string, number>> {
    const t = TABLES[arch];
    if (!t) throw new Error(`unknown architecture '${arch}' (known: ${ARCHES.join(", ")})`);
    return t;
}

export function syscallNumber(name: string, arch: Arch): number | undefined {
    const t = syscallTable(arch);
    return Object.hasOwn(t, name) ? t[name] : undefined;
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions ("opne" -> "open" is 1). */
export function editDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

/** "unknown syscall 'x' on arch: did you mean ...?" for a name the table lacks. */
export function unknownSyscallMessage(name: string, arch: Arch): string {
    const limit = name.length <= 4 ? 1 : name.length <= 10 ? 2 : 3;
    const close = Object.keys(syscallTable(arch))
        .map((n) => ({ n, d: editDistance(name, n) }))
        .filter((c) => c.d <= limit)
        .sort((x, y) => x.d - y.d || (x.n < y.n ? -1 : 1))
        .slice(0, 3)
        .map((c) => `'${c.n}'`);
    const hint = close.length ? `did you mean ${close.join(", ")}?` : `no syscall on ${ARCHES.join(" or ")} is close to it`;
    return `unknown syscall '${name}' on ${arch}: ${hint}`;
}

function actionValue(action: SeccompAction, errno: number | undefined, what: string): number {
    if (errno !== undefined && action !== "errno") throw new Error(`${what}: errno is only meaningful with action "errno", not "${action}"`);
    switch (action) {
        case "kill-process":
            return SECCOMP_RET_KILL_PROCESS;
        case "kill-thread":
            return SECCOMP_RET_KILL_THREAD;
        case "trap":
            return SECCOMP_RET_TRAP;
        case "log":
            return SECCOMP_RET_LOG;
        case "allow":
            return SECCOMP_RET_ALLOW;
        case "errno": {
            const e = errno ?? EPERM;
            if (!Number.isInteger(e) || e < 0 || e > MAX_ERRNO) throw new Error(`${what}: errno ${e} is not an integer in 0..${MAX_ERRNO}`);
            return (SECCOMP_RET_ERRNO | e) >>> 0;
        }
        default:
            throw new Error(`${what}: unknown action '${action as string}'`);
    }
}

const U64 = (1n << 64n) - 1n;

function u64(v: bigint | number, what: string): bigint {
    if (typeof v === "number" && !Number.isSafeInteger(v)) throw new Error(`${what}: ${v} is not a safe integer (use a bigint)`);
    const b = BigInt(v);
    if (b < -(1n << 63n) || b > U64) throw new Error(`${what}: ${v} does not fit in 64 bits`);
    return BigInt.asUintN(64, b);
}

const OPS: readonly ArgOp[] = ["eq", "ne", "lt", "le", "gt", "ge", "masked-eq"];

function normalizeConds(args: readonly ArgCondition[], what: string): Cond[] {
    return args.map((a, i) => {
        const w = `${what}: args[${i}]`;
        if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new Error(`${w}: index ${a.index} is not 0..5`);
        if (!OPS.includes(a.op)) throw new Error(`${w}: unknown op '${a.op}' (known: ${OPS.join(", ")})`);
        const value = u64(a.value, w);
        if (a.op !== "masked-eq") {
            if (a.mask !== undefined) throw new Error(`${w}: mask is only meaningful with op "masked-eq"`);
            return { index: a.index, op: a.op, value, mask: U64 };
        }
        if (a.mask === undefined) throw new Error(`${w}: masked-eq needs a mask`);
        const mask = u64(a.mask, w);
        // (arg & mask) can never have bits outside mask: such a rule would never match.
        if ((value & ~mask & U64) !== 0n) throw new Error(`${w}: value 0x${value.toString(16)} has bits outside mask 0x${mask.toString(16)}`);
        return { index: a.index, op: a.op, value, mask };
    });
}

const ruleKey = (r: Rule) => `${r.ret}:${r.conds.map((c) => `${c.index},${c.op},${c.value},${c.mask}`).join(";")}`;

export function compileFilter(policy: SeccompPolicy, arch: Arch, opts: CompileOptions = {}): CompiledFilter {
    syscallTable(arch); // refuses an unknown architecture before anything is compiled
    const dflt = actionValue(policy.defaultAction, policy.errno, "defaultAction");
    const skipped = new Set<string>();
    const sorted = policyEntries(policy, syscallResolver(arch, opts.missing ?? "error", skipped));
    const program = emitProgram(arch, sorted, dflt);
    const instructions = program.length / 8;
    if (instructions > BPF_MAXINSNS) throw new Error(`the filter has ${instructions} instructions; the kernel takes at most ${BPF_MAXINSNS}`);
    return {
        arch,
        program,
        instructions,
        sha256: sha256Hex(program),
        syscalls: sorted.filter((e) => e.allowed).map((e) => ({ name: e.name, nr: e.nr })),
        skipped: [...skipped].sort(),
    };
}

/** A syscall name's number on `arch`; undefined (and the name added to `skipped`) where `missing` lets it be left out. */
function syscallResolver(arch: Arch, missing: NonNullable<CompileOptions["missing"]>, skipped: Set<string>): (name: string) => number | undefined {
    return (name) => {
        if (typeof name !== "string") throw new Error(`syscall names are strings, got ${JSON.stringify(name)}`);
        const nr = syscallNumber(name, arch);
        if (nr !== undefined) return nr;
        const elsewhere = ARCHES.filter((a) => a !== arch && syscallNumber(name, a) !== undefined);
        if (!elsewhere.length) throw new Error(unknownSyscallMessage(name, arch));
        if (missing === "error")
            throw new Error(`syscall '${name}' does not exist on ${arch} (only on ${elsewhere.join(", ")}); compile with missing: "skip" to leave it out`);
        skipped.add(name);
        return undefined;
    };
}

type PolicyEntry = Entry & { keys: Set<string>; allowed: boolean };

/** The policy's rules grouped per syscall number, in number order, each rule once, unreachable ones dropped. */
function policyEntries(policy: SeccompPolicy, resolve: (name: string) => number | undefined): PolicyEntry[] {
    const entries = new Map<number, PolicyEntry>();
    const add = (name: string, rule: Rule, allowed: boolean) => {
        const nr = resolve(name);
        if (nr === undefined) return;
        const e = entries.get(nr) ?? { nr, name, rules: [], keys: new Set<string>(), allowed: false };
        entries.set(nr, e);
        e.allowed ||= allowed;
        const key = ruleKey(rule);
        if (e.keys.has(key)) return;
        e.keys.add(key);
        e.rules.push(rule);
    };
    // Deny rules go in first so that, per syscall, they are tried before any allow rule.
    (policy.deny ?? []).forEach((d, i) => {
        const what = `deny[${i}] (${d.name})`;
        add(d.name, { conds: normalizeConds(d.args ?? [], what), ret: actionValue(d.action, d.errno, what) }, false);
    });
    for (const a of policy.allow) {
        const name = typeof a === "string" ? a : a.name;
        const conds = typeof a === "string" ? [] : normalizeConds(a.args, `allow '${name}'`);
        add(name, { conds, ret: SECCOMP_RET_ALLOW }, true);
    }
    const sorted = [...entries.values()].sort((x, y) => x.nr - y.nr);
    for (const e of sorted) dropUnreachable(e);
    return sorted;
}

function dropUnreachable(e: PolicyEntry): void {
    const firstUnconditional = e.rules.findIndex((r) => r.conds.length === 0);
    if (firstUnconditional < 0) return;
    if (e.rules[firstUnconditional].ret !== SECCOMP_RET_ALLOW && e.allowed) {
        throw new Error(`syscall '${e.name}' is both allowed and unconditionally denied`);
    }
    // Rules after an unconditional one can never be reached.
    e.rules = e.rules.slice(0, firstUnconditional + 1);
}

/** The program: kill on a foreign architecture (and x32 on x86_64), then the entries' decision tree. */
function emitProgram(arch: Arch, sorted: Entry[], dflt: number): Buffer {
    const asm = new Assembler();
    const kill = asm.label();
    const archOk = asm.label();
    asm.stmt(BPF_LD_W_ABS, OFF_ARCH);
    asm.jump(BPF_JMP_JEQ_K, AUDIT_ARCH[arch], archOk, kill);
    asm.place(kill);
    asm.stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS);
    asm.place(archOk);
    asm.stmt(BPF_LD_W_ABS, OFF_NR);
    if (arch === "x86_64") {
        const native = asm.label();
        asm.jump(BPF_JMP_JGE_K, X32_SYSCALL_BIT, undefined, native);
        asm.stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS);
        asm.place(native);
    }
    emitTree(asm, sorted, 0, sorted.length, dflt);
    return asm.assemble();
}
