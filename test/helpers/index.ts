// Test fixtures that create real kernel objects, each removed by the test that made it.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT } from "../../scripts/engine";

export function sh(argv: string[], input?: string): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(argv[0], argv.slice(1), { input, encoding: "utf8" });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

export function must(argv: string[], input?: string): string {
    const r = sh(argv, input);
    if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
}

export function netnsList(): string[] {
    return must(["ip", "netns", "list"])
        .split("\n")
        .map((l) => l.split(" ")[0])
        .filter(Boolean);
}

/** A short unique suffix, so parallel or leftover runs never collide on names. */
export function uniq(): string {
    return `${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`.slice(-7);
}

/**
 * The first three octets of a /24 under `prefix` (e.g. "10.250") that nothing on this machine's
 * own network stack addresses or routes yet, so tests running at once take different ones.
 */
export function freeSubnet(prefix: string): string {
    const used = must(["ip", "-4", "-o", "addr"]) + must(["ip", "-4", "route"]);
    const start = Math.floor(Math.random() * 200);
    for (let i = 0; i < 200; i++) {
        const subnet = `${prefix}.${20 + ((start + i) % 200)}`;
        if (!used.includes(`${subnet}.`)) return subnet;
    }
    throw new Error(`no free /24 under ${prefix}.20-219 on this machine`);
}

export function isRoot(): boolean {
    return process.getuid?.() === 0;
}

/** Removes a test namespace and netbed's records for it (after a failed test that skipped destroy). */
export function dropNetns(ns: string): void {
    // VMMs a failed test left behind there: their pid files are netbed's own records.
    const vms = `/run/netbed/vms/netns-${ns}`;
    if (fs.existsSync(vms)) {
        for (const vm of fs.readdirSync(vms)) {
            const pidFile = `${vms}/${vm}/pid`;
            const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8").trim()) : NaN;
            if (pid > 1 && fs.existsSync(`/proc/${pid}/comm`) && fs.readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("qemu")) process.kill(pid, "SIGKILL");
        }
    }
    sh(["ip", "netns", "del", ns]);
    sh(["rm", "-rf", "--", `/run/netbed/owned/netns-${ns}`, `/run/netbed/owned/links/netns-${ns}`, `/run/netbed/dev/netns-${ns}`, vms]);
}

/** A TCP server on an ephemeral loopback port that closes every connection (a connect target). */
export function listen(): Promise<net.Server> {
    return new Promise((resolve, reject) => {
        const s = net.createServer((c) => c.destroy());
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => resolve(s));
    });
}
export const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

/**
 * Points the engine at a fresh file backend with a test passphrase for the enclosing describe
 * block (mocha hooks), and puts the environment back after it. Returns the backend directory.
 */
export function tempBackend(): () => string {
    const saved = { ...process.env };
    let dir = "";
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-state-"));
        process.env.PULUMI_BACKEND_URL = `file://${dir}`;
        process.env.PULUMI_CONFIG_PASSPHRASE = "test";
    });
    after(() => {
        fs.rmSync(dir, { recursive: true, force: true });
        process.env = saved;
    });
    return () => dir;
}

/** A project whose program is the default one (stacks/index.ts), with this checkout's provider. */
export function writeDefaultProject(dir: string): void {
    const yaml = [
        "name: testbed",
        "runtime: nodejs",
        `main: ${path.join(ROOT, "stacks", "index.ts")}`,
        "stackConfigDir: stacks",
        "plugins:",
        "  providers:",
        "    - name: netbed",
        `      path: ${path.join(ROOT, "plugin")}`,
        "",
    ];
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml.join("\n"));
}
