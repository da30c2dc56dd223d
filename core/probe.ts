// The host capability probe: one fixed POSIX sh script (sent on stdin, so one round trip over
// SSH) that prints key=value lines, and a pure parser that turns them into HostProbe.
// The script is a constant: no input is ever interpolated into it.

export interface ToolInfo {
    /** Absolute path of the binary, or undefined when it is not on PATH. */
    path?: string;
    /** Version number parsed from the tool's own version output. */
    version?: string;
}

export interface KvmInfo {
    /** /dev/kvm exists. */
    device: boolean;
    /** Stock (non-PVM) guest kernels can run under -accel kvm. */
    usable: boolean;
    /** Which KVM flavour was found: intel, amd, pvm or unknown. */
    flavour: "intel" | "amd" | "pvm" | "none" | "unknown";
    /** Why KVM is not usable, when it is not. */
    reason?: string;
}

export interface HostProbe {
    hostname: string;
    /**
     * The running kernel's boot id: hosts that report the same one share a kernel (namespaces,
     * containers, simulated machines), so their CPU time is one machine's.
     */
    bootId: string;
    arch: string;
    kernelRelease: string;
    cpuModel: string;
    cores: number;
    memoryMiB: number;
    os: string;
    debianLike: boolean;
    kvm: KvmInfo;
    vhostNet: boolean;
    tun: boolean;
    macvtap: boolean;
    /** Landlock ABI version, 0 when Landlock is absent or disabled. */
    landlockAbi: number;
    seccompFilter: boolean;
    cgroupV2: boolean;
    /** Network interfaces in the host's network stack when it was probed. */
    interfaces: string[];
    /**
     * The TSC's frequency in kHz where /proc/cpuinfo states it (below); undefined otherwise. A TCG
     * guest reads the host's TSC, so this is the frequency its kernel must be told where it has no
     * timer to calibrate against (`-M microvm`).
     */
    tscKhz?: number;
    tools: Record<ToolName, ToolInfo>;
}

const TOOLS = [
    "qemu-system-x86_64",
    "qemu-system-aarch64",
    "firecracker",
    "cloud-hypervisor",
    "iperf3",
    "sockperf",
    "netperf",
    "netserver",
    "ping",
    "ethtool",
    "ip",
    "bwrap",
    "nft",
] as const;
export type ToolName = (typeof TOOLS)[number];

// Each tool prints its version differently; the script runs the flag listed here.
const VERSION_FLAG: Record<ToolName, string> = {
    "qemu-system-x86_64": "--version",
    "qemu-system-aarch64": "--version",
    firecracker: "--version",
    "cloud-hypervisor": "--version",
    iperf3: "--version",
    sockperf: "--version",
    netperf: "-V",
    netserver: "-V",
    ping: "-V",
    ethtool: "--version",
    ip: "-V",
    bwrap: "--version",
    nft: "--version",
};

const toolLines = TOOLS.map((t) => {
    const v = t.replace(/[^a-z0-9]/g, "_");
    return [
        `p=$(command -v ${t} 2>/dev/null || true)`,
        `if [ -n "$p" ]; then echo "tool_${v}_path=$p"; echo "tool_${v}_version=$(timeout 5 "$p" ${VERSION_FLAG[t]} 2>&1 </dev/null | head -n 1)"; fi`,
    ].join("\n");
}).join("\n");

