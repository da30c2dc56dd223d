import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    type Arch,
    AUDIT_ARCH_AARCH64,
    AUDIT_ARCH_I386,
    AUDIT_ARCH_X86_64,
    BPF_MAXINSNS,
    compileFilter,
    type CompiledFilter,
    SECCOMP_RET_ALLOW,
    SECCOMP_RET_ERRNO,
    SECCOMP_RET_KILL_PROCESS,
    SECCOMP_RET_KILL_THREAD,
    SECCOMP_RET_LOG,
    SECCOMP_RET_TRAP,
    type SeccompPolicy,
    type SyscallRule,
    syscallNumber,
    X32_SYSCALL_BIT,
} from "../../../../core/seccomp/compile";
import { BPF_JMP_JA } from "../../../../core/seccomp/emit";
import { compilePreset, PRESET_NAMES, presetPolicy, presetSyscallCounts } from "../../../../core/seccomp/presets";
import { seccompPolicy } from "../../../../core/security";
import { SYSCALLS_AARCH64, SYSCALLS_X86_64 } from "../../../../core/seccomp/syscalls";
import { decode, runFilter, verify } from "../../../helpers/bpf";

const AUDIT: Record<Arch, number> = { x86_64: AUDIT_ARCH_X86_64, aarch64: AUDIT_ARCH_AARCH64 };
const errno = (e: number) => (SECCOMP_RET_ERRNO | e) >>> 0;
const nrOf = (name: string, arch: Arch = "x86_64") => {
    const n = syscallNumber(name, arch);
    if (n === undefined) throw new Error(`no ${name} on ${arch}`);
    return n;
};
/** Runs f on a syscall of its own architecture unless told otherwise. */
const run = (f: CompiledFilter, nr: number, args: (bigint | number)[] = [], arch = AUDIT[f.arch]) => runFilter(f.program, { nr, arch, args });
const call = (f: CompiledFilter, name: string, args: (bigint | number)[] = []) => run(f, nrOf(name, f.arch), args);

