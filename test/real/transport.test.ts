// The three transports against real targets: this machine, a network namespace, and a real
// OpenSSH sshd running inside a namespace the test creates (reached over a veth the test owns).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fingerprintOfPublicKeyLine } from "../../core/fingerprint";
import { CommandError, LocalTransport, MAX_OUTPUT_BYTES, NetnsTransport, SshTransport, type Transport } from "../../providers/transport";
import { freeSubnet, must, sh, uniq } from "../helpers";
import { type Sshd, startSshd } from "../helpers/sshd";

async function commonChecks(t: Transport, dir: string): Promise<void> {
    const r = await t.run(["sh", "-c", 'printf "%s|%s" "$1" "$NB_TEST"', "sh", "a b;$(x)"], { env: { NB_TEST: "v" } });
    assert.equal(r.stdout, "a b;$(x)|v");
    assert.equal((await t.run(["cat"], { stdin: "from stdin\n" })).stdout, "from stdin\n");
    const err = await t.run(["ls", "/nonexistent-netbed"]).catch((e) => e);
    assert.ok(err instanceof CommandError, String(err));
    assert.equal(err.code, 2);
    assert.match(err.message, /on host .*`ls \/nonexistent-netbed` exited with code 2/);
    assert.match(err.message, /stderr: .*No such file/);
    assert.equal((await t.run(["false"], { check: false })).code, 1);
    const slow = await t.run(["sleep", "5"], { timeoutMs: 300 }).catch((e) => e);
    assert.match(String(slow), /timed out after 300 ms/);
    const file = path.join(dir, "sub", "f.bin");
    const data = Buffer.from([0, 1, 2, 255, 10, 13]);
    await t.putFile(file, data, 0o600);
    assert.deepEqual(await t.getFile(file), data);
    await t.putFile(file, "replaced");
    assert.equal((await t.getFile(file)).toString(), "replaced");
}

