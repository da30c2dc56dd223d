// Simulated lab machines on this one (pure parts): names, the address plan, each machine's sshd
// configuration and its boot script, and the `sim-e2288g` stack derived from the xeon-e2288g one.

/** Namespaces and links of the simulation all start with this, so it never touches anything else. */
const SIM_PREFIX = "nbsim";
/** The namespace holding the lab's segments (one bridge per NIC index: the lab's links). */
export const LAB_NS = `${SIM_PREFIX}-lab`;
/** Operator-side state: what the simulation made (under /run: gone, like the namespaces, at reboot). */
export const SIM_RUN_DIR = "/run/netbed-sim";
/** The machines' "disks": host keys, sshd config, and the persistent /var/cache/netbed of each. */
export const SIM_DISK_DIR = "/var/lib/netbed-sim";
export const AGENT_SOCKET = `${SIM_RUN_DIR}/agent.sock`;
export const MAX_MACHINES = 8;
export const MAX_NICS = 4;

/**
 * Machine-local directories made private to each machine: /run/netbed and the temporary
 * directories are tmpfs (emptied by a reboot, as on a real machine); /var/cache/netbed is the
 * machine's own disk directory, so its kernel and image cache survives reboots as a disk would.
 */
const PRIVATE_TMPFS = ["/run/netbed", "/tmp", "/var/tmp"] as const;
const PRIVATE_CACHE = "/var/cache/netbed";
/**
 * The SSH user's home is the machine's own too, seeded once from the distribution's /etc/skel as a
 * fresh lab machine's is: every command over SSH starts the user's shell, which reads its ~/.bashrc,
 * so the operator's own (here, a pyenv init costing about 1 s) must not be charged to each command.
 */
const PRIVATE_HOME = "/root";

export interface SimMachine {
    /** m1, m2, ... */
    name: string;
    namespace: string;
    /** The operator-side end of the management veth (in this machine's init namespace). */
    mgmtLink: string;
    operatorAddress: string;
    /** Where the machine's sshd listens. */
    address: string;
    /** NIC names inside the machine, one per lab segment. */
    nics: string[];
}

function machineName(n: number): string {
    return `m${n}`;
}

/** Machine n (1-based): management /30 n-1 of 172.30.250.0/24. */
export function planMachine(n: number, nics: number): SimMachine {
    const name = machineName(n);
    return {
        name,
        namespace: `${SIM_PREFIX}-${name}`,
        mgmtLink: `${SIM_PREFIX}-${name}`,
        operatorAddress: `172.30.250.${4 * (n - 1) + 1}`,
        address: `172.30.250.${4 * (n - 1) + 2}`,
        nics: Array.from({ length: nics }, (_, i) => `nic${i}`),
    };
}

/** The lab-side end of machine m's NIC i (a port of segment i's bridge). */
export function labPort(m: SimMachine, nic: number): string {
    return `${m.name}n${nic}`;
}

export function segmentBridge(nic: number): string {
    return `seg${nic}`;
}

/** `--address m2:nic0=10.10.1.2/24` parsed, or why not. */
export function parseAddressFlag(s: string, machines: number, nics: number): { machine: string; nic: string; cidr: string } | string {
    const m = /^(m[0-9]+):(nic[0-9]+)=([0-9.]+\/[0-9]+)$/.exec(s);
    if (!m) return `'${s}' is not MACHINE:NIC=CIDR (e.g. m2:nic0=10.10.1.2/24)`;
    const [, machine, nic, cidr] = m;
    if (Number(machine.slice(1)) < 1 || Number(machine.slice(1)) > machines) return `'${s}': machine ${machine} is not one of m1-m${machines}`;
    if (Number(nic.slice(3)) >= nics) return `'${s}': ${nic} is not one of nic0-nic${nics - 1}`;
    const [addr, len] = cidr.split("/");
    if (addr.split(".").some((o) => Number(o) > 255) || Number(len) > 32) return `'${s}': ${cidr} is not an IPv4 CIDR`;
    return { machine, nic, cidr };
}

export function sshdConfig(m: SimMachine, disk: string): string {
    return `${[
        "Port 22",
        `ListenAddress ${m.address}`,
        `HostKey ${disk}/ssh_host_ed25519_key`,
        `AuthorizedKeysFile ${disk}/authorized_keys`,
        "PidFile none",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "AllowStreamLocalForwarding yes",
        "Subsystem sftp internal-sftp",
        // Logs each connection and each session (command, sftp, forwarding): the machine's sshd.log counts them.
        "LogLevel VERBOSE",
        // Sessions whose client vanished end within seconds, as netbed's keepalives expect.
        "ClientAliveInterval 5",
        "ClientAliveCountMax 3",
    ].join("\n")}\n`;
}

/**
 * The machine's "init": run by `unshare --mount --propagation private` inside its network
 * namespace (and with its own hostname), it mounts the private directories and then holds the
 * mount namespace (sshd and everything started over SSH live in it). A constant: the disk directory
 * comes as $1, the machine's name as $2.
 */
