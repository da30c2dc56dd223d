// Compiles a seccomp policy to a classic-BPF program (SECCOMP_MODE_FILTER). Pure: no libseccomp,
// no native code; the bytes are what prctl(PR_SET_SECCOMP) / seccomp(2) take as sock_fprog.filter.
import { sha256Hex } from "../hash";
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

// Classic BPF opcodes (linux/bpf_common.h), the subset this compiler emits.
const BPF_LD_W_ABS = 0x20;
export const BPF_JMP_JA = 0x05;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JGT_K = 0x25;
const BPF_JMP_JGE_K = 0x35;
const BPF_ALU_AND_K = 0x54;
const BPF_RET_K = 0x06;

/** offsetof(struct seccomp_data, ...): nr, arch, then 8-byte args (little-endian on both arches). */
const OFF_NR = 0;
const OFF_ARCH = 4;
const argOffset = (index: number, high: boolean) => 16 + 8 * index + (high ? 4 : 0);

export type SeccompAction = "kill-process" | "kill-thread" | "errno" | "log" | "trap" | "allow";
type ArgOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "masked-eq";

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

interface Cond {
    index: number;
    op: ArgOp;
    value: bigint;
    mask: bigint;
}
interface Rule {
    conds: Cond[];
    ret: number;
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

// A tiny assembler: labels, conditional jumps with both targets, and relaxation. Classic BPF jumps
// only go forward and jt/jf are 8-bit; a conditional jump whose target is further than 255
// instructions goes through a `ja` trampoline (32-bit offset) placed right after it.
type Label = number;
type Item = { kind: "label"; label: Label } | { kind: "stmt"; code: number; k: number } | { kind: "jump"; code: number; k: number; t: Label; f: Label };

class Assembler {
    private items: Item[] = [];
    private labels = 0;

    label(): Label {
        return this.labels++;
    }
    place(label: Label): void {
        this.items.push({ kind: "label", label });
    }
    stmt(code: number, k: number): void {
        this.items.push({ kind: "stmt", code, k: k >>> 0 });
    }
    /** Jumps to t when the test holds, to f otherwise; an omitted target is the next instruction. */
    jump(code: number, k: number, t?: Label, f?: Label): void {
        const next = t === undefined || f === undefined ? this.label() : undefined;
        this.items.push({ kind: "jump", code, k: k >>> 0, t: t ?? next!, f: f ?? next! });
        if (next !== undefined) this.place(next);
    }

    assemble(): Buffer {
        const far = new Set<string>();
        const tramps = (i: number) => (far.has(`${i}t`) ? 1 : 0) + (far.has(`${i}f`) ? 1 : 0);
        let at: number[] = [];
        let addr = new Map<Label, number>();
        // Adding a trampoline only lengthens jumps, so this reaches a fixed point.
        for (let grew = true; grew; ) {
            grew = false;
            at = [];
            addr = new Map();
            let pc = 0;
            this.items.forEach((it, i) => {
                at[i] = pc;
                if (it.kind === "label") addr.set(it.label, pc);
                else pc += 1 + (it.kind === "jump" ? tramps(i) : 0);
            });
            this.items.forEach((it, i) => {
                if (it.kind !== "jump") return;
                for (const side of ["t", "f"] as const) {
                    if (!far.has(`${i}${side}`) && addr.get(it[side])! - at[i] - 1 > 255) {
                        far.add(`${i}${side}`);
                        grew = true;
                    }
                }
            });
        }
        const out: { code: number; jt: number; jf: number; k: number }[] = [];
        this.items.forEach((it, i) => {
            if (it.kind === "stmt") out.push({ code: it.code, jt: 0, jf: 0, k: it.k });
            if (it.kind !== "jump") return;
            const offset = (l: Label, from: number) => {
                const o = addr.get(l)! - from - 1;
                if (o < 0) throw new Error("internal error: backward BPF jump");
                return o;
            };
            const tFar = far.has(`${i}t`);
            const fFar = far.has(`${i}f`);
            out.push({
                code: it.code,
                k: it.k,
                jt: tFar ? 0 : offset(it.t, at[i]),
                jf: fFar ? (tFar ? 1 : 0) : offset(it.f, at[i]),
            });
            // Each trampoline's offset counts from its own address, out.length before the push.
            if (tFar) out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: offset(it.t, out.length) });
            if (fFar) out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: offset(it.f, out.length) });
        });
        const buf = Buffer.alloc(out.length * 8);
        out.forEach((ins, n) => {
            buf.writeUInt16LE(ins.code, n * 8);
            buf.writeUInt8(ins.jt, n * 8 + 2);
            buf.writeUInt8(ins.jf, n * 8 + 3);
            buf.writeUInt32LE(ins.k, n * 8 + 4);
        });
        return buf;
    }
}