describe("transports", function () {
    this.timeout(60_000);
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-transport-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("local: argv, env, stdin, errors, timeouts, files", async () => {
        await commonChecks(new LocalTransport(), path.join(dir, "local"));
    });

    it("netns: commands run inside the namespace", async () => {
        const ns = `nbt-${uniq()}`;
        must(["ip", "netns", "add", ns]);
        try {
            const t = new NetnsTransport(ns, "h");
            await commonChecks(t, path.join(dir, "netns"));
            // Only a loopback device exists in a fresh namespace.
            const links = (await t.run(["ip", "-o", "link", "show"])).stdout.trim().split("\n");
            assert.equal(links.length, 1);
            assert.match(links[0], /: lo:/);
            const err = await t.run(["false"]).catch((e) => e);
            assert.match(err.message, /on host 'h' \(netns nbt-.*\): `false` exited with code 1/);
        } finally {
            must(["ip", "netns", "del", ns]);
        }
    });

    describe("ssh against a real sshd in a namespace", () => {
        const id = uniq();
        let d: Sshd;
        before(async function () {
            this.timeout(30_000);
            d = await startSshd(`nbt-ssh-${id}`, `nbs${id}`, freeSubnet("10.250"));
        });
        after(() => d?.stop());
        const vethNs = `nbs${id}p`;
        const port = 2222;

        const cfg = () => ({ host: d.nsIp, port, user: "root", privateKey: d.key, hostKeyFingerprint: d.fingerprint, connectTimeoutMs: 5000, dialRetries: 1 });

        it("runs commands, feeds stdin, reports errors and round-trips files over SFTP", async () => {
            const t = new SshTransport(cfg(), undefined, "remote");
            try {
                await commonChecks(t, path.join(d.dir, "files"));
                // The command really ran in the sshd's namespace.
                const addrs = (await t.run(["ip", "-o", "-4", "addr", "show", "dev", vethNs])).stdout;
                assert.match(addrs, new RegExp(d.nsIp.replace(/\./g, "\\.")));
            } finally {
                await t.close();
            }
        });

        it("output past the cap is cut off: the command is killed with an error naming the host and the command", async function () {
            this.timeout(120_000);
            const t = new SshTransport(cfg(), undefined, "remote");
            try {
                await assert.rejects(
                    t.run(["head", "-c", String(MAX_OUTPUT_BYTES + 2 ** 20), "/dev/zero"], { timeoutMs: 110_000 }),
                    /on host 'remote' \(ssh [^)]*\): `head -c \d+ \/dev\/zero` printed more than \d+ bytes on stdout and was killed/,
                );
                assert.equal((await t.run(["echo", "still usable"])).stdout, "still usable\n");
            } finally {
                await t.close();
            }
        });

        it("an aborted command ends on the host at once, and one whose client vanished ends too (sshd refuses signal requests for root)", async () => {
            const mark = `netbed-abort-${id}`;
            const left = () => sh(["pgrep", "-f", mark]).stdout.trim();
            const t = new SshTransport(cfg(), undefined, "remote");
            try {
                const ctl = new AbortController();
                const done = t.run(["sh", "-c", `exec sleep 300 # ${mark}`], { signal: ctl.signal, timeoutMs: 600_000, check: false });
                for (let k = 0; k < 100 && !left(); k++) await new Promise((r) => setTimeout(r, 50));
                assert.ok(left(), "the command started");
                const t0 = Date.now();
                ctl.abort();
                assert.equal((await done).code, -1);
                assert.ok(Date.now() - t0 < 3000, `ended ${Date.now() - t0} ms after the abort`);
                assert.equal(left(), "", "nothing of it is left on the host");
                // The provider dies: its connection drops without an abort.
                void t
                    .run(["sh", "-c", `exec sleep 300 # ${mark}`], { signal: new AbortController().signal, timeoutMs: 600_000, check: false })
                    .catch(() => undefined);
                for (let k = 0; k < 100 && !left(); k++) await new Promise((r) => setTimeout(r, 50));
                await t.close();
                for (let k = 0; k < 60 && left(); k++) await new Promise((r) => setTimeout(r, 50));
                assert.equal(left(), "", "the command ended with its connection");
                // A command that ends by itself still reports its exit code and output.
                const r = await t.run(["sh", "-c", "echo out; exit 3"], { signal: new AbortController().signal, check: false });
                assert.deepEqual([r.code, r.stdout], [3, "out\n"]);
            } finally {
                await t.close();
            }
        });

        it("authenticates through an ssh-agent (no key in the config); a unix socket on the host is reached over streamlocal forwarding", async () => {
            const sock = path.join(d.dir, "agent.sock");
            const keyFile = path.join(d.dir, "agent_key");
            fs.writeFileSync(keyFile, d.key, { mode: 0o600 });
            const started = must(["ssh-agent", "-s", "-a", sock]);
            const agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(started)![1]);
            try {
                const add = sh(["env", `SSH_AUTH_SOCK=${sock}`, "ssh-add", keyFile]);
                assert.equal(add.code, 0, add.stderr);
                const { privateKey: _k, ...noKey } = cfg();
                const t = new SshTransport({ ...noKey, agent: sock }, undefined, "agent");
                try {
                    assert.equal((await t.run(["echo", "via-agent"])).stdout.trim(), "via-agent");
                    // A unix socket server on the host, reached like a VMM's QMP socket.
                    const usock = path.join(d.dir, "echo.sock");
                    const srv = net.createServer((c) => c.end("hello from the socket\n")).listen(usock);
                    try {
                        const stream = await t.connectUnix(usock);
                        const got = await new Promise<string>((resolve) => {
                            let b = "";
                            stream.on("data", (x: Buffer) => (b += x));
                            stream.on("end", () => resolve(b));
                        });
                        stream.destroy();
                        assert.equal(got, "hello from the socket\n");
                        await assert.rejects(t.connectUnix(path.join(d.dir, "none.sock")), /cannot connect to .*none.sock/);
                    } finally {
                        srv.close();
                    }
                } finally {
                    await t.close();
                }
                const empty = new SshTransport({ ...noKey, agent: path.join(d.dir, "no-agent.sock"), dialRetries: 0 }, undefined, "noagent");
                await assert.rejects(empty.run(["true"]), /could not connect/);
            } finally {
                process.kill(agentPid, "SIGTERM");
            }
        });

        it("refuses a host key that is not the pinned one, without retrying", async () => {
            const other = fingerprintOfPublicKeyLine(fs.readFileSync(path.join(d.dir, "client_key.pub"), "utf8"));
            const msgs: string[] = [];
            const t = new SshTransport({ ...cfg(), hostKeyFingerprint: other, dialRetries: 3 }, (m) => msgs.push(m));
            const err = await t.run(["true"]).catch((e) => e);
            assert.match(String(err), /does not match the pinned hostKeyFingerprint/);
            assert.equal(msgs.length, 0, "a wrong host key must not be retried");
        });

        it("fails after bounded retries on a closed port, logging each attempt", async () => {
            const msgs: string[] = [];
            const t = new SshTransport({ ...cfg(), port: port + 1, dialRetries: 2 }, (m) => msgs.push(m));
            const started = Date.now();
            const err = await t.run(["true"]).catch((e) => e);
            assert.match(String(err), /could not connect after 3 attempts: .*ECONNREFUSED/);
            assert.equal(msgs.length, 2);
            assert.match(msgs[0], /attempt 1\/3 failed/);
            // 1 s + 2 s of back-off, bounded well below the configured timeouts.
            assert.ok(Date.now() - started < 8000);
        });
    });
});
