// Boot: time to the readiness line under this machine's accelerator (TCG here) for the Debian
// kernel and the minimal kernel on q35, and the minimal kernel on the microvm machine, median of 5
// each, interleaved; and QEMU's RSS per idle guest.
// Run: npm run bench -- boot
import * as fs from "node:fs";
import { median } from "../core/bench/stats";
import { PROBE_SCRIPT, parseProbe } from "../core/probe";
import { imageHandler } from "../providers/resources/image";
import { kernelHandler } from "../providers/resources/kernel";
import { MemoryLogger } from "../providers/runtime/log";
import { GuestImageArgsSchema } from "../schema/image";
import { KernelArgsSchema } from "../schema/kernel";
import { boot, tapInNetns } from "../test/helpers/boot";
import { dropNetns, must, sh } from "../test/helpers";
import { machine } from "./machine";

const local = { kind: "local" as const, name: "me" };
const ctx = (n: string) => ({ urn: `urn:pulumi:bench::boot::netbed:index:X::${n}`, name: n, log: new MemoryLogger() });

export async function main(runs = 5): Promise<Record<string, unknown>> {
    console.log(`${machine()}; test/helpers/boot.ts boots every guest under TCG, 1 vCPU, 256 MiB`);
    const deb = (await kernelHandler.create(ctx("deb"), KernelArgsSchema.parse({ host: local, source: { kind: "debian", package: "linux-image-amd64" } })))
        .outs as any;
    const min = (await kernelHandler.create(ctx("min"), KernelArgsSchema.parse({ host: local, source: { kind: "build" } }))).outs as any;
    const debImg = (await imageHandler.create(ctx("debimg"), GuestImageArgsSchema.parse({ host: local, modulesDir: deb.modulesDir }))).outs as any;
    const minImg = (await imageHandler.create(ctx("minimg"), GuestImageArgsSchema.parse({ host: local }))).outs as any;
    console.log(
        `images: ${(debImg.size / 2 ** 20).toFixed(2)} MiB with modules, ${(minImg.size / 2 ** 20).toFixed(2)} MiB without; kernels: debian ${deb.release} ${(deb.size / 2 ** 20).toFixed(1)} MiB, minimal ${min.release} ${(min.size / 2 ** 20).toFixed(1)} MiB`,
    );
    const ns = `nbb-boot-${process.pid}`;
    must(["ip", "netns", "add", ns]);
    tapInNetns(ns, "tapb0", "10.254.77.1/30");
    const tscKhz = parseProbe(sh(["sh", "-c", PROBE_SCRIPT]).stdout).tscKhz;
    const variants = [
        ["debian", deb, debImg, undefined],
        ["minimal", min, minImg, undefined],
        ...(tscKhz ? [["minimal on microvm", min, minImg, { machine: "microvm" as const, tscKhz }] as const] : []),
    ] as const;
    const res = Object.fromEntries(variants.map(([name]) => [name, { uptime: [] as number[], wall: [] as number[], rssMiB: [] as number[] }]));
    try {
        for (let i = 0; i < runs; i++) {
            for (const [name, k, img, machine] of variants) {
                const g = await boot({
                    ns,
                    kernel: k.path,
                    initrd: img.path,
                    tap: "tapb0",
                    nic: { mac: "02:00:00:00:77:02", address: "10.254.77.2/30" },
                    ...machine,
                });
                const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${g.pid}/status`, "utf8"));
                res[name].uptime.push(g.ready.uptime);
                res[name].wall.push(g.wallMs / 1000);
                res[name].rssMiB.push(rss ? Number(rss[1]) / 1024 : NaN);
                await g.stop();
            }
        }
    } finally {
        dropNetns(ns);
    }
    for (const [name, r] of Object.entries(res)) {
        console.log(
            `${name}: readiness at guest uptime median ${median(r.uptime).toFixed(2)} s [${r.uptime.join(", ")}], wall median ${median(r.wall).toFixed(1)} s [${r.wall.map((x) => x.toFixed(1)).join(", ")}], QEMU RSS idle median ${median(r.rssMiB).toFixed(0)} MiB (256 MiB guest)`,
        );
    }
    const medians = Object.fromEntries(Object.entries(res).map(([k, r]) => [k, { uptime: median(r.uptime), wall: median(r.wall), rssMiB: median(r.rssMiB) }]));
    return {
        runs,
        accel: "tcg",
        kernels: { debian: deb.release, minimal: min.release },
        images: { withModules: debImg.size, minimal: minImg.size },
        medians,
        results: res,
    };
}
