// The guest agent's protocol (pure): request framing, the program rules, the reply reader that
// skips greetings and stale replies, the key's cpio archive, and the VMM argv for the port.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AGENT_MAX_REPLY_BYTES, AGENT_SCRIPT, AgentReplyReader, agentArgvProblem, agentRequest } from "../../../core/agent";
import { floodArgv, iperf3Argv, netperfArgv, pingArgv, sockperfArgv } from "../../../core/bench/parse";
import { newcArchive } from "../../../core/cpio";
import { qemuArgv } from "../../../core/qemu";
import { DRIVER_MODELS } from "../../../core/vmm";
import type { VmSpec } from "../../../core/vmspec";
import { microvmHandler } from "../../../providers/resources/microvm";
import { keyPaths } from "../../../providers/runtime/provider";
import { MicroVmArgsSchema, guestServers } from "../../../schema/microvm";
import { sh } from "../../helpers";

const KEY = "ab".repeat(32);
const ID = "0123456789abcdef";

describe("guest agent protocol (pure)", () => {
    it("frames a request with its id and key, one argv word per line", () => {
        assert.equal(agentRequest(ID, KEY, ["iperf3", "-c", "10.0.0.1", "-J"], 7), `NETBED-AGENT/2 ${ID} ${KEY} 7\niperf3\n-c\n10.0.0.1\n-J\n\n`);
        assert.throws(() => agentRequest("x", KEY, ["uptime"], 5), /id/);
        assert.throws(() => agentRequest(ID, "short", ["uptime"], 5), /agentKey/);
        assert.throws(() => agentRequest(ID, KEY, ["uptime"], 0.5), /whole number/);
    });

    it("allows exactly the client argv netbed renders", () => {
        const sent = [
            iperf3Argv({ server: "10.0.0.1", port: 5201, duration: 5, parallel: 4, reverse: true, udp: true, bitrate: "1G", length: 1400 }),
            iperf3Argv({ server: "fd00::1", port: 5201, duration: 5, bidir: true }),
            sockperfArgv({ mode: "ping-pong", server: "10.0.0.1", port: 11111, duration: 5, tcp: true, messageSize: 64 }),
            sockperfArgv({ mode: "under-load", server: "10.0.0.1", port: 11111, duration: 5, mps: 1000 }),
            netperfArgv({ server: "10.0.0.1", port: 12865, duration: 5, test: "TCP_RR", requestSize: 1, responseSize: 1 }),
            netperfArgv({ server: "10.0.0.1", port: 12865, duration: 5, transactions: 1000, test: "TCP_CRR", requestSize: 1, responseSize: 1 }),
            pingArgv({ target: "10.0.0.1", count: 10, interval: 0.2, size: 56 }),
            floodArgv({ target: "10.0.0.1", count: 1000, rate: 500, size: 56 }),
            ["uptime"],
        ];
        for (const argv of sent) assert.equal(agentArgvProblem(argv), undefined, argv.join(" "));
    });

    it("refuses files, servers, daemons and other programs", () => {
        const refused: [string[], RegExp][] = [
            [["cat", "/etc/shadow"], /runs only/],
            [["sh", "-c", "id"], /runs only/],
            [["iperf3", "-s"], /-s is not one/],
            [["iperf3", "-c", "10.0.0.1", "-F", "payload"], /-F is not one/],
            [["iperf3", "-c", "10.0.0.1", "-F", "/bin/netbed-agent"], /character/],
            [["iperf3", "-c", "10.0.0.1", "--logfile", "x"], /--logfile/],
            [["iperf3", "-c", "10.0.0.1", "-D"], /-D/],
            [["iperf3", "-c", "10.0.0.1", "--pidfile", "x"], /--pidfile/],
            [["sockperf", "server", "-p", "1"], /ping-pong or under-load/],
            [["netperf", "-H", "10.0.0.1", "-a", "x"], /-a is not one/],
            [["ping", "-c", "1", "a", "b"], /no argument 'b'/],
            [["uptime", "x"], /no argument/],
            [["iperf3", "-c", "10.0.0.1/../x"], /character/],
            [["iperf3", "-c", "a b"], /character/],
            [["iperf3", "-c"], /needs a value/],
        ];
        for (const [argv, why] of refused) {
            assert.match(agentArgvProblem(argv) ?? "", why, argv.join(" "));
            assert.throws(() => agentRequest(ID, KEY, argv, 5), why);
        }
    });

    it("the agent script applies the same rules (busybox sh, run on this host)", () => {
        const busybox = ["/bin/busybox", "/usr/bin/busybox"].find((p) => fs.existsSync(p));
        if (!busybox) return;
        // The script's rule check alone: its table, its function, then one call.
        const rules = AGENT_SCRIPT.slice(AGENT_SCRIPT.indexOf("allowed() {"), AGENT_SCRIPT.indexOf("refuse() {"));
        const check = (argv: string[]) => spawnSync(busybox, ["sh", "-c", `${rules}\nallowed "$@"`, "sh", ...argv]).status;
        assert.equal(check(iperf3Argv({ server: "10.0.0.1", port: 5201, duration: 5, reverse: true })), 0);
        assert.equal(check(sockperfArgv({ mode: "ping-pong", server: "10.0.0.1", port: 1, duration: 5, tcp: true })), 0);
        assert.equal(check(netperfArgv({ server: "10.0.0.1", port: 1, duration: 5, test: "TCP_RR", requestSize: 1, responseSize: 1 })), 0);
        assert.equal(check(floodArgv({ target: "10.0.0.1", count: 10, rate: 10, size: 56 })), 0);
        assert.equal(check(["uptime"]), 0);
        for (const bad of [
            ["cat", "/etc/passwd"],
            ["iperf3", "-s"],
            ["iperf3", "-c", "x", "-F", "y"],
            ["sockperf", "server"],
            ["ping", "a", "b"],
            ["iperf3", "-c", "*"],
        ]) {
            assert.notEqual(check(bad), 0, bad.join(" "));
        }
        assert.equal(sh([busybox, "sh", "-n"], AGENT_SCRIPT).code, 0);
    });

    it("reads the reply for its own id only: greetings and a stale reply before it are skipped", () => {
        const r = new AgentReplyReader(ID);
        const stale = "NETBED-AGENT/2 ffffffffffffffff rc=0 out=12 err=0\nstale output";
        assert.equal(r.push(Buffer.from(`NETBED-AGENT/2 ready\n${stale}NETBED-AGENT/2 ready\nNETBED-AGENT/2 ${ID} rc=3 out=5 err=2\nhel`)), undefined);
        assert.deepEqual(r.push(Buffer.from("loE!")), { code: 3, stdout: "hello", stderr: "E!" });
        // Byte by byte, the header split anywhere.
        const whole = Buffer.from(`NETBED-AGENT/2 ready\nNETBED-AGENT/2 ${ID} rc=0 out=2 err=0\nok`);
        const r2 = new AgentReplyReader(ID);
        let got: unknown;
        for (const b of whole) got = r2.push(Buffer.from([b])) ?? got;
        assert.deepEqual(got, { code: 0, stdout: "ok", stderr: "" });
        // A large body in many chunks (joined once, not once per chunk).
        const r3 = new AgentReplyReader(ID);
        assert.equal(r3.push(Buffer.from(`NETBED-AGENT/2 ${ID} rc=0 out=${16 << 20} err=0\n`)), undefined);
        let big: ReturnType<AgentReplyReader["push"]>;
        for (let k = 0; k < 256; k++) big = r3.push(Buffer.alloc(1 << 16, 0x61));
        assert.equal(big?.stdout.length, 16 << 20);
    });

    it("turns a refusal into an error and bounds the reply", () => {
        const r = new AgentReplyReader(ID);
        assert.throws(() => r.push(Buffer.from(`NETBED-AGENT/2 ${ID} refused 9\nwrong key`)), /refused the request: wrong key/);
        assert.throws(() => new AgentReplyReader(ID).push(Buffer.from(`NETBED-AGENT/2 ${ID} rc=0 out=${AGENT_MAX_REPLY_BYTES} err=1\n`)), /more than/);
        assert.throws(() => new AgentReplyReader(ID).push(Buffer.from(`NETBED-AGENT/2 ${ID} what\n`)), /malformed/);
        // Garbage without the header is not kept.
        const g = new AgentReplyReader(ID);
        for (let k = 0; k < 100; k++) assert.equal(g.push(Buffer.alloc(1 << 16, 0x41)), undefined);
        assert.ok((g as unknown as { scan: Buffer }).scan.length < 100);
    });

    it("writes a newc archive that cpio reads, aligned after the bytes before it", () => {
        const archive = newcArchive([{ name: "netbed-agent.key", mode: 0o400, data: `${KEY}\n` }], 7);
        assert.deepEqual([...archive.subarray(0, 1)], [0]);
        assert.equal(archive.subarray(1, 7).toString(), "070701");
        assert.equal(archive.length % 4, 1);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nbt-cpio-"));
        try {
            const r = spawnSync("cpio", ["-i", "--quiet", "--no-absolute-filenames"], { cwd: dir, input: archive.subarray(1) });
            assert.equal(r.status, 0, String(r.stderr));
            assert.equal(fs.readFileSync(path.join(dir, "netbed-agent.key"), "utf8"), `${KEY}\n`);
            assert.equal(fs.statSync(path.join(dir, "netbed-agent.key")).mode & 0o777, 0o400);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.throws(() => newcArchive([{ name: "../x", mode: 0o600, data: "" }]), /relative path/);
    });

    it("QEMU gets a virtio-serial port named for the agent on a socket in the run directory", () => {
        const spec: VmSpec = {
            driver: "qemu",
            binary: "qemu-system-x86_64",
            machine: "q35",
            accel: "tcg",
            vcpus: 1,
            memoryMiB: 256,
            kernel: "/k",
            image: "/i",
            initrdPath: "/run/vm/initrd",
            cmdline: [],
            nics: [],
            dir: "/run/vm",
            name: "vm",
            agent: true,
        };
        const launch = DRIVER_MODELS.qemu.render(spec);
        assert.equal(launch.agent, "/run/vm/agent.sock");
        const a = launch.argv.join(" ");
        assert.match(
            a,
            /-device virtio-serial-pci -chardev socket,id=agent,path=\/run\/vm\/agent\.sock,server=on,wait=off -device virtserialport,chardev=agent,name=netbed\.agent/,
        );
        assert.match(DRIVER_MODELS.qemu.render({ ...spec, machine: "microvm", tscKhz: 2000000 }).argv.join(" "), /-device virtio-serial-device /);
        const none = DRIVER_MODELS.qemu.render({ ...spec, agent: false });
        assert.equal(none.agent, undefined);
        assert.ok(!none.argv.join(" ").includes("virtserialport"));
        assert.throws(
            () => qemuArgv({ accel: "tcg", vcpus: 1, memoryMiB: 64, kernel: "/k", initrdPath: "/i", cmdline: [], nics: [], agentSocket: "/a,b" }),
            /cannot appear/,
        );
    });

    it("the key is a secret wherever it rides: a MicroVm's output, a BenchmarkRun's endpoints", () => {
        assert.deepEqual(microvmHandler.secretPaths, [["agentKey"]]);
        const pairs = [{ client: { kind: "vm", agent: { socket: "/run/vm/agent.sock", key: KEY } }, server: { kind: "host" } }];
        assert.deepEqual(keyPaths({ pairs }), [["pairs", 0, "client", "agent", "key"]]);
    });

    it("other drivers run no agent by default and refuse one asked for", () => {
        const base = {
            host: { kind: "local", name: "me" },
            kernel: "/k",
            image: "/i",
            nics: [{ backend: "virtio", tap: "tap0", address: "10.0.0.2/24" }],
        };
        assert.deepEqual(guestServers(MicroVmArgsSchema.parse(base)), ["iperf3", "sockperf", "netserver", "agent"]);
        assert.deepEqual(guestServers(MicroVmArgsSchema.parse({ ...base, driver: "cloud-hypervisor" })), ["iperf3", "sockperf", "netserver"]);
        const r = MicroVmArgsSchema.safeParse({ ...base, driver: "firecracker", servers: ["iperf3", "agent"] });
        assert.ok(!r.success);
        assert.match(JSON.stringify(r.error.issues.find((i) => i.path[0] === "servers")), /virtio-serial port .* driver 'firecracker'.*drop 'agent'/);
    });
});
