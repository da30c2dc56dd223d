// The VMM driver model: a frozen, validated VM spec rendered to what each VMM is started with
// (argv and config files), plus what each driver can do and how it names its vCPU threads.
// Pure: providers/hostops/vmm.ts adds the I/O (find the binary, start, wait, inspect, stop).
import { cloudHvArgv, cloudHvVcpu } from "./cloudhv";
import { CONSOLE_WORDS } from "./guestinit";
import { firecrackerConfig, firecrackerVcpu } from "./firecracker";
import { qemuArgv } from "./qemu";
import type { VmSpec } from "./vmspec";

export const VMM_DRIVERS = ["qemu", "firecracker", "cloud-hypervisor", "custom"] as const;
export type VmmDriverName = (typeof VMM_DRIVERS)[number];

export interface Launch {
    argv: string[];
    /** Files to write into the run directory before starting (name within it, content). */
    files: { name: string; content: string }[];
    /** The VMM's control socket, where it has one. */
    api?: { kind: "qmp" | "firecracker" | "cloud-hypervisor"; path: string };
    /**
     * The unix sockets the VMM listens on, by name: a launcher may bind them (as root, in a directory
     * the VMM cannot write) and pass their fds back in VmSpec.listenFds.
     */
    listen: { name: string; path: string }[];
    /** The guest agent's unix socket, which the VMM listens on (core/agent.ts), where the VM has the agent. */
    agent?: string;
}

export interface DriverModel {
    name: VmmDriverName;
    /** Binary name looked up on PATH when none is given. */
    defaultBinary?: string;
    /** What the driver supports; the MicroVm schema refuses the rest before anything is created. */
    supports: {
        macvtap: boolean;
        vhostNet: boolean;
        tcg: boolean;
        machineTypes: boolean;
        vcpuPinning: boolean;
        multiQueue: boolean;
        /** A virtio-serial port on a host unix socket, which the guest agent needs. */
        agentPort: boolean;
    };
    /** The console line the guest's init obeys to make this VMM exit. */
    stopLine: "poweroff" | "reboot";
    render(s: Readonly<VmSpec>): Launch;
    /** The vCPU index a VMM thread runs, from the thread's name (undefined: not a vCPU thread). */
    vcpuOf(threadName: string): number | undefined;
}

const qemu: DriverModel = {
    name: "qemu",
    defaultBinary: "qemu-system-x86_64",
    supports: { macvtap: true, vhostNet: true, tcg: true, machineTypes: true, vcpuPinning: true, multiQueue: true, agentPort: true },
    // With -no-reboot, QEMU exits on either; poweroff is the clean one.
    stopLine: "poweroff",
    render: (s) => ({
        argv: qemuArgv({
            ...s,
            qmp: `${s.dir}/qmp.sock`,
            qmpFd: s.listenFds?.qmp,
            agentSocket: s.agent ? `${s.dir}/agent.sock` : undefined,
            agentFd: s.listenFds?.agent,
            processName: `netbed-${s.name}`,
        }),
        files: [],
        api: { kind: "qmp", path: `${s.dir}/qmp.sock` },
        listen: [{ name: "qmp", path: `${s.dir}/qmp.sock` }, ...(s.agent ? [{ name: "agent", path: `${s.dir}/agent.sock` }] : [])],
        ...(s.agent ? { agent: `${s.dir}/agent.sock` } : {}),
    }),
    // -name ...,debug-threads=on names them "CPU n/TCG" or "CPU n/KVM" (QMP gives the ids too).
    vcpuOf: (n) => {
        const m = /^CPU (\d+)\/(TCG|KVM)$/.exec(n);
        return m ? Number(m[1]) : undefined;
    },
};

const firecracker: DriverModel = {
    name: "firecracker",
    defaultBinary: "firecracker",
    // Firecracker opens taps by name only and has no vhost-net; it needs KVM.
    // No virtio-console at all, so no agent port.
    supports: { macvtap: false, vhostNet: false, tcg: false, machineTypes: false, vcpuPinning: true, multiQueue: false, agentPort: false },
    // No ACPI power-off: the guest's reboot (reboot=k) is what ends a Firecracker VM.
    stopLine: "reboot",
    render: (s) => ({
        argv: [s.binary, "--no-api", "--config-file", `${s.dir}/firecracker.json`, "--level", "Warning"],
        files: [
            {
                name: "firecracker.json",
                content: JSON.stringify(firecrackerConfig(s), null, 2),
            },
        ],
        listen: [],
    }),
    vcpuOf: firecrackerVcpu,
};