/** The probe script; run with `sh -s` and fed on stdin. */
export const PROBE_SCRIPT = `
set -u
export LC_ALL=C
echo "hostname=$(cat /proc/sys/kernel/hostname 2>/dev/null)"
echo "boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"
echo "arch=$(uname -m)"
echo "kernel=$(uname -r)"
echo "cpu_model=$(grep -m1 -E '^(model name|Hardware|cpu model)' /proc/cpuinfo 2>/dev/null | cut -d: -f2-)"
echo "cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c ^processor /proc/cpuinfo)"
echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
echo "cpu_mhz=$(grep -m1 '^cpu MHz' /proc/cpuinfo 2>/dev/null | cut -d: -f2)"
for f in constant_tsc aperfmperf; do grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | grep -qw $f && echo "cpuflag_$f=1"; done
[ -d /sys/devices/system/cpu/cpu0/cpufreq ] && echo "cpufreq=1"
if [ -r /etc/os-release ]; then . /etc/os-release; echo "os=\${PRETTY_NAME:-\${ID:-unknown}}"; echo "os_like=\${ID:-} \${ID_LIKE:-}"; fi
[ -r /etc/debian_version ] && echo "debian_version=$(cat /etc/debian_version)"
[ -e /dev/kvm ] && echo "kvm_dev=1"
for m in kvm_intel kvm_amd kvm_pvm macvtap vhost_net tun; do [ -d /sys/module/$m ] && echo "module_$m=1"; done
[ -c /dev/vhost-net ] && echo "vhost_net_dev=1"
[ -c /dev/net/tun ] && echo "tun_dev=1"
if [ -r /proc/config.gz ] && command -v zcat >/dev/null 2>&1; then
  zcat /proc/config.gz 2>/dev/null | grep -E '^CONFIG_(MACVTAP|VHOST_NET|TUN|SECURITY_LANDLOCK|SECCOMP_FILTER)=' | sed 's/^/config_/'
fi
r=$(uname -r); for m in macvtap vhost_net tun; do
  if [ -r /lib/modules/$r/modules.builtin ] && grep -q "/$m.ko" /lib/modules/$r/modules.builtin; then echo "builtin_$m=1"; fi
  if [ -d /lib/modules/$r ] && find /lib/modules/$r -name "$m.ko*" 2>/dev/null | grep -q .; then echo "modfile_$m=1"; fi
done
[ -r /sys/kernel/security/lsm ] && echo "lsm=$(cat /sys/kernel/security/lsm)"
if command -v python3 >/dev/null 2>&1; then
  echo "landlock_abi=$(python3 -c 'import ctypes; print(ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))' 2>/dev/null)"
fi
[ -r /proc/sys/kernel/seccomp/actions_avail ] && echo "seccomp_actions=$(cat /proc/sys/kernel/seccomp/actions_avail)"
grep -q '^Seccomp:' /proc/self/status 2>/dev/null && echo "seccomp_status=1"
[ -r /sys/fs/cgroup/cgroup.controllers ] && echo "cgroup2=1"
echo "interfaces=$(ls /sys/class/net 2>/dev/null | tr '\n' ' ')"
${toolLines}
echo "probe_done=1"
`;

/** Parses the probe's key=value output. Unknown keys are ignored; later keys win. */
export function parseKeyValues(text: string): Map<string, string> {
    const kv = new Map<string, string>();
    for (const line of text.split("\n")) {
        const i = line.indexOf("=");
        if (i <= 0) continue;
        kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
    }
    return kv;
}

/** Extracts a dotted version number from a tool's version line. */
export function parseToolVersion(tool: ToolName, line: string | undefined): string | undefined {
    if (!line) return undefined;
    const patterns: Partial<Record<ToolName, RegExp>> = {
        "qemu-system-x86_64": /QEMU emulator version (\d+\.\d+(?:\.\d+)?)/,
        "qemu-system-aarch64": /QEMU emulator version (\d+\.\d+(?:\.\d+)?)/,
        // "Firecracker v1.7.0" and "cloud-hypervisor v40.0.0".
        firecracker: /Firecracker v(\d+(?:\.\d+)*)/,
        "cloud-hypervisor": /cloud-hypervisor v(\d+(?:\.\d+)*)/,
        iperf3: /iperf (\d+\.\d+(?:\.\d+)?)/,
        sockperf: /version (\d+\.\d+(?:\.\d+)?)/,
        netperf: /version (\d+\.\d+(?:\.\d+)?)/i,
        netserver: /version (\d+\.\d+(?:\.\d+)?)/i,
        ping: /iputils[- ](s?\d+)/,
        ethtool: /version (\d+(?:\.\d+)*)/,
        ip: /iproute2-(?:ss)?(\d+(?:\.\d+)*)/,
        bwrap: /bubblewrap (\d+(?:\.\d+)*)/,
        nft: /nftables v(\d+(?:\.\d+)*)/,
    };
    const m = patterns[tool]?.exec(line);
    return m ? m[1] : line.slice(0, 80);
}

function flag(kv: Map<string, string>, key: string): boolean {
    return kv.get(key) === "1";
}

function configOn(kv: Map<string, string>, option: string): boolean {
    const v = kv.get(`config_CONFIG_${option}`);
    return v === "y" || v === "m";
}

