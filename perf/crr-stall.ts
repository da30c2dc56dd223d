// Hunts the TCP_CRR stall of a TCG guest: boots one guest on a bridge + tap in a namespace of its
// own, runs bounded rounds of `netperf -t TCP_CRR` at it until one fails, and then prints what the
// guest and QEMU say: the guest's network counters read over its serial console (the network is
// what stalled), ping, the tap's counters, QEMU's virtqueue state over QMP, and the rings' indexes
// as they are in guest memory.
//
// Run: npx ts-node --transpile-only perf/crr-stall.ts [--kernel debian|build|<package>] [--rounds N]
//      [--cmdline WORD]... [--device ,prop=value] [--smp VALUE] [--seconds S] [--prefix NAME]
// Each run boots a fresh guest; loop it. The stall (Debian's 6.1 kernels, q35, one vCPU, QEMU 7.2)
// is a lost transmit notification: at each one, the guest's console still answered and its IP stack
// still sent, but its NIC's completed-transmit count stayed at what the tap had received; the
// transmit ring in guest memory held buffers beyond QEMU's last-avail-idx, and avail_event (where
// QEMU wants its next kick) named the first of them. With event indexes the guest kicks only when
// crossing avail_event, so it never kicks again. Why the kick was lost: core/qemu.ts smpOption
// (`--smp 1` brings the old setting back).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as gi from "../core/guestinit";
import { qemuArgv } from "../core/qemu";
import { imageHandler } from "../providers/resources/image";
import { kernelHandler } from "../providers/resources/kernel";
import { MemoryLogger } from "../providers/runtime/log";
import { GuestImageArgsSchema } from "../schema/image";
import { KernelArgsSchema } from "../schema/kernel";
import { qmp } from "../test/helpers/boot";
import { must, sh } from "../test/helpers";

const local = { kind: "local" as const, name: "me" };
const ctx = (n: string) => ({ urn: `urn:pulumi:bench::crr-stall::netbed:index:X::${n}`, name: n, log: new MemoryLogger() });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the guest's console prints at a stall: counters from the NIC up to the sockets. */
const GUEST_STATE = [
    "cat /proc/net/dev /proc/net/snmp /proc/net/arp /proc/net/softnet_stat /proc/net/sockstat",
    "grep -H . /sys/class/net/eth0/queues/tx-0/tx_timeout /sys/module/virtio_net/parameters/*",
    "cat /sys/devices/system/clocksource/clocksource0/current_clocksource /proc/uptime",
    "grep -E 'LOC|timer' /proc/interrupts",
    "dmesg | tail -20",
].join("; ");

interface Options {
    kernel: string;
    rounds: number;
    cmdline: string[];
    device: string;
    smp: string;
    seconds: number;
    prefix: string;
}

function options(argv: string[]): Options {
    const o: Options = { kernel: "debian", rounds: 40, cmdline: [], device: "", smp: "", seconds: 2, prefix: `crrs${process.pid.toString(36)}` };
    for (let i = 0; i < argv.length; i += 2) {
        const [k, v] = [argv[i], argv[i + 1]];
        if (v === undefined) throw new Error(`${k} needs a value`);
        if (k === "--kernel") o.kernel = v;
        else if (k === "--rounds") o.rounds = Number(v);
        else if (k === "--cmdline") o.cmdline.push(v);
        else if (k === "--device") o.device = v;
        else if (k === "--smp") o.smp = v;
        else if (k === "--seconds") o.seconds = Number(v);
        else if (k === "--prefix") o.prefix = v;
        else throw new Error(`unknown option ${k}`);
    }
    return o;
}

/**
 * The guest image with a console that runs what it reads, for looking inside a guest whose network
 * stalled. Built into its own cache directory: never an image a product guest boots.
 */