const cloudHypervisor: DriverModel = {
    name: "cloud-hypervisor",
    defaultBinary: "cloud-hypervisor",
    // Its virtio-console is a console (hvc0) without a port name, and not checked here against a
    // real Cloud Hypervisor: no agent port until it is.
    supports: { macvtap: true, vhostNet: false, tcg: false, machineTypes: false, vcpuPinning: true, multiQueue: true, agentPort: false },
    stopLine: "poweroff",
    render: (s) => ({
        argv: cloudHvArgv({ ...s, api: `${s.dir}/api.sock`, apiFd: s.listenFds?.api }),
        files: [],
        api: { kind: "cloud-hypervisor", path: `${s.dir}/api.sock` },
        listen: [{ name: "api", path: `${s.dir}/api.sock` }],
    }),
    vcpuOf: cloudHvVcpu,
};

const custom: DriverModel = {
    name: "custom",
    // Its template has no placeholder for an agent port.
    supports: { macvtap: true, vhostNet: false, tcg: true, machineTypes: false, vcpuPinning: false, multiQueue: true, agentPort: false },
    stopLine: "poweroff",
    render: (s) => ({
        argv: renderTemplate(s),
        files: [],
        listen: [],
    }),
    vcpuOf: () => undefined,
};

export const DRIVER_MODELS: Record<VmmDriverName, DriverModel> = { qemu, firecracker, "cloud-hypervisor": cloudHypervisor, custom };

// The `custom` VMM driver's argv template: placeholders in {braces} are replaced by the VM's
// values, each inside one argv word (never re-split by a shell).

const PLACEHOLDERS = ["kernel", "initrd", "cmdline", "vcpus", "memoryMiB", "console"] as const;
const NIC_PLACEHOLDER = /^(tap|mac|fd)(\d+)$/;

/** Why a template is unusable for a VM with `nics` NICs, or undefined. */
export function templateProblem(argv: readonly string[], nics: number): string | undefined {
    if (argv.length === 0) return "must not be empty";
    if (!argv[0].startsWith("/")) return `its first word '${argv[0]}' must be the VMM binary's absolute path`;
    for (const w of argv) {
        for (const m of w.matchAll(/\{([^}]*)\}/g)) {
            const p = m[1];
            const nic = NIC_PLACEHOLDER.exec(p);
            if (nic) {
                if (Number(nic[2]) >= nics) return `'{${p}}' refers to NIC ${nic[2]}, but the VM has ${nics}`;
            } else if (!(PLACEHOLDERS as readonly string[]).includes(p)) {
                return `'{${p}}' is not a placeholder (use ${PLACEHOLDERS.map((x) => `{${x}}`).join(", ")}, {tapN}, {macN}, {fdN})`;
            }
        }
    }
    if (!argv.some((w) => w.includes("{kernel}"))) return "never uses {kernel}";
    return undefined;
}

/** The custom driver's argv: its template (its binary first) with each placeholder replaced by the spec's value. */
export function renderTemplate(s: Pick<VmSpec, "binary" | "custom" | "kernel" | "initrdPath" | "cmdline" | "vcpus" | "memoryMiB" | "dir" | "nics">): string[] {
    const values: Record<(typeof PLACEHOLDERS)[number], string | number> = {
        kernel: s.kernel,
        initrd: s.initrdPath,
        cmdline: [...CONSOLE_WORDS, ...s.cmdline].join(" "),
        vcpus: s.vcpus,
        memoryMiB: s.memoryMiB,
        console: `${s.dir}/console.log`,
    };
    return [s.binary, ...s.custom!.argv.slice(1)].map((w) =>
        w.replace(/\{([^}]*)\}/g, (_, p: string) => {
            const nic = NIC_PLACEHOLDER.exec(p);
            if (nic) {
                const i = Number(nic[2]);
                const val = s.nics[i]?.[nic[1] as "tap" | "mac" | "fd"];
                if (val === undefined) throw new Error(`'{${p}}': NIC ${i} has no ${nic[1]} (check its backend)`);
                return String(val);
            }
            return String(values[p as (typeof PLACEHOLDERS)[number]]);
        }),
    );
}
