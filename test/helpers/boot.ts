// Boots a kernel + GuestImage under QEMU inside a test namespace, over a tap in that namespace.
// Test and bench infrastructure (the MicroVm resource is the product's way to boot guests).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as net from "node:net";
import { type GuestNic, guestCmdline, parseReadyLine, type ReadyLine, type Server } from "../../core/guestinit";
import { type QemuMachine, qemuArgv } from "../../core/qemu";
import { must, sh } from "./index";

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
    machine?: QemuMachine;
    tscKhz?: number;
}): Promise<Booted> {
    const argv = qemuArgv({
        machine: opts.machine,
        tscKhz: opts.tscKhz,
        accel: "tcg",
        vcpus: 1,
        memoryMiB: 256,
        kernel: opts.kernel,
        initrdPath: opts.initrd,
        cmdline: guestCmdline([opts.nic], opts.servers ?? []),
        nics: [{ tap: opts.tap, mac: opts.nic.mac, vhost: false, queues: 1 }],
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

/** iperf3 from a namespace to a guest's server, bounded in time; the receiver's Gbit/s. */
export function iperf3(ns: string, addr: string, seconds: number): number {
    const r = spawnSync("ip", ["netns", "exec", ns, "iperf3", "-c", addr, "-t", String(seconds), "-J"], {
        encoding: "utf8",
        timeout: (seconds + 30) * 1000,
        killSignal: "SIGKILL",
    });
    if (r.status !== 0) throw new Error(`iperf3 -c ${addr} failed (${r.status ?? r.signal}): ${r.stdout.slice(-500)}${r.stderr}`);
    return JSON.parse(r.stdout).end.sum_received.bits_per_second / 1e9;
}

/** Sends QMP commands one by one on a VM's socket and returns each reply (events skipped). */
export function qmp(socket: string, commands: object[], timeoutMs = 10_000): Promise<any[]> {
    return new Promise((resolve, reject) => {
        const c = net.createConnection(socket);
        const replies: any[] = [];
        let buf = "";
        let greeted = false;
        const timer = setTimeout(() => {
            c.destroy();
            reject(new Error(`QMP ${socket}: no reply within ${timeoutMs} ms (got ${JSON.stringify(replies)})`));
        }, timeoutMs);
        const next = () => {
            if (replies.length === commands.length) {
                clearTimeout(timer);
                c.end();
                resolve(replies);
            } else c.write(`${JSON.stringify(commands[replies.length])}\n`);
        };
        c.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
        });
        c.on("data", (d) => {
            buf += d;
            for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
                const msg = JSON.parse(buf.slice(0, i));
                buf = buf.slice(i + 1);
                if (msg.QMP && !greeted) {
                    greeted = true;
                    next();
                } else if ("return" in msg || "error" in msg) {
                    replies.push(msg);
                    next();
                }
            }
        });
    });
}