describe("seccomp compiler", () => {
    it("allows listed syscalls and answers the rest with the default action", () => {
        const f = compileFilter({ defaultAction: "errno", errno: 13, allow: ["read", "write", "exit_group"] }, "x86_64");
        for (const n of ["read", "write", "exit_group"]) assert.equal(call(f, n), SECCOMP_RET_ALLOW, n);
        assert.equal(call(f, "getpid"), errno(13));
        assert.equal(call(f, "open"), errno(13));
        assert.equal(run(f, 100000), errno(13));
        assert.deepEqual(f.syscalls, [
            { name: "read", nr: 0 },
            { name: "write", nr: 1 },
            { name: "exit_group", nr: 231 },
        ]);
        const expected: [SeccompPolicy["defaultAction"], number][] = [
            ["errno", errno(1)],
            ["kill-process", SECCOMP_RET_KILL_PROCESS],
            ["kill-thread", SECCOMP_RET_KILL_THREAD],
            ["trap", SECCOMP_RET_TRAP],
            ["log", SECCOMP_RET_LOG],
            ["allow", SECCOMP_RET_ALLOW],
        ];
        for (const [action, ret] of expected) {
            assert.equal(call(compileFilter({ defaultAction: action, allow: ["read"] }, "x86_64"), "getpid"), ret, action);
        }
    });
    it("kills syscalls of another architecture, whatever the policy", () => {
        for (const defaultAction of ["allow", "errno"] as const) {
            const f = compileFilter({ defaultAction, allow: ["read", "getpid"] }, "x86_64");
            // i386 int 0x80: getpid is 20 there, read 3; allowed numbers must not leak through either.
            for (const n of [0, 3, 20, 39]) assert.equal(run(f, n, [], AUDIT_ARCH_I386), SECCOMP_RET_KILL_PROCESS);
            assert.equal(run(f, 0, [], AUDIT_ARCH_AARCH64), SECCOMP_RET_KILL_PROCESS);
            // x32: same audit arch, nr with __X32_SYSCALL_BIT.
            assert.equal(run(f, X32_SYSCALL_BIT | 0), SECCOMP_RET_KILL_PROCESS);
            assert.equal(run(f, X32_SYSCALL_BIT | 39), SECCOMP_RET_KILL_PROCESS);
            assert.equal(run(f, 0xffffffff), SECCOMP_RET_KILL_PROCESS);
        }
    });
    it("checks arguments: socket only for AF_UNIX and AF_INET, on all 64 bits", () => {
        const f = compileFilter(
            {
                defaultAction: "errno",
                errno: 97,
                allow: [{ name: "socket", args: [{ index: 0, op: "eq", value: 1 }] }, { name: "socket", args: [{ index: 0, op: "eq", value: 2 }] }, "close"],
            },
            "x86_64",
        );
        assert.equal(call(f, "socket", [1, 1, 0]), SECCOMP_RET_ALLOW);
        assert.equal(call(f, "socket", [2, 2, 0]), SECCOMP_RET_ALLOW);
        for (const domain of [0, 10, 16, 17, (1n << 32n) | 1n, (1n << 63n) | 2n, 0xffffffffn]) {
            assert.equal(call(f, "socket", [domain]), errno(97), `domain ${domain}`);
        }
        assert.equal(call(f, "close", [(1n << 64n) - 1n]), SECCOMP_RET_ALLOW);
        assert.deepEqual(
            f.syscalls.map((s) => s.name),
            ["close", "socket"],
        );
    });
    it("compares 64-bit values unsigned for every operator", () => {
        const M = (1n << 64n) - 1n;
        const v = 0x1_0000_0005n;
        const mask = 0xff00_0000_0000_00ffn;
        const ref: Record<string, (a: bigint) => boolean> = {
            eq: (a) => a === v,
            ne: (a) => a !== v,
            lt: (a) => a < v,
            le: (a) => a <= v,
            gt: (a) => a > v,
            ge: (a) => a >= v,
            "masked-eq": (a) => (a & mask) === 0x1200_0000_0000_0005n,
        };
        const probes = [
            0n,
            4n,
            5n,
            6n,
            0xffff_ffffn,
            1n << 32n,
            v - 1n,
            v,
            v + 1n,
            0x1_ffff_ffffn,
            2n << 32n,
            0x1200_0000_0000_0005n,
            0x12ab_cdef_0000_0005n,
            0x1300_0000_0000_0005n,
            M,
        ];
        for (const op of Object.keys(ref) as SyscallRule["args"][number]["op"][]) {
            const masked = op === "masked-eq";
            const f = compileFilter(
                {
                    defaultAction: "errno",
                    allow: [{ name: "mmap", args: [{ index: 3, op, value: masked ? 0x1200_0000_0000_0005n : v, ...(masked ? { mask } : {}) }] }],
                },
                "x86_64",
            );
            for (const a of probes) {
                assert.equal(call(f, "mmap", [0, 0, 0, a]) === SECCOMP_RET_ALLOW, ref[op](a), `${op} 0x${a.toString(16)}`);
            }
        }
        // A negative number is its 64-bit two's complement; several conditions must all hold.
        const g = compileFilter(
            {
                defaultAction: "errno",
                allow: [
                    {
                        name: "openat",
                        args: [
                            { index: 0, op: "eq", value: -100 },
                            { index: 2, op: "le", value: 0o2 },
                        ],
                    },
                ],
            },
            "x86_64",
        );
        assert.equal(call(g, "openat", [M - 99n, 0, 2]), SECCOMP_RET_ALLOW);
        assert.equal(call(g, "openat", [M - 99n, 0, 3]), errno(1));
        assert.equal(call(g, "openat", [0xffff_ff9cn, 0, 0]), errno(1));
    });
    it("tries deny rules before allow rules", () => {
        const f = compileFilter(
            {
                defaultAction: "kill-process",
                allow: ["socket", "read"],
                deny: [
                    { name: "socket", action: "errno", errno: 97, args: [{ index: 0, op: "eq", value: 17 }] },
                    { name: "ptrace", action: "trap" },
                    { name: "clone3", action: "errno", errno: 38 },
                ],
            },
            "x86_64",
        );
        assert.equal(call(f, "socket", [17]), errno(97));
        assert.equal(call(f, "socket", [2]), SECCOMP_RET_ALLOW);
        assert.equal(call(f, "ptrace"), SECCOMP_RET_TRAP);
        assert.equal(call(f, "clone3"), errno(38));
        assert.equal(call(f, "getpid"), SECCOMP_RET_KILL_PROCESS);
        assert.deepEqual(
            f.syscalls.map((s) => s.name),
            ["read", "socket"],
        );
        assert.throws(
            () => compileFilter({ defaultAction: "errno", allow: ["read"], deny: [{ name: "read", action: "kill-process" }] }, "x86_64"),
            /both allowed and unconditionally denied/,
        );
    });
    it("compiles a 450-rule allow list with every jump in range", () => {
        for (const arch of ["x86_64", "aarch64"] as const) {
            const table = arch === "x86_64" ? SYSCALLS_X86_64 : SYSCALLS_AARCH64;
            const names = Object.keys(table);
            // A quarter of the syscalls only under conditions (two alternatives each), the rest always.
            const conditional = (nr: number) => nr % 4 === 1;
            const allow: (string | SyscallRule)[] = [];
            for (const name of names) {
                const nr = table[name];
                if (!conditional(nr)) allow.push(name);
                else {
                    allow.push({ name, args: [{ index: 0, op: "eq", value: (BigInt(nr) << 32n) | 7n }] });
                    allow.push({ name, args: [{ index: 2, op: "masked-eq", mask: 0xf0, value: 0x30 }] });
                }
            }
            if (arch === "x86_64") assert.ok(allow.length >= 450, `${allow.length} rules`);
            const f = compileFilter({ defaultAction: "errno", errno: 38, allow }, arch);
            verify(f.program);
            assert.ok(f.instructions <= BPF_MAXINSNS);
            assert.ok(
                decode(f.program).some((i) => i.code === BPF_JMP_JA),
                "long jumps go through trampolines",
            );
            assert.equal(f.syscalls.length, names.length);
            const known = new Set(Object.values(table));
            for (let nr = 0; nr <= 500; nr++) {
                if (!known.has(nr)) {
                    assert.equal(run(f, nr, [nr, nr, nr]), errno(38), `${arch} ${nr} is not a syscall`);
                } else if (!conditional(nr)) {
                    assert.equal(run(f, nr, [nr]), SECCOMP_RET_ALLOW, `${arch} ${nr}`);
                } else {
                    assert.equal(run(f, nr, [nr, 0, 0x40]), errno(38), `${arch} ${nr} without its conditions`);
                    assert.equal(run(f, nr, [(BigInt(nr) << 32n) | 7n]), SECCOMP_RET_ALLOW, `${arch} ${nr} args[0]`);
                    assert.equal(run(f, nr, [0, 0, 0x3f]), SECCOMP_RET_ALLOW, `${arch} ${nr} args[2]`);
                }
            }
        }
    });
    it("jumps over a syscall with hundreds of alternatives", () => {
        const ioctls: SyscallRule[] = Array.from({ length: 300 }, (_, i) => ({ name: "ioctl", args: [{ index: 1, op: "eq", value: 0x5400 + i }] }));
        // pread64 (17) shares ioctl's (16) leaf: its JEQ must reach a body placed after ioctl's.
        const allow: SeccompPolicy["allow"] = [...ioctls, "read", "write", { name: "pread64", args: [{ index: 0, op: "eq", value: 5 }] }];
        const f = compileFilter({ defaultAction: "errno", allow }, "x86_64");
        verify(f.program);
        assert.ok(decode(f.program).some((i) => i.code === BPF_JMP_JA));
        for (const i of [0, 1, 150, 299]) assert.equal(call(f, "ioctl", [3, 0x5400 + i]), SECCOMP_RET_ALLOW);
        assert.equal(call(f, "ioctl", [3, 0x5400 + 300]), errno(1));
        assert.equal(call(f, "pread64", [5]), SECCOMP_RET_ALLOW);
        assert.equal(call(f, "pread64", [6]), errno(1));
        assert.equal(call(f, "write"), SECCOMP_RET_ALLOW);
    });
    it("compiles for aarch64 with its own numbers and audit arch", () => {
        const policy: SeccompPolicy = { defaultAction: "errno", allow: ["openat", "read", "fstat", "open"] };
        assert.throws(() => compileFilter(policy, "aarch64"), /'open' does not exist on aarch64 \(only on x86_64\).*missing: "skip"/);
        const f = compileFilter(policy, "aarch64", { missing: "skip" });
        assert.deepEqual(f.skipped, ["open"]);
        assert.deepEqual(f.syscalls, [
            { name: "openat", nr: 56 },
            { name: "read", nr: 63 },
            { name: "fstat", nr: 80 },
        ]);
        assert.equal(run(f, 56), SECCOMP_RET_ALLOW);
        assert.equal(run(f, 2), errno(1), "x86_64's open number is not openat");
        assert.equal(run(f, 56, [], AUDIT_ARCH_X86_64), SECCOMP_RET_KILL_PROCESS);
        // No x32 on arm64: a high nr is just unknown.
        assert.equal(run(f, X32_SYSCALL_BIT | 56), errno(1));
        assert.notEqual(f.sha256, compileFilter(policy, "x86_64").sha256);
    });
    it("is deterministic and de-duplicates", () => {
        const policy: SeccompPolicy = {
            defaultAction: "kill-process",
            allow: [
                "read",
                "write",
                "read",
                { name: "socket", args: [{ index: 0, op: "eq", value: 1 }] },
                { name: "socket", args: [{ index: 0, op: "eq", value: 1n }] },
            ],
        };
        const a = compileFilter(policy, "x86_64");
        const b = compileFilter(policy, "x86_64");
        assert.equal(a.sha256, b.sha256);
        assert.ok(a.program.equals(b.program));
        assert.equal(a.sha256, createHash("sha256").update(a.program).digest("hex"));
        assert.equal(a.instructions * 8, a.program.length);
        const c = compileFilter({ ...policy, allow: ["read", "write", { name: "socket", args: [{ index: 0, op: "eq", value: 1 }] }] }, "x86_64");
        assert.equal(c.sha256, a.sha256);
        assert.deepEqual(
            a.syscalls.map((s) => s.name),
            ["read", "write", "socket"],
        );
    });
    it("suggests a correction for an unknown syscall", () => {
        assert.throws(() => compileFilter({ defaultAction: "errno", allow: ["opne"] }, "x86_64"), /unknown syscall 'opne' on x86_64: did you mean 'open'\?/);
        assert.throws(() => compileFilter({ defaultAction: "errno", allow: ["getppdi"] }, "x86_64"), /did you mean 'getppid'/);
        assert.throws(
            () => compileFilter({ defaultAction: "errno", allow: ["fstatat"] }, "aarch64"),
            /unknown syscall 'fstatat' on aarch64: did you mean 'fstat'/,
        );
        assert.throws(
            () => compileFilter({ defaultAction: "errno", allow: ["frobnicate"] }, "x86_64"),
            /unknown syscall 'frobnicate' on x86_64: no syscall .* is close/,
        );
    });
    it("rejects malformed rules", () => {
        const bad = (allow: SeccompPolicy["allow"], re: RegExp, extra: Partial<SeccompPolicy> = {}) =>
            assert.throws(() => compileFilter({ defaultAction: "errno", allow, ...extra }, "x86_64"), re);
        const arg = (a: object) => [{ name: "read", args: [a] }] as unknown as SeccompPolicy["allow"];
        bad(arg({ index: 6, op: "eq", value: 0 }), /index 6 is not 0\.\.5/);
        bad(arg({ index: 0, op: "like", value: 0 }), /unknown op 'like'/);
        bad(arg({ index: 0, op: "masked-eq", value: 1 }), /needs a mask/);
        bad(arg({ index: 0, op: "masked-eq", value: 0x11, mask: 0x10 }), /bits outside mask/);
        bad(arg({ index: 0, op: "eq", value: 1, mask: 1 }), /only meaningful with op "masked-eq"/);
        bad(arg({ index: 0, op: "eq", value: 1n << 64n }), /does not fit in 64 bits/);
        bad(arg({ index: 0, op: "eq", value: 2 ** 60 }), /not a safe integer/);
        bad(["read"], /errno 5000 is not an integer in 0\.\.4095/, { errno: 5000 });
        bad(["read"], /errno is only meaningful with action "errno"/, { defaultAction: "allow", errno: 1 });
    });
    it("stays within BPF_MAXINSNS or says so", () => {
        const allow: SyscallRule[] = Array.from({ length: 900 }, (_, i) => ({ name: "ioctl", args: [{ index: 1, op: "eq", value: i }] }));
        assert.throws(() => compileFilter({ defaultAction: "errno", allow }, "x86_64"), /the kernel takes at most 4096/);
    });
});

