// Fabric provisioning: `pulumi up` / `pulumi destroy` of a host, a bridge and N taps, against a
// plain sequential script issuing the same ip commands, measured side by side in one run.
// Run: npm run bench -- fabric   (prints a table and a JSON summary line)
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { openStack } from "../scripts/engine";
import { machine } from "./machine";

function ip(args: string[]): void {
    const r = spawnSync("ip", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

/** The same kernel work netbed does for the stack, as a plain script would do it (no observation). */
function rawScript(ns: string, n: number): { upMs: number; downMs: number } {
    const t0 = Date.now();
    ip(["netns", "add", ns]);
    ip(["-n", ns, "link", "set", "lo", "up"]);
    ip(["-n", ns, "link", "add", "name", "br0", "type", "bridge", "stp_state", "0"]);
    ip(["-n", ns, "link", "set", "br0", "up"]);
    for (let i = 0; i < n; i++) {
        ip(["-n", ns, "tuntap", "add", "dev", `tap${i}`, "mode", "tap", "vnet_hdr"]);
        ip(["-n", ns, "link", "set", "dev", `tap${i}`, "master", "br0", "up"]);
    }
    const upMs = Date.now() - t0;
    const t1 = Date.now();
    for (let i = 0; i < n; i++) ip(["-n", ns, "link", "del", `tap${i}`]);
    ip(["-n", ns, "link", "del", "br0"]);
    ip(["netns", "del", ns]);
    return { upMs, downMs: Date.now() - t1 };
}

async function netbed(ns: string, n: number, backend: string): Promise<{ upMs: number; noopMs: number; downMs: number }> {
    process.env.PULUMI_BACKEND_URL = `file://${backend}`;
    process.env.PULUMI_CONFIG_PASSPHRASE = "bench";
    const dir = path.join(__dirname, "fixtures", "taps");
    const name = `b${n}x${process.pid}`;
    const stack = await openStack({ stack: name, dir });
    try {
        await stack.setConfig("namespace", { value: ns });
        await stack.setConfig("taps", { value: String(n) });
        const t0 = Date.now();
        await stack.up({ color: "never" });
        const upMs = Date.now() - t0;
        const t1 = Date.now();
        await stack.up({ color: "never" });
        const noopMs = Date.now() - t1;
        const t2 = Date.now();
        await stack.destroy({ color: "never" });
        const downMs = Date.now() - t2;
        await stack.workspace.removeStack(name);
        return { upMs, noopMs, downMs };
    } finally {
        fs.rmSync(path.join(dir, `Pulumi.${name}.yaml`), { force: true });
        spawnSync("ip", ["netns", "del", ns]);
    }
}

export async function main(sizes = [8, 16, 32, 64]): Promise<Record<string, unknown>> {
    const backend = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-bench-"));
    const rows: Record<string, number>[] = [];
    console.log(machine());
    try {
        for (const n of sizes) {
            const raw = rawScript(`nbb-raw-${process.pid}`, n);
            const nb = await netbed(`nbb-nb-${process.pid}`, n, backend);
            rows.push({ taps: n, resources: n + 2, netbedUpMs: nb.upMs, netbedNoopUpMs: nb.noopMs, netbedDestroyMs: nb.downMs, rawUpMs: raw.upMs, rawDestroyMs: raw.downMs, upRatio: +(nb.upMs / raw.upMs).toFixed(1) });
            const r = rows[rows.length - 1];
            console.log(`taps=${n}: netbed up ${(r.netbedUpMs / 1000).toFixed(1)} s (no-op up ${(r.netbedNoopUpMs / 1000).toFixed(1)} s), destroy ${(r.netbedDestroyMs / 1000).toFixed(1)} s; raw script up ${r.rawUpMs} ms, teardown ${r.rawDestroyMs} ms`);
        }
    } finally {
        fs.rmSync(backend, { recursive: true, force: true });
    }
    const first = rows[0];
    const last = rows[rows.length - 1];
    const growth = (last.netbedUpMs - first.netbedUpMs) / (last.taps - first.taps);
    const rawGrowth = (last.rawUpMs - first.rawUpMs) / (last.taps - first.taps);
    console.log(`netbed up grows ${growth.toFixed(0)} ms per extra tap between ${first.taps} and ${last.taps} taps (x${(last.netbedUpMs / first.netbedUpMs).toFixed(2)} time for x${last.taps / first.taps} taps); the raw script ${rawGrowth.toFixed(1)} ms per tap`);
    console.log(`at ${last.taps} taps netbed's up is ${(last.netbedUpMs / last.rawUpMs).toFixed(1)} x the raw script (target <= 2); netbed's up minus its no-op up (the engine's fixed cost) is ${((last.netbedUpMs - last.netbedNoopUpMs) / last.rawUpMs).toFixed(1)} x`);
    return { rows, msPerExtraTap: growth, rawMsPerExtraTap: rawGrowth };
}
