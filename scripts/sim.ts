// `netbed sim up|down|status|reboot|stack`: simulated lab machines on this machine, to try the SSH
// hardware path without hardware. A machine is a network namespace with a private mount namespace
// (netbed's machine-local directories are its own) and its own sshd and host key, reached over a
// management veth; its NICs sit on shared segments (bridges in one lab namespace).
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fingerprintOfPublicKeyLine } from "../core/fingerprint";
import { identityOf } from "../core/procstat";
import { sleep } from "../core/sleep";
import {
    AGENT_SOCKET,
    BOOT_SCRIPT,
    E2288G_ADDRESSES,
    LAB_NS,
    MAX_MACHINES,
    MAX_NICS,
    SIM_DISK_DIR,
    SIM_RUN_DIR,
    type SimMachine,
    labPort,
    parseAddressFlag,
    planMachine,
    segmentBridge,
    simE2288g,
    sshdConfig,
} from "../core/sim";

const RECORD = `${SIM_RUN_DIR}/lab.json`;
const OPERATOR_KEY = `${SIM_DISK_DIR}/operator/id_ed25519`;

/** A process this tool started, known by pid and start time (a reused pid is not ours). */
interface Proc {
    pid: number;
    start: string;
}

interface MachineRecord extends SimMachine {
    init?: Proc;
    sshd?: Proc;
    addresses: { nic: string; cidr: string }[];
    fingerprint: string;
}

interface LabRecord {
    nics: number;
    machines: MachineRecord[];
    agent?: Proc;
}

function run(argv: string[], input?: string): string {
    const r = spawnSync(argv[0], argv.slice(1), { input, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
}

function tryRun(argv: string[]): boolean {
    return spawnSync(argv[0], argv.slice(1), { stdio: "ignore" }).status === 0;
}

/** A live process's start time; undefined once it has exited (a zombie not yet reaped has too). */
function startTime(pid: number): string | undefined {
    try {
        return identityOf(fs.readFileSync(`/proc/${pid}/stat`, "utf8"))?.start;
    } catch {
        return undefined;
    }
}

function commOf(pid: number): string | undefined {
    try {
        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
        return undefined;
    }
}

function alive(p: Proc | undefined): boolean {
    return p !== undefined && startTime(p.pid) === p.start;
}

function kill(p: Proc | undefined): void {
    if (alive(p)) process.kill(p!.pid, "SIGKILL");
}

async function waitFor(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!ok()) {
        if (Date.now() > deadline) throw new Error(`sim: ${what} did not happen within ${ms / 1000} s`);
        await sleep(50);
    }
}

/** Starts a long-lived process detached from this one, its output in `log`. */
function daemon(argv: string[], log: string, env?: NodeJS.ProcessEnv): Proc {
    const fd = fs.openSync(log, "a");
    const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ["ignore", fd, fd], env: env ?? process.env });
    fs.closeSync(fd);
    child.unref();
    const start = startTime(child.pid!);
    if (!start) throw new Error(`sim: ${argv.join(" ")} exited at once (see ${log})`);
    return { pid: child.pid!, start };
}

function readRecord(): LabRecord | undefined {
    return fs.existsSync(RECORD) ? (JSON.parse(fs.readFileSync(RECORD, "utf8")) as LabRecord) : undefined;
}

function writeRecord(r: LabRecord): void {
    fs.mkdirSync(SIM_RUN_DIR, { recursive: true, mode: 0o700 });
    fs.writeFileSync(`${RECORD}.tmp`, JSON.stringify(r, null, 2));
    fs.renameSync(`${RECORD}.tmp`, RECORD);
}

function netnsNames(): string[] {
    return run(["ip", "netns", "list"])
        .split("\n")
        .map((l) => l.split(" ")[0])
        .filter(Boolean);
}

function diskOf(m: SimMachine): string {
    return `${SIM_DISK_DIR}/${m.name}`;
}

/** The machine's disk: host key, sshd config, authorized operator key (kept across down/up, so fingerprints stay). */
function ensureDisk(m: SimMachine): string {
    const disk = diskOf(m);
    fs.mkdirSync(`${disk}/cache`, { recursive: true, mode: 0o700 });
    if (!fs.existsSync(`${disk}/ssh_host_ed25519_key`))
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `netbed-sim ${m.name}`, "-f", `${disk}/ssh_host_ed25519_key`]);
    fs.copyFileSync(`${OPERATOR_KEY}.pub`, `${disk}/authorized_keys`);
    fs.writeFileSync(`${disk}/sshd_config`, sshdConfig(m, disk));
    return fingerprintOfPublicKeyLine(fs.readFileSync(`${disk}/ssh_host_ed25519_key.pub`, "utf8"));
}