export const BOOT_SCRIPT = [
    "set -e",
    'hostname "$2"',
    ...PRIVATE_TMPFS.map((d) => `mkdir -p ${d} && mount -t tmpfs -o mode=${d === "/run/netbed" ? "0755" : "1777"} netbed-sim ${d}`),
    `mkdir -p "$1/cache" ${PRIVATE_CACHE} && mount --bind "$1/cache" ${PRIVATE_CACHE}`,
    `if [ ! -d "$1/home" ]; then mkdir -p "$1/home.new" && cp -a /etc/skel/. "$1/home.new/" && mv "$1/home.new" "$1/home"; fi`,
    `mount --bind "$1/home" ${PRIVATE_HOME}`,
    "exec sleep infinity",
].join("\n");

/** The xeon file's NIC names and the simulated machines' NICs that stand in for them. */
const NIC_MAP: Record<string, string> = { enp1s0f0: "nic0", enp1s0f1: "nic1" };

/** The addresses the xeon file says are configured on the client's NICs outside netbed. */
export const E2288G_ADDRESSES = ["m2:nic0=10.10.1.2/24", "m2:nic1=10.10.2.2/24"];

type Obj = Record<string, any>;

/** A shorter matrix for a quick look (and for CI): one cell of each kind that fills a Volt table row. */
const SHORT_BENCHMARK = {
    settings: { duration: 1, repetitions: 2, warmup: 0 },
    tests: [
        { kind: "tcp", streams: 1 },
        { kind: "icmp", count: 10, interval: 0.05 },
        { kind: "rr", test: "TCP_RR" },
    ],
};

/**
 * The xeon-e2288g config with only what this machine cannot have changed: the machines are the
 * simulated m1 (server) and m2 (client) reached through the simulation's agent; guests run under
 * TCG with 1 vCPU and 256 MiB pinned within 2 cores; the kernel is the minimal one, built on each
 * machine that runs guests (the machines have no route to a Debian mirror); no vhost-net guest (no /dev/vhost-net here: a
 * preview refuses it); sysctls of the one shared kernel are left alone; cells are short.
 */
export function simE2288g(
    xeon: Obj,
    fingerprints: Record<string, string>,
    opts: { short?: boolean; keepVhost?: boolean } = {},
): { config: Obj; dropped: string[] } {
    const c = structuredClone(xeon) as Obj;
    const dropped: string[] = [];
    const hosts = c["testbed:hosts"];
    for (const [host, m] of [
        ["server", "m1"],
        ["client", "m2"],
    ]) {
        hosts[host].ssh = { host: planMachine(Number(m.slice(1)), 2).address, agent: AGENT_SOCKET, hostKeyFingerprint: fingerprints[m] };
    }
    for (const t of Object.values(c["testbed:tuning"] ?? {}) as Obj[]) {
        for (const k of Object.keys(t.sysctls ?? {})) {
            if (k.startsWith("kernel.")) {
                delete t.sysctls[k];
                dropped.push(`tuning sysctl ${k}: not per network namespace, so it would change this whole machine`);
            }
        }
        for (const r of t.irqAffinity ?? []) r.match = r.match.replace(/enp1s0f[01]/, (n: string) => NIC_MAP[n]);
    }
    const fabric = c["testbed:fabric"];
    for (const b of Object.values(fabric.bridges ?? {}) as Obj[]) b.members = (b.members ?? []).map((n: string) => NIC_MAP[n] ?? n);
    for (const m of Object.values(fabric.macvtaps ?? {}) as Obj[]) m.parent = NIC_MAP[m.parent] ?? m.parent;
    const guests = c["testbed:guests"];
    guests.kernel = { source: { kind: "build" } };
    // The cross-machine pair's guests (vm-client on m2, vm-virtio on m1) on different cores of the two.
    const cpu: Record<string, number> = { "vm-virtio": 1, "vm-macvtap": 0, "vm-client": 0 };
    for (const [name, vm] of Object.entries(guests.vms) as [string, Obj][]) {
        if (vm.nics.some((n: Obj) => n.backend === "vhost-net") && !opts.keepVhost) {
            delete guests.vms[name];
            delete fabric.taps[vm.nics[0].tap];
            dropped.push(`guest ${name}: vhost-net needs /dev/vhost-net, which this machine lacks (a preview refuses it)`);
            continue;
        }
        Object.assign(vm, { vcpus: 1, memoryMiB: 256, accel: "tcg", pinning: { vcpus: [cpu[name] ?? 1] } });
    }
    const bench = c["testbed:benchmark"];
    const vms = new Set(Object.keys(guests.vms));
    bench.pairs = bench.pairs.filter((p: Obj) => !p.server.vm || vms.has(p.server.vm));
    bench.settings = { ...bench.settings, duration: 2, repetitions: 3 };
    for (const t of bench.tests) if (t.kind === "icmp") Object.assign(t, { count: 40, interval: 0.05 });
    if (opts.short) Object.assign(bench, structuredClone(SHORT_BENCHMARK));
    return { config: c, dropped };
}
