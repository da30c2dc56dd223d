// A classic-BPF interpreter for seccomp programs, for tests: the kernel's static checks
// (bpf_check_classic + seccomp_check_filter) for the instructions seccomp filters use, then execution
// on a struct seccomp_data.

export interface SeccompData {
    nr: number;
    arch: number;
    instructionPointer?: bigint;
    /** Up to six 64-bit arguments; numbers must be non-negative. */
    args?: readonly (bigint | number)[];
}

interface Insn {
    code: number;
    jt: number;
    jf: number;
    k: number;
}

const SECCOMP_DATA_SIZE = 64;
const MAXINSNS = 4096;

/** struct seccomp_data in memory: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian). */
export function seccompDataBytes(d: SeccompData): Buffer {
    const b = Buffer.alloc(SECCOMP_DATA_SIZE);
    b.writeInt32LE(d.nr | 0, 0);
    b.writeUInt32LE(d.arch >>> 0, 4);
    b.writeBigUInt64LE(d.instructionPointer ?? 0n, 8);
    (d.args ?? []).forEach((a, i) => {
        b.writeBigUInt64LE(BigInt(a), 16 + 8 * i);
    });
    return b;
}

export function decode(program: Buffer): Insn[] {
    if (program.length === 0 || program.length % 8 !== 0) throw new Error(`program length ${program.length} is not a positive multiple of 8`);
    const out: Insn[] = [];
    for (let o = 0; o < program.length; o += 8) {
        out.push({ code: program.readUInt16LE(o), jt: program.readUInt8(o + 2), jf: program.readUInt8(o + 3), k: program.readUInt32LE(o + 4) });
    }
    return out;
}

// The opcodes accepted: loads of seccomp_data words and immediates, AND, jumps with K, TAX/TXA, RET.
const LD_W_ABS = 0x20,
    LD_IMM = 0x00,
    LDX_IMM = 0x01,
    ALU_AND_K = 0x54;
const JA = 0x05,
    JEQ_K = 0x15,
    JGT_K = 0x25,
    JGE_K = 0x35,
    JSET_K = 0x45;
const RET_K = 0x06,
    RET_A = 0x16,
    TAX = 0x07,
    TXA = 0x87;
const KNOWN = new Set([LD_W_ABS, LD_IMM, LDX_IMM, ALU_AND_K, JA, JEQ_K, JGT_K, JGE_K, JSET_K, RET_K, RET_A, TAX, TXA]);

/** Throws where the kernel would refuse the program with EINVAL. */
export function verify(program: Buffer): Insn[] {
    const insns = decode(program);
    if (insns.length > MAXINSNS) throw new Error(`${insns.length} instructions exceed BPF_MAXINSNS (${MAXINSNS})`);
    insns.forEach((ins, pc) => {
        if (!KNOWN.has(ins.code)) throw new Error(`pc ${pc}: opcode 0x${ins.code.toString(16)} is not supported`);
        if (ins.code === LD_W_ABS && (ins.k % 4 !== 0 || ins.k >= SECCOMP_DATA_SIZE))
            throw new Error(`pc ${pc}: load offset ${ins.k} is outside seccomp_data or unaligned`);
        if (ins.code === JA && pc + 1 + ins.k >= insns.length) throw new Error(`pc ${pc}: ja +${ins.k} jumps out of the program`);
        if ((ins.code & 0x07) === 0x05 && ins.code !== JA && (pc + 1 + ins.jt >= insns.length || pc + 1 + ins.jf >= insns.length)) {
            throw new Error(`pc ${pc}: jump +${ins.jt}/+${ins.jf} leaves the program`);
        }
    });
    const last = insns[insns.length - 1].code;
    if (last !== RET_K && last !== RET_A) throw new Error("the last instruction is not a return: execution could fall off the end");
    return insns;
}

/** Runs the filter on d and returns the 32-bit action (SECCOMP_RET_*). */
export function runFilter(program: Buffer, d: SeccompData): number {
    const insns = verify(program);
    const data = seccompDataBytes(d);
    let a = 0;
    let x = 0;
    for (let pc = 0; pc < insns.length; pc++) {
        const { code, jt, jf, k } = insns[pc];
        switch (code) {
            case LD_W_ABS:
                a = data.readUInt32LE(k);
                break;
            case LD_IMM:
                a = k;
                break;
            case LDX_IMM:
                x = k;
                break;
            case ALU_AND_K:
                a = (a & k) >>> 0;
                break;
            case TAX:
                x = a;
                break;
            case TXA:
                a = x;
                break;
            case JA:
                pc += k;
                break;
            case JEQ_K:
                pc += a === k ? jt : jf;
                break;
            case JGT_K:
                pc += a > k ? jt : jf;
                break;
            case JGE_K:
                pc += a >= k ? jt : jf;
                break;
            case JSET_K:
                pc += (a & k) !== 0 ? jt : jf;
                break;
            case RET_K:
                return k;
            case RET_A:
                return a;
        }
    }
    throw new Error("execution fell off the end of the program");
}
