// Every process netbed starts gets a minimal, explicit environment: a secret planted in the
// provider's environment (the stack's passphrase, a token, the SSH agent's socket) reaches no
// command, no command in a namespace, and no detached process (the way the VMM is started).
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { childEnv, LocalTransport, NetnsTransport } from "../../../../providers/transport";

const PLANTED = { PULUMI_CONFIG_PASSPHRASE: "planted-passphrase", SSH_AUTH_SOCK: "/tmp/planted-agent.sock", NETBED_TEST_TOKEN: "planted-token" };

function parseEnv(text: string, sep: string): Record<string, string> {
    return Object.fromEntries(
        text
            .split(sep)
            .filter(Boolean)
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
}

function assertMinimal(env: Record<string, string>, where: string): void {
    for (const k of Object.keys(PLANTED)) assert.equal(env[k], undefined, `${where} sees ${k}`);
    assert.deepEqual([env.LANG, env.LC_ALL], ["C", "C"], where);
    assert.ok(env.PATH && env.HOME, `${where} has PATH and HOME`);
    assert.equal(env.TERM, undefined, `${where} has no TERM`);
}

describe("children get a minimal environment, not the provider's", function () {
    this.timeout(30_000);
    const saved: Record<string, string | undefined> = {};
    const ns = `nb-safety-env-${process.pid}`;
    let tmp = "";
    before(() => {
        for (const [k, v] of Object.entries(PLANTED)) {
            saved[k] = process.env[k];
            process.env[k] = v;
        }
        saved.TERM = process.env.TERM;
        process.env.TERM = "xterm";
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-child-env-"));
        const r = spawnSync("ip", ["netns", "add", ns], { encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
    });
    after(() => {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
        spawnSync("ip", ["netns", "del", ns]);
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("childEnv keeps PATH and the proxy, adds the C locale, and takes the command's own variables", () => {
        process.env.https_proxy = "http://proxy.lab:3128";
        try {
            const env = childEnv({ FOO: "bar" });
            assertMinimal(env, "childEnv");
            assert.equal(env.PATH, process.env.PATH);
            assert.equal(env.https_proxy, "http://proxy.lab:3128");
            assert.equal(env.FOO, "bar");
        } finally {
            delete process.env.https_proxy;
        }
    });

    it("a local command", async () => {
        const r = await new LocalTransport().run(["env"]);
        assertMinimal(parseEnv(r.stdout, "\n"), "a local command");
    });

    it("a command in a network namespace", async () => {
        const r = await new NetnsTransport(ns).run(["env"]);
        assertMinimal(parseEnv(r.stdout, "\n"), "a netns command");
    });

    it("a detached process, started as the VMM is (setsid -f)", async () => {
        const out = path.join(tmp, "environ");
        await new LocalTransport().run(["setsid", "-f", "sh", "-c", 'cat /proc/$$/environ > "$1.tmp" && mv "$1.tmp" "$1"', "sh", out]);
        for (let i = 0; i < 50 && !fs.existsSync(out); i++) await new Promise((r) => setTimeout(r, 100));
        assertMinimal(parseEnv(fs.readFileSync(out, "utf8"), "\0"), "a detached process");
    });
});