function createLab(nics: number): void {
    run(["ip", "netns", "add", LAB_NS]);
    run(["ip", "-n", LAB_NS, "link", "set", "lo", "up"]);
    for (let i = 0; i < nics; i++) {
        run(["ip", "-n", LAB_NS, "link", "add", segmentBridge(i), "type", "bridge"]);
        run(["ip", "-n", LAB_NS, "link", "set", segmentBridge(i), "up"]);
    }
}

function createMachineNet(m: MachineRecord): void {
    run(["ip", "netns", "add", m.namespace]);
    run(["ip", "-n", m.namespace, "link", "set", "lo", "up"]);
    run(["ip", "link", "add", m.mgmtLink, "type", "veth", "peer", "name", "mgmt0", "netns", m.namespace]);
    run(["ip", "addr", "add", `${m.operatorAddress}/30`, "dev", m.mgmtLink]);
    run(["ip", "link", "set", m.mgmtLink, "up"]);
    run(["ip", "-n", m.namespace, "addr", "add", `${m.address}/30`, "dev", "mgmt0"]);
    run(["ip", "-n", m.namespace, "link", "set", "mgmt0", "up"]);
    m.nics.forEach((nic, i) => {
        run(["ip", "-n", m.namespace, "link", "add", nic, "type", "veth", "peer", "name", labPort(m, i), "netns", LAB_NS]);
        run(["ip", "-n", LAB_NS, "link", "set", labPort(m, i), "master", segmentBridge(i), "up"]);
    });
    resetNics(m);
}

/** The NICs as the machine configures them at boot: up, not enslaved, with the configured addresses. */
function resetNics(m: MachineRecord): void {
    for (const nic of m.nics) {
        run(["ip", "-n", m.namespace, "link", "set", nic, "nomaster"]);
        run(["ip", "-n", m.namespace, "addr", "flush", "dev", nic]);
        run(["ip", "-n", m.namespace, "link", "set", nic, "up"]);
    }
    for (const a of m.addresses) run(["ip", "-n", m.namespace, "addr", "add", a.cidr, "dev", a.nic]);
}

/** Boots the machine (a fresh mount namespace: empty /run/netbed and /tmp) unless it is running. */
async function boot(m: MachineRecord): Promise<void> {
    const disk = diskOf(m);
    if (!alive(m.init)) {
        kill(m.sshd);
        m.init = daemon(
            ["ip", "netns", "exec", m.namespace, "unshare", "--mount", "--uts", "--propagation", "private", "--", "sh", "-c", BOOT_SCRIPT, "sh", disk, m.name],
            `${disk}/init.log`,
        );
        // The boot script ends in `sleep infinity` once the mounts are made.
        await waitFor(`${m.name}'s boot (see ${disk}/init.log)`, () => commOf(m.init!.pid) === "sleep");
    }
    if (!alive(m.sshd)) {
        fs.mkdirSync("/run/sshd", { recursive: true });
        m.sshd = daemon(
            ["nsenter", "-t", String(m.init!.pid), "-m", "-u", "-n", "--", "/usr/sbin/sshd", "-D", "-e", "-f", `${disk}/sshd_config`],
            `${disk}/sshd.log`,
        );
        await waitFor(`${m.name}'s sshd listening on ${m.address}:22 (see ${disk}/sshd.log)`, () => portOpen(m));
    }
}

function portOpen(m: SimMachine): boolean {
    const r = spawnSync("ip", ["netns", "exec", m.namespace, "ss", "-Hltn", `src ${m.address}:22`], { encoding: "utf8" });
    return r.status === 0 && r.stdout.trim().length > 0;
}

