// Seccomp presets for the VMM process (qemu-system-x86_64 7.2). A preset is applied to the launcher
// right before it execs QEMU, so it must also cover execve and glibc's dynamic loader.
import { type Arch, ARCHES, type CompiledFilter, compileFilter, type DenyRule, type SeccompPolicy, type SyscallRule } from "./compile";

export const PRESET_NAMES = ["none", "qemu", "strict"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const ENOSYS = 38;
const CLONE_THREAD = 0x10000;

/** clone only for threads: (flags & CLONE_THREAD) == CLONE_THREAD. flags is args[0] on both arches. */
const threadsOnly: SyscallRule = {
    name: "clone",
    args: [{ index: 0, op: "masked-eq", mask: CLONE_THREAD, value: CLONE_THREAD }],
};

// Answered with ENOSYS rather than killing, because callers fall back:
// - clone3 passes its flags in memory, where a filter cannot see them; glibc then uses clone,
//   whose flags threadsOnly checks (QEMU's own -sandbox spawn=deny does the same);
// - io_uring submits work (openat, connect, ...) the filter would never see; QEMU 7.2 probes it
//   for its event loop and uses ppoll/epoll without it.
export const ENOSYS_FALLBACKS: readonly DenyRule[] = [
    { name: "clone3", action: "errno", errno: ENOSYS },
    { name: "io_uring_setup", action: "errno", errno: ENOSYS },
];

const AF_UNIX = 1;
const EAFNOSUPPORT = 97;
/**
 * Sockets of the unix family only: QMP and chardev sockets are unix sockets (handed over as fds by
 * the launcher), and a tap or macvtap NIC is an fd, not a socket. Netlink (routes, nftables),
 * packet and inet sockets are refused with EAFNOSUPPORT, which QEMU reports as for a kernel without
 * the family. domain is args[0] on both arches, compared as 64 bits, so high garbage is refused too.
 */
const UNIX_SOCKETS_ONLY: readonly DenyRule[] = ["socket", "socketpair"].map((name) => ({
    name,
    action: "errno",
    errno: EAFNOSUPPORT,
    args: [{ index: 0, op: "ne", value: AF_UNIX }],
}));

// What execve of a dynamically linked binary needs before main(): glibc 2.36's ld.so and libc
// start-up. x86_64-only names (access, arch_prctl) are skipped on aarch64, which uses faccessat.
const LOADER = [
    "execve",
    "brk",
    "arch_prctl",
    "access",
    "faccessat",
    "faccessat2",
    "openat",
    "read",
    "pread64",
    "close",
    "fstat",
    "newfstatat",
    "mmap",
    "mprotect",
    "munmap",
    "set_tid_address",
    "set_robust_list",
    "rseq",
    "prlimit64",
    "getrandom",
    "futex",
    "rt_sigaction",
    "rt_sigprocmask",
    "exit",
    "exit_group",
];

// Started from the allow-list QEMU itself shipped for -sandbox on (qemu-seccomp.c before 2.11, when
// it was a whitelist), minus 32-bit-only names, minus spawning (fork, vfork, non-thread clone),
// plus the calls QEMU 7.2, glib and glibc 2.36 make today (ppoll, eventfd2, memfd_create, statx, ...).
// Deliberately absent: ptrace, process_vm_*, mount and namespaces, bpf, perf_event_open, keyring,
// module and kexec loading, reboot, setuid and friends, chroot, personality, userfaultfd, io_uring.
// Checked on x86_64 like strict below: the same TCG boot, traffic and QMP session under this filter.
const QEMU_ALLOW = [
    ...LOADER,
    // Files and descriptors: images, kernel/initrd, /dev/net/tun, /dev/kvm, /proc and /sys probes.
    "open",
    "creat",
    "stat",
    "lstat",
    "statx",
    "statfs",
    "fstatfs",
    "lseek",
    "write",
    "readv",
    "writev",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "ioctl",
    "fcntl",
    "flock",
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "getdents",
    "getdents64",
    "readlink",
    "readlinkat",
    "unlink",
    "unlinkat",
    "link",
    "linkat",
    "mkdir",
    "mkdirat",
    "chdir",
    "fchdir",
    "getcwd",
    "umask",
    "fchmod",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
    "truncate",
    "ftruncate",
    "fallocate",
    "fsync",
    "fdatasync",
    "sync",
    "syncfs",
    "sync_file_range",
    "readahead",
    "fadvise64",
    "splice",
    "vmsplice",
    "tee",
    "sendfile",
    "copy_file_range",
    "close_range",
    // Memory: guest RAM, TCG code buffers, NUMA policy, -overcommit mem-lock.
    "mremap",
    "madvise",
    "msync",
    "mincore",
    "mlock",
    "mlock2",
    "munlock",
    "mlockall",
    "munlockall",
    "memfd_create",
    "mbind",
    "get_mempolicy",
    "set_mempolicy",
    "membarrier",
    // Sockets: QMP and chardev unix sockets (UNIX_SOCKETS_ONLY refuses every other family).
    "socket",
    "socketpair",
    "bind",
    "listen",
    "accept",
    "accept4",
    "connect",
    "shutdown",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    // Event loop (main loop, iothreads, glib).
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "eventfd",
    "eventfd2",
    "signalfd",
    "signalfd4",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    // Linux AIO (aio=native).
    "io_setup",
    "io_destroy",
    "io_submit",
    "io_cancel",
    "io_getevents",
    "io_pgetevents",
    // Threads, signals and time.
    threadsOnly,
    "gettid",
    "tgkill",
    "tkill",
    "kill",
    "rt_sigreturn",
    "rt_sigpending",
    "rt_sigtimedwait",
    "rt_sigsuspend",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "sigaltstack",
    "restart_syscall",
    "get_robust_list",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_setparam",
    "sched_getscheduler",
    "sched_setscheduler",
    "sched_get_priority_min",
    "sched_get_priority_max",
    "sched_rr_get_interval",
    "sched_getattr",
    "getcpu",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "times",
    "alarm",
    "getitimer",
    "setitimer",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_getoverrun",
    "timer_delete",
    "wait4",
    "waitid",
    // Identity and limits (read-only), process naming (-name debug-threads=on) and further filters.
    "getpid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "getpgrp",
    "getpgid",
    "getsid",
    "setsid",
    "uname",
    "sysinfo",
    "getrusage",
    "getrlimit",
    "setrlimit",
    "prctl",
    "capget",
    "seccomp",
    // SysV IPC, as QEMU's list had it (shared memory backends, semaphores).
    "shmget",
    "shmat",
    "shmdt",
    "shmctl",
    "semget",
    "semop",
    "semtimedop",
    "semctl",
];

// Observed with `strace -f -c` on this machine: qemu-system-x86_64 7.2 booting a guest under TCG
// (q35, -nographic, serial stdio, QMP unix socket, tap by ifname, 2 vCPUs), ping and iperf3 to the
// guest, QMP query-status and quit. Plus what strace -c does not count because it does not return
// (exit, exit_group, rt_sigreturn), clone for threads (clone3 gets ENOSYS), the epoll calls QEMU's
// event loop uses once io_uring_setup fails (epoll_create1 at start, the rest past ~64 fds), and
// the generic names aarch64 uses instead of access/readlink/unlink/poll. Booting under this filter
// was checked the same way. To be derived from strace -f -c for each configuration the testbed runs
// (KVM, vhost-net, macvtap fds add ioctls and files, and maybe syscalls).
// readv: QEMU reads its serial console's stdin with it. The strace run above never typed on the
// console, so strict killed the VMM (SIGSYS, audit syscall=19) when MicroVm sent "poweroff" there;
// found by booting under this list with defaultAction "log" and reading the audit lines
// (type=1326) in the kernel log after boot, ping, iperf3, a QMP session and the console poweroff:
// readv was the only one. getsockopt: QEMU checks the QMP socket it is handed as an fd (SO_TYPE),
// which it binds itself no more (the launcher does); seen the same way (audit syscall=55).
const STRICT_ALLOW = [
    "accept4",
    "access",
    "arch_prctl",
    "bind",
    "brk",
    "clock_nanosleep",
    "close",
    "eventfd2",
    "execve",
    "fchdir",
    "fcntl",
    "futex",
    "get_mempolicy",
    "getdents64",
    "getpeername",
    "getrandom",
    "getsockname",
    "getsockopt",
    "gettid",
    "ioctl",
    "listen",
    "lseek",
    "madvise",
    "memfd_create",
    "mmap",
    "mprotect",
    "munmap",
    "newfstatat",
    "openat",
    "poll",
    "ppoll",
    "prctl",
    "pread64",
    "prlimit64",
    "read",
    "readlink",
    "readv",
    "recvmsg",
    "rseq",
    "rt_sigaction",
    "rt_sigprocmask",
    "sched_getaffinity",
    "seccomp",
    "sendmsg",
    "set_mempolicy",
    "set_robust_list",
    "set_tid_address",
    "signalfd4",
    "socket",
    "statfs",
    "sysinfo",
    "unlink",
    "write",
    "writev",
    "exit",
    "exit_group",
    "rt_sigreturn",
    threadsOnly,
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "faccessat",
    "readlinkat",
    "unlinkat",
];

const POLICIES: Record<Exclude<PresetName, "none">, SeccompPolicy> = {
    qemu: { defaultAction: "kill-process", allow: QEMU_ALLOW, deny: [...ENOSYS_FALLBACKS, ...UNIX_SOCKETS_ONLY] },
    strict: { defaultAction: "kill-process", allow: STRICT_ALLOW, deny: [...ENOSYS_FALLBACKS, ...UNIX_SOCKETS_ONLY] },
};

/** The preset's policy; undefined for "none" (no filter). */
export function presetPolicy(name: PresetName): SeccompPolicy | undefined {
    if (!PRESET_NAMES.includes(name)) throw new Error(`unknown seccomp preset '${name}' (known: ${PRESET_NAMES.join(", ")})`);
    return name === "none" ? undefined : POLICIES[name];
}

/**
 * The preset compiled for arch; undefined for "none". Names the arch lacks (open on aarch64) are
 * skipped and listed in `skipped`.
 */
export function compilePreset(name: PresetName, arch: Arch): CompiledFilter | undefined {
    const policy = presetPolicy(name);
    return policy && compileFilter(policy, arch, { missing: "skip" });
}

/** How many syscalls each preset allows (some conditionally) per architecture; 0 for "none" (no filter). */
export function presetSyscallCounts(): Record<PresetName, Record<Arch, number>> {
    const counts = {} as Record<PresetName, Record<Arch, number>>;
    for (const name of PRESET_NAMES) {
        counts[name] = {} as Record<Arch, number>;
        for (const arch of ARCHES) counts[name][arch] = compilePreset(name, arch)?.syscalls.length ?? 0;
    }
    return counts;
}