async function diagnosticImage(modulesDir: string): Promise<string> {
    const stock = 'reboot) echo "NETBED-REBOOT"; sync; reboot -f ;;';
    if (!gi.GUEST_INIT.includes(stock)) throw new Error("the guest init's console loop changed: update diagnosticImage");
    (gi as { GUEST_INIT: string }).GUEST_INIT = gi.GUEST_INIT.replace(stock, `${stock}\n      *) eval "$cmd" ;;`);
    const img = await imageHandler.create(
        ctx("img"),
        GuestImageArgsSchema.parse({ host: local, cacheDir: "/tmp/netbed-crr-stall-cache", ...(modulesDir ? { modulesDir } : {}) }),
    );
    return (img.outs as { path: string }).path;
}

function kernelSource(k: string) {
    if (k === "build") return { kind: "build" as const };
    return { kind: "debian" as const, package: k === "debian" ? "linux-image-amd64" : k };
}

/** One netperf TCP_CRR round of `seconds` from the namespace; transactions, or undefined when it failed. */
function crrRound(ns: string, guest: string, seconds: number): number | undefined {
    const argv = ["netns", "exec", ns, "netperf", "-H", guest, "-t", "TCP_CRR", "-l", String(seconds), "-P", "0", "--", "-r", "1,1"];
    const r = spawnSync("ip", argv, {
        encoding: "utf8",
        timeout: (seconds + 28) * 1000,
        killSignal: "SIGKILL",
    });
    const rate = Number((r.stdout ?? "").trim().split(/\s+/)[5]);
    return r.status === 0 && rate > 0 ? rate * seconds : undefined;
}

function topology(ns: string, br: string, tap: string): void {
    sh(["ip", "netns", "del", ns]);
    must(["ip", "netns", "add", ns]);
    must(["ip", "-n", ns, "link", "set", "lo", "up"]);
    must(["ip", "-n", ns, "link", "add", br, "type", "bridge"]);
    must(["ip", "-n", ns, "addr", "add", "10.250.8.1/24", "dev", br]);
    must(["ip", "-n", ns, "link", "set", br, "up"]);
    must(["ip", "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap", "vnet_hdr"]);
    must(["ip", "-n", ns, "link", "set", tap, "master", br, "up"]);
}

/** QEMU's view of the NIC's receive (0) and transmit (1) virtqueues. */
async function virtqueues(socket: string): Promise<unknown[]> {
    const [, devices] = await qmp(socket, [{ execute: "qmp_capabilities" }, { execute: "x-query-virtio" }]);
    const path = (devices.return as { name: string; path: string }[]).find((d) => d.name === "virtio-net")?.path;
    if (!path) return ["no virtio-net device in x-query-virtio"];
    const replies = await qmp(socket, [
        { execute: "qmp_capabilities" },
        { execute: "query-status" },
        { execute: "x-query-virtio-queue-status", arguments: { path, queue: 0 } },
        { execute: "x-query-virtio-queue-status", arguments: { path, queue: 1 } },
    ]);
    const queues = replies.slice(2).map((r) => r.return as Record<string, number>);
    return [...replies.slice(1).map((r) => r.return ?? r.error), ...(await ringsInMemory(socket, queues)), await features(socket, path)];
}

/**
 * The indexes as they are in guest memory, which QEMU's queue status only caches: the avail ring's
 * idx and used_event (what the guest posted, and when it wants an interrupt) and the used ring's idx
 * and avail_event (what QEMU returned, and when it wants a kick). A posted buffer with no kick
 * shows as avail idx beyond QEMU's last-avail-idx.
 */
async function ringsInMemory(socket: string, queues: Record<string, number>[]): Promise<string[]> {
    const xp = (addr: number) => ({ execute: "human-monitor-command", arguments: { "command-line": `xp /1hx ${addr}` } });
    const out: string[] = [];
    for (const q of queues) {
        const [n, avail, used] = [q["vring-num"], q["vring-avail"], q["vring-used"]];
        const r = await qmp(socket, [{ execute: "qmp_capabilities" }, xp(avail + 2), xp(avail + 4 + 2 * n), xp(used + 2), xp(used + 4 + 8 * n)]);
        const v = r.slice(1).map((x) => Number.parseInt(String(x.return).split(":")[1], 16));
        out.push(`queue ${q["queue-index"]} in guest memory: avail.idx ${v[0]} used_event ${v[1]}; used.idx ${v[2]} avail_event ${v[3]}`);
    }
    return out;
}