async function ensureAgent(rec: LabRecord): Promise<void> {
    if (alive(rec.agent)) return;
    fs.rmSync(AGENT_SOCKET, { force: true });
    rec.agent = daemon(["ssh-agent", "-D", "-a", AGENT_SOCKET], `${SIM_RUN_DIR}/agent.log`);
    await waitFor("ssh-agent's socket", () => fs.existsSync(AGENT_SOCKET));
    const r = spawnSync("ssh-add", ["-q", OPERATOR_KEY], { env: { ...process.env, SSH_AUTH_SOCK: AGENT_SOCKET }, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`sim: ssh-add ${OPERATOR_KEY} failed: ${r.stderr.trim()}`);
}

function parseFlags(argv: string[]): { machines: number; nics: number; addresses: string[]; wipe: boolean; short: boolean; positional: string[] } {
    const out = { machines: 2, nics: 2, addresses: [] as string[], wipe: false, short: false, positional: [] as string[] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--machines") out.machines = Number(argv[++i]);
        else if (a === "--nics") out.nics = Number(argv[++i]);
        else if (a === "--address") out.addresses.push(argv[++i] ?? "");
        else if (a === "--e2288g") out.addresses.push(...E2288G_ADDRESSES);
        else if (a === "--wipe") out.wipe = true;
        else if (a === "--short") out.short = true;
        else if (a.startsWith("--")) throw new Error(`sim: unknown option '${a}'`);
        else out.positional.push(a);
    }
    if (!Number.isInteger(out.machines) || out.machines < 1 || out.machines > MAX_MACHINES) throw new Error(`sim: --machines must be 1-${MAX_MACHINES}`);
    if (!Number.isInteger(out.nics) || out.nics < 1 || out.nics > MAX_NICS) throw new Error(`sim: --nics must be 1-${MAX_NICS}`);
    return out;
}

function plan(machines: number, nics: number, flags: string[]): MachineRecord[] {
    const ms: MachineRecord[] = Array.from({ length: machines }, (_, i) => ({ ...planMachine(i + 1, nics), addresses: [], fingerprint: "" }));
    for (const f of flags) {
        const a = parseAddressFlag(f, machines, nics);
        if (typeof a === "string") throw new Error(`sim: --address ${a}`);
        ms.find((m) => m.name === a.machine)!.addresses.push({ nic: a.nic, cidr: a.cidr });
    }
    return ms;
}

async function up(flags: ReturnType<typeof parseFlags>): Promise<void> {
    let rec = readRecord();
    const wanted = plan(flags.machines, flags.nics, flags.addresses);
    if (
        rec &&
        (rec.machines.length !== flags.machines ||
            rec.nics !== flags.nics ||
            JSON.stringify(rec.machines.map((m) => m.addresses)) !== JSON.stringify(wanted.map((m) => m.addresses)))
    ) {
        throw new Error(`sim: a lab of ${rec.machines.length} machine(s) with other settings is up: 'netbed sim down' first`);
    }
    if (!rec) {
        const names = [LAB_NS, ...wanted.map((m) => m.namespace)];
        const clash = names.filter((n) => netnsNames().includes(n));
        if (clash.length)
            throw new Error(
                `sim: namespace(s) ${clash.join(", ")} exist but the simulation has no record of making them; not touching them (remove them yourself if they are leftovers)`,
            );
        if (!fs.existsSync(OPERATOR_KEY)) {
            fs.mkdirSync(path.dirname(OPERATOR_KEY), { recursive: true, mode: 0o700 });
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "netbed-sim operator", "-f", OPERATOR_KEY]);
        }
        rec = { nics: flags.nics, machines: wanted };
        writeRecord(rec); // before creating anything, so `down` always knows what may exist
        createLab(flags.nics);
        for (const m of rec.machines) {
            m.fingerprint = ensureDisk(m);
            createMachineNet(m);
            writeRecord(rec);
        }
    }
    for (const m of rec.machines) {
        await boot(m);
        writeRecord(rec);
    }
    await ensureAgent(rec);
    writeRecord(rec);
    status(rec);
}

/** A reboot: every process of the machine ends, its tmpfs directories empty, links netbed made vanish, NICs reset. */
async function reboot(name: string): Promise<void> {
    const rec = readRecord();
    const m = rec?.machines.find((x) => x.name === name);
    if (!rec || !m) throw new Error(`sim: no simulated machine '${name}' is up`);
    for (const pid of run(["ip", "netns", "pids", m.namespace]).split("\n").filter(Boolean)) tryRun(["kill", "-KILL", pid]);
    await waitFor(`${name}'s processes to end`, () => run(["ip", "netns", "pids", m.namespace]).trim() === "");
    const keep = new Set(["lo", "mgmt0", ...m.nics]);
    for (const link of run(["ip", "-n", m.namespace, "-o", "link", "show"])
        .split("\n")
        .map((l) => l.split(": ")[1]?.split("@")[0])
        .filter(Boolean)) {
        if (!keep.has(link)) tryRun(["ip", "-n", m.namespace, "link", "del", link]);
    }
    resetNics(m);
    m.init = undefined;
    m.sshd = undefined;
    await boot(m);
    writeRecord(rec);
    console.log(`sim: ${name} rebooted`);
}