/** Emits code that falls through when the condition holds and jumps to fail otherwise. */
function emitCond(asm: Assembler, c: Cond, fail: Label): void {
    const hi = Number(c.value >> 32n);
    const lo = Number(c.value & 0xffffffffn);
    const loadHi = () => asm.stmt(BPF_LD_W_ABS, argOffset(c.index, true));
    const loadLo = () => asm.stmt(BPF_LD_W_ABS, argOffset(c.index, false));
    const pass = asm.label();
    switch (c.op) {
        case "eq":
            loadHi();
            asm.jump(BPF_JMP_JEQ_K, hi, undefined, fail);
            loadLo();
            asm.jump(BPF_JMP_JEQ_K, lo, pass, fail);
            break;
        case "ne":
            loadHi();
            asm.jump(BPF_JMP_JEQ_K, hi, undefined, pass);
            loadLo();
            asm.jump(BPF_JMP_JEQ_K, lo, fail, pass);
            break;
        case "masked-eq":
            loadHi();
            asm.stmt(BPF_ALU_AND_K, Number(c.mask >> 32n));
            asm.jump(BPF_JMP_JEQ_K, hi, undefined, fail);
            loadLo();
            asm.stmt(BPF_ALU_AND_K, Number(c.mask & 0xffffffffn));
            asm.jump(BPF_JMP_JEQ_K, lo, pass, fail);
            break;
        default: {
            // Unsigned 64-bit order: the high words decide unless they are equal.
            // gt/ge hold on (hi > H) or (hi == H and lo >/>= L); lt/le are their negations.
            const positive = c.op === "gt" || c.op === "ge";
            const [yes, no] = positive ? [pass, fail] : [fail, pass];
            const loTest = c.op === "gt" || c.op === "le" ? BPF_JMP_JGT_K : BPF_JMP_JGE_K;
            loadHi();
            asm.jump(BPF_JMP_JGT_K, hi, yes, undefined);
            asm.jump(BPF_JMP_JEQ_K, hi, undefined, no);
            loadLo();
            asm.jump(loTest, lo, yes, no);
        }
    }
    asm.place(pass);
}

interface Entry {
    nr: number;
    name: string;
    rules: Rule[];
}

/** Syscalls per leaf of the dispatch tree: a short linear chain below a binary search on nr. */
const LEAF = 8;

function emitBody(asm: Assembler, e: Entry, dflt: number): void {
    for (const r of e.rules) {
        if (r.conds.length === 0) {
            asm.stmt(BPF_RET_K, r.ret);
            return;
        }
        const next = asm.label();
        for (const c of r.conds) emitCond(asm, c, next);
        asm.stmt(BPF_RET_K, r.ret);
        asm.place(next);
    }
    asm.stmt(BPF_RET_K, dflt);
}

/** A binary search on nr (in A) over entries[lo, hi), each leaf a chain of JEQs. */
function emitTree(asm: Assembler, entries: Entry[], lo: number, hi: number, dflt: number): void {
    if (hi - lo > LEAF) {
        const mid = (lo + hi) >> 1;
        const right = asm.label();
        asm.jump(BPF_JMP_JGE_K, entries[mid].nr, right, undefined);
        emitTree(asm, entries, lo, mid, dflt);
        asm.place(right);
        emitTree(asm, entries, mid, hi, dflt);
        return;
    }
    // Entries that are one unconditional action share a single RET per action in the leaf.
    const shared = new Map<number, Label>();
    const bodies: { label: Label; entry: Entry }[] = [];
    for (const e of entries.slice(lo, hi)) {
        const simple = e.rules.length === 1 && e.rules[0].conds.length === 0;
        let target: Label;
        if (simple) {
            target = shared.get(e.rules[0].ret) ?? asm.label();
            shared.set(e.rules[0].ret, target);
        } else {
            target = asm.label();
            bodies.push({ label: target, entry: e });
        }
        asm.jump(BPF_JMP_JEQ_K, e.nr, target, undefined);
    }
    asm.stmt(BPF_RET_K, dflt);
    for (const [ret, label] of shared) {
        asm.place(label);
        asm.stmt(BPF_RET_K, ret);
    }
    for (const b of bodies) {
        asm.place(b.label);
        emitBody(asm, b.entry, dflt);
    }
}

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