/** Decides whether stock guests can run under KVM. PVM's /dev/kvm cannot boot stock kernels. */
export function kvmInfo(kv: Map<string, string>): KvmInfo {
    const device = flag(kv, "kvm_dev");
    if (!device) return { device, usable: false, flavour: "none", reason: "/dev/kvm does not exist" };
    if (flag(kv, "module_kvm_pvm")) {
        return {
            device,
            usable: false,
            flavour: "pvm",
            reason: "/dev/kvm is PVM (kvm_pvm loaded): only PVM-built guests run; stock kernels stop after SeaBIOS",
        };
    }
    if (flag(kv, "module_kvm_intel")) return { device, usable: true, flavour: "intel" };
    if (flag(kv, "module_kvm_amd")) return { device, usable: true, flavour: "amd" };
    return {
        device,
        usable: false,
        flavour: "unknown",
        reason: "/dev/kvm exists but neither kvm_intel nor kvm_amd is loaded",
    };
}

/** Turns probe output into a HostProbe. Throws when the script did not run to its end. */
export function parseProbe(text: string): HostProbe {
    const kv = parseKeyValues(text);
    if (!flag(kv, "probe_done")) {
        throw new Error(`the capability probe did not finish; it printed:\n${text.slice(0, 2000)}`);
    }
    const tools = {} as Record<ToolName, ToolInfo>;
    for (const t of TOOLS) {
        const v = t.replace(/[^a-z0-9]/g, "_");
        const path = kv.get(`tool_${v}_path`);
        tools[t] = path ? { path, version: parseToolVersion(t, kv.get(`tool_${v}_version`)) } : {};
    }
    const abiRaw = Number(kv.get("landlock_abi"));
    const landlockAbi = Number.isInteger(abiRaw) && abiRaw > 0 ? abiRaw : 0;
    const osLike = kv.get("os_like") ?? "";
    return {
        hostname: kv.get("hostname") ?? "",
        bootId: kv.get("boot_id") ?? "",
        arch: kv.get("arch") ?? "",
        kernelRelease: kv.get("kernel") ?? "",
        cpuModel: (kv.get("cpu_model") ?? "").replace(/\s+/g, " ").trim(),
        cores: Number(kv.get("cores")) || 0,
        memoryMiB: Math.floor((Number(kv.get("mem_kb")) || 0) / 1024),
        os: kv.get("os") ?? "unknown",
        debianLike: kv.has("debian_version") || /\b(debian|ubuntu)\b/.test(osLike),
        kvm: kvmInfo(kv),
        vhostNet: flag(kv, "vhost_net_dev"),
        tun: flag(kv, "tun_dev"),
        macvtap: flag(kv, "module_macvtap") || configOn(kv, "MACVTAP") || flag(kv, "builtin_macvtap") || flag(kv, "modfile_macvtap"),
        landlockAbi,
        seccompFilter: (kv.get("seccomp_actions") ?? "").split(/\s+/).includes("kill_process") || configOn(kv, "SECCOMP_FILTER"),
        cgroupV2: flag(kv, "cgroup2"),
        interfaces: (kv.get("interfaces") ?? "").split(/\s+/).filter(Boolean).sort(),
        tscKhz: tscKhzOf(kv),
        tools,
    };
}

/**
 * The TSC frequency from /proc/cpuinfo's "cpu MHz", only where that line is the kernel's fixed
 * cpu_khz: a constant TSC, and neither a cpufreq driver nor APERF/MPERF (with either, the line is
 * the current clock of a core, not the TSC's).
 */
function tscKhzOf(kv: Map<string, string>): number | undefined {
    const mhz = Number(kv.get("cpu_mhz"));
    if (!flag(kv, "cpuflag_constant_tsc") || flag(kv, "cpuflag_aperfmperf") || flag(kv, "cpufreq") || !(mhz > 0)) return undefined;
    return Math.round(mhz * 1000);
}

/** Parses /proc/interrupts into numbered IRQs and their action names (the last column). */
export function parseInterrupts(text: string): { irq: number; name: string }[] {
    const lines = text.split("\n");
    const cpus = (lines[0] ?? "").trim().split(/\s+/).filter(Boolean).length;
    const out: { irq: number; name: string }[] = [];
    for (const line of lines.slice(1)) {
        const m = /^\s*(\d+):(.*)$/.exec(line);
        if (!m) continue;
        const fields = m[2].trim().split(/\s+/);
        // counts per CPU, then chip, hwirq/trigger, then the action names (may contain spaces)
        const rest = fields.slice(cpus);
        out.push({ irq: Number(m[1]), name: rest.slice(2).join(" ") });
    }
    return out;
}
