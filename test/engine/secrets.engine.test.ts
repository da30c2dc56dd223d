// SSH keys through the real engine: a program that passes the key as plain text to an SSH Host
// (a real sshd in a namespace) with a bridge and a tap on it. Neither `pulumi stack export`, nor
// the state files on disk (history included), nor the engine's output holds any of the key.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { engineEnv, openStack } from "../../scripts/engine";
import { freeSubnet, tempBackend, uniq } from "../helpers";
import { type Sshd, startSshd } from "../helpers/sshd";

/** The lines of a private key file that are key material (the base64 body). */
function keyLines(key: string): string[] {
    return key.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
}

function must(argv: string[], input?: string, env?: NodeJS.ProcessEnv): string {
    const r = spawnSync(argv[0], argv.slice(1), { input, env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
}

function filesUnder(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe("SSH keys through the real engine", function () {
    this.timeout(600_000);
    const backendDir = tempBackend();
    const id = uniq();
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);
    let d: Sshd | undefined;

    before(async () => {
        d = await startSshd(`nbt-sec-${id}`, `nbk${id}`, freeSubnet("10.251"));
    });
    after(() => {
        d?.stop();
    });

    it("a key passed as plain text is in no state, export, engine output or error; the resources on its host are created and destroyed", async () => {
        const dir = path.join(__dirname, "..", "fixtures", "secrets");
        const stackName = `sec${id}`;
        const stack = await openStack({ stack: stackName, dir });
        const secretLines = keyLines(d!.key);
        assert.ok(secretLines.length >= 3, "the test key has a body");
        const leaks = (what: string, text: string) => {
            for (const l of secretLines) assert.ok(!text.includes(l), `${what} holds key material`);
            assert.ok(!text.includes("PRIVATE KEY-----"), `${what} holds a private key's armour`);
        };
        try {
            await stack.setAllConfig({
                host: { value: d!.nsIp },
                port: { value: String(d!.port) },
                fingerprint: { value: d!.fingerprint },
                keyFile: { value: path.join(d!.dir, "client_key") },
            });
            await stack.preview({ onOutput, color: "never" });
            const up = await stack.up({ onOutput, color: "never" });
            assert.equal(up.summary.result, "succeeded", log.join("").slice(-3000));
            // The links exist on the SSH host (the sshd's namespace).
            const ifs = (JSON.parse(must(["ip", "-n", d!.ns, "-json", "link", "show"])) as any[]).map((l) => l.ifname);
            assert.ok(ifs.includes("brsec0") && ifs.includes("tapsec0"), ifs.join(" "));
            assert.equal(up.outputs.connection.secret, true, "the Host's connection output is secret");

            // The CLI's export, as a user runs it (the Automation API's exportStack shows secrets).
            const exported = must(["pulumi", "stack", "export", "--stack", stackName, "--cwd", dir], undefined, { ...process.env, ...engineEnv(stackName) });
            leaks("pulumi stack export", exported);
            // Each resource on the host carries the connection, as a secret.
            const resources = JSON.parse(exported).deployment.resources as any[];
            for (const type of ["netbed:index:Bridge", "netbed:index:Tap"]) {
                const r = resources.find((x) => x.type === type);
                assert.ok(r, `${type} in state`);
                assert.match(JSON.stringify(r.inputs.host), /4dabf18193072939515e22adb298388d/, `${type}'s host input is a secret`);
            }
            await stack.refresh({ onOutput, color: "never" });
            for (const f of filesUnder(backendDir())) leaks(`state file ${path.relative(backendDir(), f)}`, fs.readFileSync(f, "utf8"));

            await stack.destroy({ onOutput, color: "never" });
            const after = (JSON.parse(must(["ip", "-n", d!.ns, "-json", "link", "show"])) as any[]).map((l) => l.ifname);
            assert.ok(!after.includes("brsec0") && !after.includes("tapsec0"), after.join(" "));
            for (const f of filesUnder(backendDir())) leaks(`state file ${path.relative(backendDir(), f)}`, fs.readFileSync(f, "utf8"));
            leaks("the engine's output", log.join(""));

            // A host that presents another host key: the failure names the host and the fingerprints, not the key.
            await stack.setConfig("fingerprint", { value: `SHA256:${"A".repeat(43)}` });
            const err = await stack.up({ onOutput, color: "never" }).then(
                () => "",
                (e) => String(e),
            );
            leaks("the error of a refused host key", err);
            assert.match(err, /far/, `the error names the host: ${err.slice(-3000)}`);
            assert.match(err, /SHA256:A{43}/, "the error names the expected fingerprint");
            leaks("the engine's output", log.join(""));
            for (const f of filesUnder(backendDir())) leaks(`state file ${path.relative(backendDir(), f)}`, fs.readFileSync(f, "utf8"));
            await stack.destroy({ onOutput, color: "never" });
            await stack.workspace.removeStack(stackName);
        } finally {
            fs.rmSync(path.join(dir, `Pulumi.${stackName}.yaml`), { force: true });
        }
    });
});