function down(wipe: boolean): void {
    const rec = readRecord();
    if (rec) {
        for (const m of rec.machines) {
            if (netnsNames().includes(m.namespace)) {
                for (const pid of run(["ip", "netns", "pids", m.namespace]).split("\n").filter(Boolean)) tryRun(["kill", "-KILL", pid]);
                tryRun(["ip", "netns", "del", m.namespace]);
            }
            kill(m.init);
            kill(m.sshd);
            tryRun(["ip", "link", "del", m.mgmtLink]);
        }
        if (netnsNames().includes(LAB_NS)) tryRun(["ip", "netns", "del", LAB_NS]);
        kill(rec.agent);
        fs.rmSync(SIM_RUN_DIR, { recursive: true, force: true });
        console.log(`sim: removed ${rec.machines.length} machine(s) and the lab`);
    } else console.log("sim: no simulated lab is up");
    if (wipe) {
        fs.rmSync(SIM_DISK_DIR, { recursive: true, force: true });
        console.log(`sim: removed the machines' disks (${SIM_DISK_DIR})`);
    }
}

function status(rec = readRecord()): void {
    if (!rec) {
        console.log("sim: no simulated lab is up");
        return;
    }
    for (const m of rec.machines) {
        const state = alive(m.sshd) ? "up" : alive(m.init) ? "sshd down" : "off";
        const addrs = m.addresses.map((a) => `${a.nic} ${a.cidr}`).join(", ") || "unaddressed";
        console.log(`${m.name}  ${state}  ssh root@${m.address}  hostKeyFingerprint: ${m.fingerprint}  NICs ${m.nics.join(", ")} (${addrs})`);
    }
    console.log(`SSH agent with the operator key: ${AGENT_SOCKET} (ssh.agent: ${AGENT_SOCKET})`);
}

/**
 * The sim-e2288g stack file: the xeon-e2288g one (the source of truth) with only what this machine
 * cannot have changed, for the simulated machines that are up. `keepVhost` keeps the vhost-net
 * guest (to see a preview refuse it).
 */
export function simStackYaml(root: string, opts: { short?: boolean; keepVhost?: boolean } = {}): string {
    const rec = readRecord();
    if (!rec || rec.machines.length < 2) throw new Error("sim: the sim-e2288g stack needs two machines: 'netbed sim up --e2288g' first");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const yaml = require("js-yaml");
    const xeon = yaml.load(fs.readFileSync(path.join(root, "stacks/Pulumi.xeon-e2288g.yaml"), "utf8"));
    const { config, dropped } = simE2288g(xeon.config, Object.fromEntries(rec.machines.map((m) => [m.name, m.fingerprint])), opts);
    const head = [
        "# Generated by `netbed sim stack` from Pulumi.xeon-e2288g.yaml (the source of truth) for the simulated",
        "# machines of this checkout's host: m1 is the server, m2 the client. Changed from the xeon file:",
        "# addresses and host keys of the simulated machines, TCG guests sized for 2 cores, the minimal kernel,",
        "# shorter cells. Left out:",
        ...dropped.map((d) => `#   - ${d}`),
    ];
    return `${head.join("\n")}\n${yaml.dump({ config }, { lineWidth: 200 })}`;
}

export async function main(argv: string[], root: string): Promise<void> {
    if (process.getuid?.() !== 0) throw new Error("sim: run as root (it creates network namespaces)");
    const [cmd, ...rest] = argv;
    const flags = parseFlags(rest);
    switch (cmd) {
        case "up":
            return up(flags);
        case "down":
            return down(flags.wipe);
        case "status":
            return status();
        case "reboot":
            return reboot(flags.positional[0] ?? "");
        case "stack": {
            const file = path.join(root, "stacks/Pulumi.sim-e2288g.yaml");
            fs.writeFileSync(file, simStackYaml(root, { short: flags.short }));
            console.log(`sim: wrote ${file}`);
            return;
        }
        default:
            throw new Error(
                "usage: netbed sim up [--machines N] [--nics K] [--address M:NIC=CIDR ... | --e2288g] | down [--wipe] | status | reboot MACHINE | stack [--short]",
            );
    }
}