describe("BPF interpreter", () => {
    const ins = (...i: [number, number, number, number][]) => {
        const b = Buffer.alloc(i.length * 8);
        i.forEach(([code, jt, jf, k], n) => {
            b.writeUInt16LE(code, n * 8);
            b.writeUInt8(jt, n * 8 + 2);
            b.writeUInt8(jf, n * 8 + 3);
            b.writeUInt32LE(k, n * 8 + 4);
        });
        return b;
    };
    const data = { nr: 0, arch: AUDIT_ARCH_X86_64 };
    it("refuses what the kernel's checker refuses", () => {
        assert.throws(() => verify(ins([0x15, 5, 0, 0], [0x06, 0, 0, 0])), /leaves the program/);
        assert.throws(() => verify(ins([0x05, 0, 0, 1], [0x06, 0, 0, 0])), /ja \+1 jumps out/);
        assert.throws(() => runFilter(ins([0x06, 0, 0, 0], [0x20, 0, 0, 0]), data), /fall off the end/);
        assert.throws(() => verify(ins([0x20, 0, 0, 64], [0x06, 0, 0, 0])), /outside seccomp_data/);
        assert.throws(() => verify(ins([0x20, 0, 0, 2], [0x06, 0, 0, 0])), /unaligned/);
        assert.throws(() => verify(ins([0x3c, 0, 0, 0], [0x06, 0, 0, 0])), /opcode 0x3c is not supported/);
        assert.throws(() => verify(Buffer.alloc(12)), /multiple of 8/);
    });
    it("runs loads, AND, JSET, TAX/TXA and RET A", () => {
        // A = nr; X = A; A = 0x7fff0000; if (A & 0x10000) return X; return A
        const p = ins([0x20, 0, 0, 0], [0x07, 0, 0, 0], [0x00, 0, 0, 0x7fff0000], [0x45, 0, 1, 0x10000], [0x87, 0, 0, 0], [0x16, 0, 0, 0]);
        assert.equal(runFilter(p, { nr: 42, arch: 0 }), 42);
        const q = ins([0x20, 0, 0, 16], [0x54, 0, 0, 0xf0], [0x15, 0, 1, 0x30], [0x06, 0, 0, 1], [0x06, 0, 0, 2]);
        assert.equal(runFilter(q, { ...data, args: [0x3f] }), 1);
        assert.equal(runFilter(q, { ...data, args: [0x4f] }), 2);
    });
});

