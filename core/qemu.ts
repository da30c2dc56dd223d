// QEMU argv for a microVM (q35 with virtio-net-pci: -M microvm hangs under TCG, see
// shared/NOTES.md). Pure: the caller spawns it.
export interface QemuNic {
    /** A tap device name (virtio, vhost-net) ... */
    tap?: string;
    /** ... or a file descriptor number the VMM inherits (macvtap's character device). */
    fd?: number;
    mac: string;
    vhost: boolean;
    queues?: number;
}

export interface QemuSpec {
    binary?: string;
    accel: "kvm" | "tcg";
    cpus: number;
    memoryMiB: number;
    kernel: string;
    initrd: string;
    /** Kernel command line words after the console setup. */
    cmdline: readonly string[];
    nics: readonly QemuNic[];
    /** QMP unix socket path. */
    qmp?: string;
    /**
     * Run detached (-daemonize, for a VMM that outlives the process that started it): the serial
     * console becomes a unix socket (for commands) that also logs to a file, and QEMU writes its pid.
     */
    daemon?: { pidfile: string; consoleSocket: string; consoleLog: string; name: string };
}

export function qemuArgv(s: QemuSpec): string[] {
    for (const p of [s.kernel, s.initrd, s.qmp ?? "", ...(s.daemon ? [s.daemon.pidfile, s.daemon.consoleSocket, s.daemon.consoleLog, s.daemon.name] : [])]) {
        if (p.includes(",")) throw new Error(`'${p}' cannot appear in a QEMU option (it contains ',')`);
    }
    const argv = [
        s.binary ?? "qemu-system-x86_64",
        "-M", "q35",
        "-accel", s.accel,
        "-cpu", s.accel === "kvm" ? "host" : "max",
        "-smp", String(s.cpus),
        "-m", String(s.memoryMiB),
        "-nodefaults", "-no-user-config",
        ...(s.daemon
            ? [
                  "-display", "none",
                  "-daemonize",
                  "-pidfile", s.daemon.pidfile,
                  // Thread names "CPU n/TCG|KVM" let netbed find vCPU threads to pin.
                  "-name", `${s.daemon.name},debug-threads=on`,
                  "-chardev", `socket,id=con0,path=${s.daemon.consoleSocket},server=on,wait=off,logfile=${s.daemon.consoleLog}`,
                  "-serial", "chardev:con0",
              ]
            : ["-nographic", "-serial", "stdio"]),
        "-kernel", s.kernel,
        "-initrd", s.initrd,
        // quiet: under TCG every console line costs boot time.
        "-append", ["console=ttyS0", "quiet", "panic=-1", ...s.cmdline].join(" "),
        "-no-reboot",
    ];
    s.nics.forEach((n, i) => {
        // QEMU splits options at ',': a name or MAC with one would inject options.
        for (const v of [n.tap ?? "", n.mac]) if (/[,=\s]/.test(v)) throw new Error(`NIC ${i}: '${v}' cannot appear in a QEMU option`);
        const q = n.queues && n.queues > 1 ? `,queues=${n.queues}` : "";
        const backend = n.fd !== undefined ? `tap,id=n${i},fd=${n.fd}` : `tap,id=n${i},ifname=${n.tap},script=no,downscript=no`;
        argv.push("-netdev", `${backend},vhost=${n.vhost ? "on" : "off"}${q}`);
        const mq = n.queues && n.queues > 1 ? `,mq=on,vectors=${2 * n.queues + 2}` : "";
        argv.push("-device", `virtio-net-pci,netdev=n${i},mac=${n.mac},romfile=${mq}`);
    });
    if (s.qmp) argv.push("-qmp", `unix:${s.qmp},server=on,wait=off`);
    return argv;
}
