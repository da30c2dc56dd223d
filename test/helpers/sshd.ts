// A real OpenSSH sshd inside a namespace the test creates, reached over a veth the test owns.
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { fingerprintOfPublicKeyLine } from "../../core/fingerprint";
import { dropNetns, must, sh } from "./index";

export interface Sshd {
    ns: string;
    nsIp: string;
    port: number;
    key: string;
    fingerprint: string;
    dir: string;
    stop(): void;
}

/** Starts sshd in a new namespace `ns`; `subnet` is the first three octets of a private /30. */
export async function startSshd(ns: string, veth: string, subnet: string): Promise<Sshd> {
    const hostIp = `${subnet}.1`;
    const nsIp = `${subnet}.2`;
    const port = 2222;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-sshd-"));
    must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
    must(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "client_key")]);
    fs.copyFileSync(path.join(dir, "client_key.pub"), path.join(dir, "authorized_keys"));
    const fingerprint = fingerprintOfPublicKeyLine(fs.readFileSync(path.join(dir, "host_key.pub"), "utf8"));
    // Cross-check our fingerprint code against OpenSSH's own.
    assert.equal(must(["ssh-keygen", "-lf", path.join(dir, "host_key.pub")]).split(" ")[1], fingerprint);
    fs.writeFileSync(
        path.join(dir, "sshd_config"),
        `${[
            `Port ${port}`,
            `ListenAddress ${nsIp}`,
            `HostKey ${dir}/host_key`,
            `AuthorizedKeysFile ${dir}/authorized_keys`,
            `PidFile ${dir}/sshd.pid`,
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes no",
            "Subsystem sftp internal-sftp",
            // Sessions whose client vanished with a test namespace end within seconds.
            "ClientAliveInterval 2",
            "ClientAliveCountMax 2",
        ].join("\n")}\n`,
    );
    fs.mkdirSync("/run/sshd", { recursive: true });
    must(["ip", "netns", "add", ns]);
    must(["ip", "link", "add", veth, "type", "veth", "peer", "name", `${veth}p`]);
    must(["ip", "link", "set", `${veth}p`, "netns", ns]);
    must(["ip", "addr", "add", `${hostIp}/30`, "dev", veth]);
    must(["ip", "link", "set", veth, "up"]);
    must(["ip", "-n", ns, "addr", "add", `${nsIp}/30`, "dev", `${veth}p`]);
    must(["ip", "-n", ns, "link", "set", `${veth}p`, "up"]);
    must(["ip", "-n", ns, "link", "set", "lo", "up"]);
    const sshd: ChildProcess = spawn("ip", ["netns", "exec", ns, "/usr/sbin/sshd", "-D", "-e", "-f", path.join(dir, "sshd_config")], {
        stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    sshd.stderr!.on("data", (b) => (log += b));
    const deadline = Date.now() + 10_000;
    for (;;) {
        const ok = await new Promise<boolean>((resolve) => {
            const s = net.connect(port, nsIp);
            s.once("connect", () => {
                s.destroy();
                resolve(true);
            });
            s.once("error", () => resolve(false));
        });
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`sshd did not start: ${log}`);
        await new Promise((r) => setTimeout(r, 100));
    }
    return {
        ns,
        nsIp,
        port,
        key: fs.readFileSync(path.join(dir, "client_key"), "utf8"),
        fingerprint,
        dir,
        stop() {
            if (sshd.pid && sshd.exitCode === null) process.kill(sshd.pid, "SIGTERM");
            sh(["ip", "link", "del", veth]);
            dropNetns(ns);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