describe("seccomp presets", () => {
    it("names the presets; none is no filter", () => {
        assert.deepEqual([...PRESET_NAMES], ["none", "qemu", "strict"]);
        assert.equal(presetPolicy("none"), undefined);
        assert.equal(compilePreset("none", "x86_64"), undefined);
        assert.throws(() => presetPolicy("lax" as never), /unknown seccomp preset 'lax'/);
    });
    it("compiles qemu and strict for both architectures", () => {
        const counts = presetSyscallCounts();
        for (const name of ["qemu", "strict"] as const) {
            for (const arch of ["x86_64", "aarch64"] as const) {
                const f = compilePreset(name, arch)!;
                verify(f.program);
                assert.ok(f.instructions <= BPF_MAXINSNS);
                assert.equal(counts[name][arch], f.syscalls.length);
                for (const n of [
                    "execve",
                    "mmap",
                    "mprotect",
                    "openat",
                    "read",
                    "write",
                    "ioctl",
                    "ppoll",
                    "futex",
                    "exit_group",
                    "rt_sigreturn",
                    "getrandom",
                    "rseq",
                ]) {
                    assert.equal(call(f, n), SECCOMP_RET_ALLOW, `${name}/${arch} ${n}`);
                }
                for (const n of ["ptrace", "mount", "bpf", "init_module", "setuid", "unshare", "process_vm_readv", "kexec_load"]) {
                    assert.equal(call(f, n), SECCOMP_RET_KILL_PROCESS, `${name}/${arch} ${n}`);
                }
                assert.equal(call(f, "clone3"), errno(38));
                assert.equal(call(f, "io_uring_setup"), errno(38));
                // glibc's pthread_create flags vs fork's.
                assert.equal(call(f, "clone", [0x3d0f00]), SECCOMP_RET_ALLOW);
                assert.equal(call(f, "clone", [0x1200011]), SECCOMP_RET_KILL_PROCESS);
            }
        }
        assert.ok(compilePreset("qemu", "aarch64")!.skipped.includes("open"));
        assert.deepEqual(compilePreset("qemu", "x86_64")!.skipped, []);
        assert.ok(counts.strict.x86_64 < counts.qemu.x86_64);
    });
    it("lets qemu do everything strict does", () => {
        for (const arch of ["x86_64", "aarch64"] as const) {
            const q = compilePreset("qemu", arch)!;
            const st = compilePreset("strict", arch)!;
            for (const s of st.syscalls) {
                for (const a0 of [0x10000, 1])
                    if (run(st, s.nr, [a0]) === SECCOMP_RET_ALLOW) assert.equal(run(q, s.nr, [a0]), SECCOMP_RET_ALLOW, `${arch} ${s.name}(${a0})`);
            }
        }
    });
    it("allows unix sockets only: netlink, packet and inet get EAFNOSUPPORT, high bits in the family too; extraAllow socket lifts it", () => {
        const [AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, EAFNOSUPPORT] = [1, 2, 10, 16, 17, 97];
        for (const arch of ["x86_64", "aarch64"] as const) {
            for (const preset of ["qemu", "strict"] as const) {
                const f = compilePreset(preset, arch)!;
                assert.equal(call(f, "socket", [AF_UNIX, 1, 0]), SECCOMP_RET_ALLOW, `${preset} ${arch}`);
                for (const fam of [AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, 0, (1n << 32n) | 1n])
                    assert.equal(call(f, "socket", [fam, 3, 0]), errno(EAFNOSUPPORT), `${preset} ${arch} family ${fam}`);
            }
            const q = compilePreset("qemu", arch)!;
            assert.equal(call(q, "socketpair", [AF_UNIX, 1, 0]), SECCOMP_RET_ALLOW);
            assert.equal(call(q, "socketpair", [AF_NETLINK, 3, 0]), errno(EAFNOSUPPORT));
            const lifted = compileFilter(seccompPolicy({ preset: "qemu", extraAllow: ["socket"] })!, arch, { missing: "skip" });
            assert.equal(call(lifted, "socket", [AF_NETLINK, 3, 0]), SECCOMP_RET_ALLOW);
            assert.equal(call(lifted, "clone3"), errno(38), "the ENOSYS answers stay");
        }
    });
});

