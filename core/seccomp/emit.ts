// The BPF side of the seccomp compiler: opcodes, a small assembler, and the decision tree that
// dispatches on the syscall number to each syscall's rules. Pure.

// Classic BPF opcodes (linux/bpf_common.h), the subset this compiler emits.
export const BPF_LD_W_ABS = 0x20;
export const BPF_JMP_JA = 0x05;
export const BPF_JMP_JEQ_K = 0x15;
export const BPF_JMP_JGT_K = 0x25;
export const BPF_JMP_JGE_K = 0x35;
export const BPF_ALU_AND_K = 0x54;
export const BPF_RET_K = 0x06;

/** offsetof(struct seccomp_data, ...): nr, arch, then 8-byte args (little-endian on both arches). */
export const OFF_NR = 0;
export const OFF_ARCH = 4;
const argOffset = (index: number, high: boolean) => 16 + 8 * index + (high ? 4 : 0);

export type ArgOp = "eq" | "ne" | "lt" | "le" | "gt" | "ge" | "masked-eq";

export interface Cond {
    index: number;
    op: ArgOp;
    value: bigint;
    mask: bigint;
}
export interface Rule {
    conds: Cond[];
    ret: number;
}

// A tiny assembler: labels, conditional jumps with both targets, and relaxation. Classic BPF jumps
// only go forward and jt/jf are 8-bit; a conditional jump whose target is further than 255
// instructions goes through a `ja` trampoline (32-bit offset) placed right after it.
type Label = number;
type Item = { kind: "label"; label: Label } | { kind: "stmt"; code: number; k: number } | { kind: "jump"; code: number; k: number; t: Label; f: Label };

export class Assembler {
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

export interface Entry {
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
export function emitTree(asm: Assembler, entries: Entry[], lo: number, hi: number, dflt: number): void {
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
