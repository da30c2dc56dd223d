// The three transports against real targets: this machine, a network namespace, and a real
// OpenSSH sshd running inside a namespace the test creates (reached over a veth the test owns).
import { strict as assert } from "assert";
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { fingerprintOfPublicKeyLine } from "../core/fingerprint";
import { CommandError, LocalTransport, NetnsTransport, SshTransport, Transport } from "../providers/transport";
import { must, sh, uniq } from "./helpers";

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
        const ns = `nbt-ssh-${id}`;
        const vethHost = `nbs${id}`;
        const vethNs = `nbn${id}`;
        // A /30 from the TEST-NET-free 10.250.0.0/16 range, inside namespaces this test creates.
        const hostIp = "10.250.77.1";
        const nsIp = "10.250.77.2";
        const port = 2222;
        let sshd: ChildProcess | undefined;
        let key = "";
        let fp = "";
        let sdir = "";

        before(async function () {
            this.timeout(30_000);
            sdir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-sshd-"));
            must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path.join(sdir, "host_key")]);
            must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path.join(sdir, "client_key")]);
            fs.copyFileSync(path.join(sdir, "client_key.pub"), path.join(sdir, "authorized_keys"));
            key = fs.readFileSync(path.join(sdir, "client_key"), "utf8");
            fp = fingerprintOfPublicKeyLine(fs.readFileSync(path.join(sdir, "host_key.pub"), "utf8"));
            // Cross-check our fingerprint code against OpenSSH's own.
            assert.equal(must(["ssh-keygen", "-lf", path.join(sdir, "host_key.pub")]).split(" ")[1], fp);
            fs.writeFileSync(
                path.join(sdir, "sshd_config"),
                [
                    `Port ${port}`,
                    `ListenAddress ${nsIp}`,
                    `HostKey ${sdir}/host_key`,
                    `AuthorizedKeysFile ${sdir}/authorized_keys`,
                    `PidFile ${sdir}/sshd.pid`,
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "Subsystem sftp internal-sftp",
                ].join("\n") + "\n",
            );
            fs.mkdirSync("/run/sshd", { recursive: true });
            must(["ip", "netns", "add", ns]);
            must(["ip", "link", "add", vethHost, "type", "veth", "peer", "name", vethNs]);
            must(["ip", "link", "set", vethNs, "netns", ns]);
            must(["ip", "addr", "add", `${hostIp}/30`, "dev", vethHost]);
            must(["ip", "link", "set", vethHost, "up"]);
            must(["ip", "-n", ns, "addr", "add", `${nsIp}/30`, "dev", vethNs]);
            must(["ip", "-n", ns, "link", "set", vethNs, "up"]);
            must(["ip", "-n", ns, "link", "set", "lo", "up"]);
            sshd = spawn("ip", ["netns", "exec", ns, "/usr/sbin/sshd", "-D", "-e", "-f", path.join(sdir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
            let log = "";
            sshd.stderr!.on("data", (b) => (log += b));
            // Wait (bounded) until sshd accepts connections.
            const deadline = Date.now() + 10_000;
            for (;;) {
                const ok = await new Promise<boolean>((resolve) => {
                    const s = net.connect(port, nsIp);
                    s.once("connect", () => (s.destroy(), resolve(true)));
                    s.once("error", () => resolve(false));
                });
                if (ok) break;
                if (Date.now() > deadline) throw new Error(`sshd did not start: ${log}`);
                await new Promise((r) => setTimeout(r, 100));
            }
        });

        after(() => {
            if (sshd?.pid) process.kill(sshd.pid, "SIGTERM");
            sh(["ip", "link", "del", vethHost]);
            sh(["ip", "netns", "del", ns]);
            if (sdir) fs.rmSync(sdir, { recursive: true, force: true });
        });

        const cfg = () => ({ host: nsIp, port, user: "root", privateKey: key, hostKeyFingerprint: fp, connectTimeoutMs: 5000, dialRetries: 1 });

        it("runs commands, feeds stdin, reports errors and round-trips files over SFTP", async () => {
            const t = new SshTransport(cfg(), undefined, "remote");
            try {
                await commonChecks(t, path.join(sdir, "files"));
                // The command really ran in the sshd's namespace.
                const addrs = (await t.run(["ip", "-o", "-4", "addr", "show", "dev", vethNs])).stdout;
                assert.match(addrs, new RegExp(nsIp.replace(/\./g, "\\.")));
            } finally {
                await t.close();
            }
        });

        it("refuses a host key that is not the pinned one, without retrying", async () => {
            const other = fingerprintOfPublicKeyLine(fs.readFileSync(path.join(sdir, "client_key.pub"), "utf8"));
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