// Forks two children that install the filter with prctl: one reports what its syscalls return,
// the other calls a syscall the filter kills on. The parent reads the first one's
// /proc/<pid>/status while the filter is on.
const KERNEL_SCRIPT = `
import ctypes, json, os, sys
prog = open(sys.argv[1], "rb").read()
NR = json.loads(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
buf = ctypes.create_string_buffer(prog, len(prog))
fprog = Fprog(len(prog) // 8, ctypes.cast(buf, ctypes.c_void_p))

def sc(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NR[name]), *[ctypes.c_long(a) for a in args])
    return [r, ctypes.get_errno()]

def install():
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        os._exit(10)
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        os._exit(11)

ready_r, ready_w = os.pipe()
go_r, go_w = os.pipe()
pid = os.fork()
if pid == 0:
    install()
    os.write(ready_w, b"r")
    os.read(go_r, 1)
    res = {
        "getpid": sc("getpid"),
        "getppid": sc("getppid"),
        "socket_unix": sc("socket", 1, 1, 0),
        "socket_inet": sc("socket", 2, 2, 0),
        "socket_unix_high": sc("socket", (1 << 32) | 1, 1, 0),
        "ioctl_listed": sc("ioctl", -1, 0x5407),
        "ioctl_other": sc("ioctl", -1, 0x5400 + 400),
    }
    os.write(ready_w, json.dumps(res).encode())
    os._exit(0)
os.close(ready_w)
os.read(ready_r, 1)
status = {}
with open("/proc/%d/status" % pid) as f:
    for line in f:
        k, _, v = line.partition(":")
        if k.startswith("Seccomp"):
            status[k] = v.strip()
os.write(go_w, b"g")
out = b""
while True:
    chunk = os.read(ready_r, 65536)
    if not chunk:
        break
    out += chunk
_, st = os.waitpid(pid, 0)

pid2 = os.fork()
if pid2 == 0:
    install()
    sc("getuid")
    os._exit(0)
_, st2 = os.waitpid(pid2, 0)
print(json.dumps({"pid": pid, "status": status, "results": json.loads(out), "exit": os.waitstatus_to_exitcode(st),
                  "killedBy": os.WTERMSIG(st2) if os.WIFSIGNALED(st2) else None}))
`;

