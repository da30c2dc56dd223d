// Security: what confinement costs. The same guest (minimal kernel, default image, TCG here) on one
// tap, booted as a MicroVm with no profile (root, every capability) and under the default profile
// (the QEMU preset, Landlock with the VM's paths and the scopes, the netbed-vmm user, no
// capabilities, tap and QMP by fds), alternately, 5 times each: time to readiness, then a 5 s iperf3
// host -> guest TCP run on that boot.
// Run: npx ts-node --transpile-only perf/security.ts [RUNS] [NAMESPACE]
import * as fs from "node:fs";
import * as os from "node:os";
import { hostHandler } from "../providers/resources/host";
import { imageHandler } from "../providers/resources/image";
import { kernelHandler } from "../providers/resources/kernel";
import { MemoryLogger } from "../providers/runtime/log";
import { microvmHandler } from "../providers/resources/microvm";
import { median } from "../core/bench/stats";
import { parseProcStat } from "../core/procstat";
import { securityHandler } from "../providers/resources/security";
import { tapHandler } from "../providers/resources/tap";
import { HostArgsSchema, type HostConnection } from "../schema/host";
import { GuestImageArgsSchema } from "../schema/image";
import { KernelArgsSchema } from "../schema/kernel";
import { MicroVmArgsSchema } from "../schema/microvm";
import { SecurityProfileArgsSchema, vmSecurityOf } from "../schema/security";
import { TapArgsSchema } from "../schema/tap";
import { iperf3 } from "../test/helpers/boot";

const local = { kind: "local" as const, name: "me" };
const ctx = (type: string, n: string) => ({ urn: `urn:pulumi:bench::security::netbed:index:${type}::${n}`, name: n, log: new MemoryLogger() });
const CLK_TCK = 100; // USER_HZ on Linux x86_64 and aarch64

/**
 * Seconds from the VMM process's start (the first exec of the chain: shell, launchers, QEMU keep
 * one pid) to the last write of its console log, the readiness line: finer than the handler's
 * 200 ms polling.
 */
function processToReady(pid: number, consoleLog: string): number {
    // The start time counts clock ticks since boot; /proc/uptime, read now, places boot on the wall clock
    // (/proc/stat's btime is whole seconds: too coarse).
    const bootWall = Date.now() / 1000 - Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]);
    const start = bootWall + Number(parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))?.startTime) / CLK_TCK;
    return fs.statSync(consoleLog).mtimeMs / 1000 - start;
}

type Samples = { wall: number[]; ready: number[]; guest: number[]; gbps: number[] };

/** Boots one VM (confined when `security` is given), adds its boot times and an iperf3 run to `out`, and deletes it. */
async function bootAndMeasure(
    name: string,
    setup: { conn: HostConnection; ns: string; kernel: any; image: any; security?: unknown; seconds: number },
    out: Samples,
): Promise<void> {
    const vctx = ctx("MicroVm", name);
    const args = MicroVmArgsSchema.parse({
        host: setup.conn,
        kernel: setup.kernel.path,
        image: setup.image.path,
        imageSize: setup.image.size,
        servers: ["iperf3"],
        accel: "tcg",
        nics: [{ backend: "virtio", tap: "tapsec0", address: "10.246.1.10/24" }],
        ...(setup.security ? { security: setup.security } : {}),
    });
    const vm = await microvmHandler.create(vctx, args);
    const o = vm.outs as any;
    try {
        out.wall.push(o.bootTime.wallSeconds);
        out.guest.push(o.bootTime.guestSeconds);
        out.ready.push(Math.round(processToReady(o.pid, o.consoleLog) * 1000) / 1000);
        out.gbps.push(Math.round(iperf3(setup.ns, "10.246.1.10", setup.seconds) * 1000) / 1000);
    } finally {
        await microvmHandler.delete(vctx, vm.id, vm.outs);
    }
}

export async function main(runs = 5, seconds = 5, ns = `nbt-sec-bench-${process.pid}`): Promise<void> {
    console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model}, kernel ${os.release()}, accel tcg`);
    const h = await hostHandler.create(ctx("Host", "b"), HostArgsSchema.parse({ kind: "netns", namespace: ns }));
    const conn = (h.outs as any).connection as HostConnection;
    const cleanup: (() => Promise<unknown>)[] = [() => hostHandler.delete(ctx("Host", "b"), h.id, h.outs)];
    const res: Record<"none" | "qemu", Samples> = {
        none: { wall: [], ready: [], guest: [], gbps: [] },
        qemu: { wall: [], ready: [], guest: [], gbps: [] },
    };
    try {
        const kernel = (await kernelHandler.create(ctx("Kernel", "k"), KernelArgsSchema.parse({ host: local, source: { kind: "build" } }))).outs as any;
        const image = (await imageHandler.create(ctx("GuestImage", "i"), GuestImageArgsSchema.parse({ host: local }))).outs as any;
        const tap = await tapHandler.create(ctx("Tap", "t"), TapArgsSchema.parse({ host: conn, name: "tapsec0", addresses: ["10.246.1.1/24"] }));
        cleanup.unshift(() => tapHandler.delete(ctx("Tap", "t"), tap.id, tap.outs));
        const pctx = ctx("SecurityProfile", "default");
        const prof = await securityHandler.create(pctx, SecurityProfileArgsSchema.parse({ host: conn }));
        cleanup.unshift(() => securityHandler.delete(pctx, prof.id, prof.outs));
        console.log(
            `profile: the default (qemu preset, ${prof.outs.syscallCount} syscalls, ${prof.outs.filterInstructions} BPF instructions, Landlock ABI ${prof.outs.landlockAbi}, scopes ${(prof.outs.rules as any).landlock.scopes.join(",") || "none"}, uid ${(prof.outs.rules as any).user})`,
        );
        for (let r = 0; r < runs; r++) {
            for (const variant of ["none", "qemu"] as const) {
                const v = variant === "qemu" ? vmSecurityOf(prof.outs as any) : undefined;
                await bootAndMeasure(`vm-${variant}-${r}`, { conn, ns, kernel, image, security: v, seconds }, res[variant]);
                console.log(
                    `round ${r + 1} ${variant}: ready ${res[variant].ready[r]} s after the process started (wall ${res[variant].wall[r]} s, guest uptime ${res[variant].guest[r]} s), ${res[variant].gbps[r]} Gbit/s`,
                );
            }
        }
    } finally {
        for (const c of cleanup) await c().catch((e) => console.error(e));
    }
    for (const [name, r] of Object.entries(res)) {
        console.log(
            `${name === "none" ? "no profile     " : "default profile"}: ready median ${median(r.ready).toFixed(3)} s [${r.ready.join(", ")}], wall median ${median(r.wall)} s [${r.wall.join(", ")}], guest uptime median ${median(r.guest)} s [${r.guest.join(", ")}], iperf3 ${seconds} s host->guest median ${median(r.gbps)} Gbit/s [${r.gbps.join(", ")}]`,
        );
    }
    console.log(JSON.stringify({ bench: "security", runs, seconds, accel: "tcg", results: res }));
}

if (require.main === module) {
    main(Number(process.argv[2] ?? 5), 5, process.argv[3]).catch((e) => {
        console.error(e);
        process.exit(1);
    });
}
