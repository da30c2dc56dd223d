import { strict as assert } from "node:assert";
import { compileFilter, syscallNumber } from "../../../../core/seccomp/compile";
import { SYSCALLS_AARCH64, SYSCALLS_X86_64 } from "../../../../core/seccomp/syscalls";

describe("syscall tables", () => {
    it("has the x86_64 numbers of unistd_64.h", () => {
        const t = SYSCALLS_X86_64;
        assert.deepEqual([t.read, t.write, t.open, t.fstat, t.execve, t.exit_group, t.openat, t.newfstatat, t.clone3], [0, 1, 2, 5, 59, 231, 257, 262, 435]);
        assert.equal(Object.keys(t).length, 362);
    });
    it("has the generic aarch64 numbers, resolved for a 64-bit build", () => {
        const t = SYSCALLS_AARCH64;
        // __NR3264_* indirections, __ARCH_WANT_* switches and the time32 names kept on 64-bit.
        assert.deepEqual([t.read, t.openat, t.newfstatat, t.fstat, t.fcntl, t.lseek, t.mmap, t.execve, t.clone3], [63, 56, 79, 80, 25, 62, 222, 221, 435]);
        assert.deepEqual([t.renameat, t.getrlimit, t.sync_file_range, t.memfd_secret, t.futex, t.clock_gettime], [38, 163, 84, 447, 98, 113]);
        for (const absent of [
            "open",
            "fork",
            "stat",
            "lstat",
            "poll",
            "access",
            "arch_prctl",
            "fstat64",
            "mmap2",
            "clock_gettime64",
            "sync_file_range2",
            "arch_specific_syscall",
            "syscalls",
        ]) {
            assert.equal(Object.hasOwn(t, absent), false, absent);
        }
        const nrs = Object.values(t);
        assert.equal(nrs.filter((n) => (n >= 244 && n < 260) || (n >= 403 && n < 424)).length, 0, "arch-private and 32-bit time64 ranges");
        assert.equal(new Set(nrs).size, nrs.length);
    });
    it("looks names up without inherited properties", () => {
        assert.equal(syscallNumber("constructor", "x86_64"), undefined);
        assert.throws(() => compileFilter({ defaultAction: "allow", allow: ["toString"] }, "x86_64"), /unknown syscall 'toString'/);
    });
});