describe("seccomp in the kernel", () => {
    it("loads the compiled program with prctl and enforces it", function () {
        if (process.arch !== "x64") this.skip();
        if (!/^Seccomp_filters:/m.test(fs.readFileSync("/proc/self/status", "utf8"))) this.skip();
        // An errno no syscall here returns by itself, so seeing it proves the filter answered.
        const DENIED = 133;
        const f = compileFilter(
            {
                defaultAction: "errno",
                errno: DENIED,
                allow: [
                    "read",
                    "write",
                    "close",
                    "exit",
                    "exit_group",
                    "rt_sigreturn",
                    "rt_sigprocmask",
                    "rt_sigaction",
                    "brk",
                    "mmap",
                    "munmap",
                    "mremap",
                    "mprotect",
                    "madvise",
                    "futex",
                    "getpid",
                    { name: "socket", args: [{ index: 0, op: "eq", value: 1 }] },
                    // Enough alternatives that the program needs long-jump trampolines.
                    ...Array.from({ length: 300 }, (_, i): SyscallRule => ({ name: "ioctl", args: [{ index: 1, op: "eq", value: 0x5400 + i }] })),
                ],
                deny: [{ name: "getuid", action: "kill-process" }],
            },
            "x86_64",
        );
        assert.ok(decode(f.program).some((i) => i.code === BPF_JMP_JA));
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-seccomp-"));
        try {
            const file = path.join(dir, "filter.bpf");
            fs.writeFileSync(file, f.program);
            const nrs = Object.fromEntries(["getpid", "getppid", "socket", "ioctl", "getuid"].map((n) => [n, nrOf(n)]));
            const r = spawnSync("python3", ["-c", KERNEL_SCRIPT, file, JSON.stringify(nrs)], { encoding: "utf8", timeout: 60_000 });
            if ((r.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") this.skip();
            assert.equal(r.status, 0, `python3: ${r.stderr}`);
            const out = JSON.parse(r.stdout) as {
                pid: number;
                status: Record<string, string>;
                results: Record<string, [number, number]>;
                exit: number;
                killedBy: number | null;
            };
            assert.equal(out.status.Seccomp, "2", "SECCOMP_MODE_FILTER");
            assert.equal(out.status.Seccomp_filters, "1");
            assert.equal(out.exit, 0);
            const res = out.results;
            assert.equal(res.getpid[0], out.pid);
            assert.deepEqual(res.getppid, [-1, DENIED]);
            assert.ok(res.socket_unix[0] >= 0, `AF_UNIX socket: ${res.socket_unix}`);
            assert.deepEqual(res.socket_inet, [-1, DENIED]);
            // The kernel would truncate the int to AF_UNIX; the filter compares all 64 bits.
            assert.deepEqual(res.socket_unix_high, [-1, DENIED]);
            assert.deepEqual(res.ioctl_listed, [-1, 9], "allowed, and EBADF from the kernel");
            assert.deepEqual(res.ioctl_other, [-1, DENIED]);
            assert.equal(out.killedBy, 31, "SIGSYS from SECCOMP_RET_KILL_PROCESS");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