/** Whether the guest negotiated VIRTIO_RING_F_EVENT_IDX (notification suppression by index). */
async function features(socket: string, path: string): Promise<string> {
    const [, st] = await qmp(socket, [{ execute: "qmp_capabilities" }, { execute: "x-query-virtio-status", arguments: { path } }]);
    const f = JSON.stringify(st.return?.["guest-features"]?.transports ?? st.error);
    return `guest transport features: ${f}`;
}

async function main(o: Options): Promise<void> {
    const k = (await kernelHandler.create(ctx("kernel"), KernelArgsSchema.parse({ host: local, source: kernelSource(o.kernel) }))).outs as {
        path: string;
        release: string;
        modulesDir: string;
    };
    const initrd = await diagnosticImage(k.modulesDir);
    const [ns, br, tap, socket] = [`${o.prefix}-ns`, `${o.prefix}br`, `${o.prefix}tap`, `/tmp/${o.prefix}-qmp.sock`];
    topology(ns, br, tap);
    const mac = "02:00:00:00:c8:02";
    const argv = qemuArgv({
        accel: "tcg",
        vcpus: 1,
        memoryMiB: 256,
        kernel: k.path,
        initrdPath: initrd,
        cmdline: [...gi.guestCmdline([{ mac, address: "10.250.8.2/24" }], ["netserver"]), ...o.cmdline],
        nics: [{ tap, mac, vhost: false, queues: 1 }],
        qmp: socket,
    });
    const dev = argv.findIndex((a) => a.startsWith("virtio-net-pci"));
    argv[dev] += o.device;
    if (o.smp) argv[argv.indexOf("-smp") + 1] = o.smp;
    console.log(`kernel ${k.release}; -append ${argv[argv.indexOf("-append") + 1]}; -device ${argv[dev]}; -smp ${argv[argv.indexOf("-smp") + 1]}`);
    const started = Date.now();
    const child: ChildProcess = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (b) => (out += b));
    child.stderr!.on("data", (b) => (out += b));
    const guestShell = async (cmd: string) => {
        const mark = out.length;
        child.stdin!.write(`${cmd}; echo CRR-STALL-END\n`);
        for (let i = 0; i < 100 && !out.slice(mark).includes("\nCRR-STALL-END"); i++) await sleep(100);
        return out.slice(mark);
    };
    try {
        for (let i = 0; !gi.parseReadyLine(out); i++) {
            if (i > 1800 || child.exitCode !== null) throw new Error(`the guest did not become ready: ${out.slice(-2000)}`);
            await sleep(100);
        }
        let total = 0;
        for (let i = 0; i < o.rounds; i++) {
            const n = crrRound(ns, "10.250.8.2", o.seconds);
            if (n === undefined) {
                console.log(
                    `round ${i + 1} failed (a stall, or no netserver), after ${total.toFixed(0)} transactions in the rounds before, ${((Date.now() - started) / 1000).toFixed(1)} s after QEMU started (compare the guest's /proc/uptime below)`,
                );
                console.log(await guestShell(GUEST_STATE));
                const p = sh(["ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.3", "-W", "2", "10.250.8.2"]);
                console.log(`ping from the namespace: ${p.code === 0 ? "answered" : "no answer"}`);
                console.log(must(["ip", "-n", ns, "-s", "link", "show", tap]));
                console.log(await guestShell(GUEST_STATE));
                for (const q of await virtqueues(socket)) console.log(JSON.stringify(q));
                return;
            }
            total += n;
        }
        console.log(`no stall: ${o.rounds} rounds, ${total.toFixed(0)} transactions`);
    } finally {
        child.kill("SIGKILL");
        await sleep(500);
        sh(["ip", "netns", "del", ns]);
    }
}

main(options(process.argv.slice(2))).catch((e) => {
    console.error(e);
    process.exit(1);
});
