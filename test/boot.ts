// Boots a kernel + GuestImage under QEMU inside a test namespace, over a tap in that namespace.
// Test and bench infrastructure (the MicroVm resource is the product's way to boot guests).
import { ChildProcess, spawn } from "child_process";
import { GuestNic, guestCmdline, parseReadyLine, ReadyLine, Server } from "../core/guestinit";
import { qemuArgv } from "../core/qemu";
import { must, sh } from "./helpers";

export interface Booted {
    ready: ReadyLine;
    /** Wall-clock milliseconds from spawn to the readiness line. */
    wallMs: number;
    console: () => string;
    pid: number;
    stop(): Promise<number | null>;
}

/** Creates a tap `tap` with `hostCidr` in namespace `ns` (which must exist). */
export function tapInNetns(ns: string, tap: string, hostCidr: string): void {
    must(["ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr"]);
    must(["ip", "-n", ns, "addr", "add", hostCidr, "dev", tap]);
    must(["ip", "-n", ns, "link", "set", tap, "up"]);
    must(["ip", "-n", ns, "link", "set", "lo", "up"]);
}

export async function boot(opts: {
    ns: string;
    kernel: string;
    initrd: string;
    tap: string;
    nic: GuestNic;
    servers?: Server[];
    timeoutMs?: number;
}): Promise<Booted> {
    const argv = qemuArgv({
        accel: "tcg",
        cpus: 1,
        memoryMiB: 256,
        kernel: opts.kernel,
        initrd: opts.initrd,
        cmdline: guestCmdline([opts.nic], opts.servers ?? []),
        nics: [{ tap: opts.tap, mac: opts.nic.mac, vhost: false }],
    });
    const started = Date.now();
    const child: ChildProcess = spawn("ip", ["netns", "exec", opts.ns, ...argv], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (b) => (out += b));
    child.stderr!.on("data", (b) => (out += b));
    const exited = new Promise<number | null>((res) => child.on("close", (c) => res(c)));
    const deadline = started + (opts.timeoutMs ?? 180_000);
    const stop = async (): Promise<number | null> => {
        if (child.exitCode !== null) return child.exitCode;
        child.stdin!.write("poweroff\n");
        const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
        const code = await exited;
        clearTimeout(t);
        return code;
    };
    for (;;) {
        const ready = parseReadyLine(out);
        if (ready) return { ready, wallMs: Date.now() - started, console: () => out, pid: child.pid!, stop };
        if (child.exitCode !== null || Date.now() > deadline) {
            child.kill("SIGKILL");
            throw new Error(`guest did not become ready (exit ${child.exitCode}); console:\n${out.slice(-3000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
    }
}

export function ping(ns: string, addr: string, count = 3): { ok: boolean; out: string } {
    const r = sh(["ip", "netns", "exec", ns, "ping", "-c", String(count), "-i", "0.2", "-W", "3", addr]);
    return { ok: r.code === 0, out: r.stdout + r.stderr };
}
