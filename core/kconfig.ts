// Kernel configuration: fragments, the minimal microVM fragment netbed ships, and reading a
// final .config. Pure.

/**
 * The minimal microVM fragment, on top of `tinyconfig`: 64-bit, serial console, an initramfs
 * (gzip), devtmpfs, proc/sys/tmpfs, the network stack (IPv4, IPv6, unix, packet), PCI with MSI,
 * virtio over PCI and MMIO with virtio-net and virtio-console (the agent's port) built in (no modules
 * needed), paravirt/KVM guest
 * support, SMP, the syscalls the benchmark tools use, ACPI (clean power-off), high-resolution
 * timers, seccomp, and CUBIC as the default TCP congestion control, like distribution kernels.
 * The kernel image is LZ4-compressed: tinyconfig's XZ took about 1 s of every TCG boot to
 * decompress, before the kernel's first line.
 */
export const MINIMAL_FRAGMENT: readonly string[] = [
    "CONFIG_64BIT=y",
    "CONFIG_KERNEL_LZ4=y",
    "CONFIG_SMP=y",
    "CONFIG_NR_CPUS=64",
    "CONFIG_PRINTK=y",
    "CONFIG_MULTIUSER=y",
    "CONFIG_POSIX_TIMERS=y",
    "CONFIG_FUTEX=y",
    "CONFIG_EPOLL=y",
    "CONFIG_TIMERFD=y",
    "CONFIG_EVENTFD=y",
    "CONFIG_SIGNALFD=y",
    "CONFIG_SHMEM=y",
    "CONFIG_FILE_LOCKING=y",
    "CONFIG_HIGH_RES_TIMERS=y",
    "CONFIG_SECCOMP=y",
    "CONFIG_HYPERVISOR_GUEST=y",
    "CONFIG_PARAVIRT=y",
    "CONFIG_KVM_GUEST=y",
    "CONFIG_ACPI=y",
    "CONFIG_PCI=y",
    "CONFIG_PCI_MSI=y",
    "CONFIG_TTY=y",
    "CONFIG_SERIAL_8250=y",
    "CONFIG_SERIAL_8250_CONSOLE=y",
    "CONFIG_BINFMT_ELF=y",
    "CONFIG_BINFMT_SCRIPT=y",
    "CONFIG_BLK_DEV_INITRD=y",
    "CONFIG_RD_GZIP=y",
    "CONFIG_DEVTMPFS=y",
    "CONFIG_DEVTMPFS_MOUNT=y",
    "CONFIG_PROC_FS=y",
    "CONFIG_PROC_SYSCTL=y",
    "CONFIG_SYSFS=y",
    "CONFIG_TMPFS=y",
    "CONFIG_NET=y",
    "CONFIG_INET=y",
    "CONFIG_IPV6=y",
    "CONFIG_UNIX=y",
    "CONFIG_PACKET=y",
    "CONFIG_TCP_CONG_ADVANCED=y",
    "CONFIG_TCP_CONG_CUBIC=y",
    "CONFIG_DEFAULT_CUBIC=y",
    "CONFIG_NETDEVICES=y",
    "CONFIG_NET_CORE=y",
    "CONFIG_VIRTIO_MENU=y",
    "CONFIG_VIRTIO=y",
    "CONFIG_VIRTIO_PCI=y",
    "CONFIG_VIRTIO_MMIO=y",
    "CONFIG_VIRTIO_NET=y",
    "CONFIG_VIRTIO_CONSOLE=y",
];

/** The programs a kernel build runs beyond make and the compiler, with the Debian package of each. */
export function buildTools(fragment: readonly string[]): { tool: string; pkg: string }[] {
    const tools = [
        { tool: "make", pkg: "make" },
        { tool: "cc", pkg: "build-essential" },
        { tool: "flex", pkg: "flex" },
        { tool: "bison", pkg: "bison" },
        { tool: "bc", pkg: "bc" },
    ];
    const compressors: Record<string, { tool: string; pkg: string }> = {
        CONFIG_KERNEL_LZ4: { tool: "lz4", pkg: "lz4" },
        CONFIG_KERNEL_XZ: { tool: "xz", pkg: "xz-utils" },
        CONFIG_KERNEL_ZSTD: { tool: "zstd", pkg: "zstd" },
    };
    for (const [option, t] of Object.entries(compressors)) if (fragment.includes(`${option}=y`)) tools.push(t);
    return tools;
}

const LINE = /^(CONFIG_[A-Z0-9_]+)=(y|m|n|"[^"\n]*"|-?\d+|0x[0-9a-fA-F]+)$/;
const UNSET = /^# (CONFIG_[A-Z0-9_]+) is not set$/;

/** Why a fragment line is malformed, or undefined. */
export function fragmentLineProblem(line: string): string | undefined {
    if (LINE.test(line) || UNSET.test(line)) return undefined;
    return "is not a kernel config line like CONFIG_FOO=y, CONFIG_BAR=m, CONFIG_N=64, CONFIG_S=\"text\" or '# CONFIG_FOO is not set'";
}

/** Parses .config text (or a fragment) into option -> value ("n" for "is not set"). */
function parseConfig(text: string): Map<string, string> {
    const m = new Map<string, string>();
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        const a = LINE.exec(line);
        if (a) m.set(a[1], a[2]);
        const u = UNSET.exec(line);
        if (u) m.set(u[1], "n");
    }
    return m;
}

/** The options a fragment asked for that the final config does not have (missing dependencies). */
export function unmetOptions(fragment: readonly string[], finalConfig: string): string[] {
    const want = parseConfig(fragment.join("\n"));
    const have = parseConfig(finalConfig);
    const out: string[] = [];
    for (const [k, v] of want) {
        const got = have.get(k) ?? "n";
        if (got !== v) out.push(`${k}=${v} (got ${got === "n" ? "not set" : got})`);
    }
    return out;
}

/** How a kernel provides virtio-net: built in, as modules, or not at all. */
export function virtioMode(finalConfig: string): "builtin" | "modules" | "absent" {
    const c = parseConfig(finalConfig);
    const net = c.get("CONFIG_VIRTIO_NET");
    const pci = c.get("CONFIG_VIRTIO_PCI");
    if (net === "y" && pci === "y") return "builtin";
    if (net === undefined || net === "n") return "absent";
    return "modules";
}

/**
 * The release string of an x86 bzImage, from its boot protocol header: the 16-bit field at 0x20e
 * points (plus 0x200) at "6.1.0-28-amd64 (builder) #1 SMP ...". Undefined when it is not a bzImage.
 */
export function releaseFromBzImage(img: Buffer): string | undefined {
    if (img.length < 0x210 || img.toString("latin1", 0x202, 0x206) !== "HdrS") return undefined;
    const at = img.readUInt16LE(0x20e) + 0x200;
    if (at >= img.length) return undefined;
    const end = img.indexOf(0, at);
    const text = img.toString("latin1", at, end < 0 ? Math.min(img.length, at + 256) : end);
    return text.split(" ")[0] || undefined;
}
