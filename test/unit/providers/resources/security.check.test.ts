// SecurityProfile's check(), as preview runs it: bad input is refused naming the field, and nothing
// on a host is touched but this machine's paths.
import { strict as assert } from "node:assert";
import { UNKNOWN } from "../../../../core/secrets";
import { MemoryLogger } from "../../../../providers/runtime/log";
import { handlers } from "../../../../providers/resources/index";
import { NetbedProvider } from "../../../../providers/runtime/provider";

const local = { kind: "local" as const, name: "me" };

describe("SecurityProfile check (what preview runs: no host touched but this machine's paths)", () => {
    const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
    const URN = "urn:pulumi:test::sec::netbed:index:SecurityProfile::prof";
    const caps = (landlockAbi: number) => ({ arch: "x86_64", landlockAbi, seccompFilter: true });
    const failures = async (args: Record<string, unknown>) => {
        const r = await p.check(URN, {}, { host: local, hostCaps: caps(7), ...args });
        return (r.failures ?? []).map((f) => `${f.property}: ${f.reason}`);
    };

    it("accepts the defaults: the QEMU preset, Landlock on, no capabilities, the default user, scopes by the host's ABI", async () => {
        const r = await p.check(URN, {}, { host: local, hostCaps: caps(7) });
        assert.equal(r.failures, undefined);
        assert.equal(r.inputs.seccomp.preset, "qemu");
        assert.equal(r.inputs.landlock.mode, "strict");
        assert.deepEqual(r.inputs.capabilities, []);
        assert.equal(r.inputs.user, undefined);
        assert.equal(r.inputs.landlock.scopes, undefined);
        assert.equal((await p.check(URN, {}, { host: local, hostCaps: caps(5) })).failures, undefined, "no scopes below ABI 6: not refused");
    });

    it("names an unknown syscall and suggests a close one", async () => {
        assert.match(
            (await failures({ seccomp: { extraAllow: ["read", "opne"] } })).join("\n"),
            /^seccomp\.extraAllow\[1\]: unknown syscall 'opne' on x86_64: did you mean 'open'/m,
        );
        assert.match(
            (await failures({ seccomp: { preset: "custom", allow: ["execve", "clock_getime"] } })).join("\n"),
            /seccomp\.allow\[1\]: unknown syscall 'clock_getime'.*'clock_gettime'/,
        );
        assert.match((await failures({ seccomp: { preset: "custom", allow: ["read"] } })).join("\n"), /seccomp\.allow: must include execve/);
        assert.match(
            (await failures({ seccomp: { allow: ["execve"] } })).join("\n"),
            /seccomp\.allow: is the whole list of preset 'custom'; to add syscalls to preset 'qemu', use extraAllow/,
        );
        assert.match(
            (await failures({ seccomp: { extraAllow: ["clone3"] } })).join("\n"),
            /seccomp: syscall 'clone3' is both allowed and unconditionally denied/,
        );
        assert.match((await failures({ seccomp: { preset: "none", extraAllow: ["read"] } })).join("\n"), /seccomp\.extraAllow: only applies with a filter/);
        assert.match((await failures({ seccomp: { errno: 13 } })).join("\n"), /seccomp\.errno: only applies with defaultAction 'errno'/);
    });

    it("refuses paths that do not exist on this machine, relative paths and '..'", async () => {
        assert.deepEqual(await failures({ landlock: { ro: ["/usr", "/nonexistent/netbed-x"] } }), [
            "landlock.ro[1]: '/nonexistent/netbed-x' does not exist on host 'me' (this machine)",
        ]);
        assert.match((await failures({ landlock: { rw: ["run/x"] } })).join("\n"), /landlock\.rw\[0\]: 'run\/x' must be an absolute path/);
        assert.match((await failures({ landlock: { exec: ["/usr/../etc"] } })).join("\n"), /landlock\.exec\[0\]: '\/usr\/\.\.\/etc' must not contain '\.\.'/);
        // On an SSH host the paths are checked at create, on that machine.
        const ssh = {
            kind: "ssh",
            name: "far",
            ssh: {
                host: "10.0.0.5",
                port: 22,
                user: "root",
                privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
                hostKeyFingerprint: `SHA256:${"B".repeat(43)}`,
                connectTimeoutMs: 1000,
                dialRetries: 0,
            },
        };
        const r = await p.check(URN, {}, { host: ssh, landlock: { ro: ["/nonexistent/netbed-x"] } });
        assert.equal(r.failures, undefined);
    });

    it("refuses ports out of range", async () => {
        assert.match((await failures({ landlock: { connectPorts: [70000] } })).join("\n"), /landlock\.connectPorts\[0\]: must be a TCP port in 1\.\.65535/);
        assert.match((await failures({ landlock: { bindPorts: [0] } })).join("\n"), /landlock\.bindPorts\[0\]: must be a TCP port in 1\.\.65535/);
    });

    it("strict mode refuses a feature the host's Landlock ABI lacks, naming feature and ABI; best effort accepts", async () => {
        const at = async (abi: number, landlock: Record<string, unknown>) =>
            ((await p.check(URN, {}, { host: local, hostCaps: caps(abi), landlock })).failures ?? []).map((f) => `${f.property}: ${f.reason}`).join("\n");
        assert.match(
            await at(3, { connectPorts: [80] }),
            /landlock\.connectPorts: TCP port rules need Landlock ABI 4; host 'me' has ABI 3: set landlock\.mode 'best-effort'/,
        );
        assert.match(await at(5, { scopes: ["signal"] }), /landlock\.scopes: scopes need Landlock ABI 6; host 'me' has ABI 5/);
        assert.match(await at(0, {}), /landlock\.enabled: host 'me' has no Landlock \(ABI 0\).*or landlock\.enabled false/);
        assert.equal(await at(3, { connectPorts: [80], scopes: ["signal"], mode: "best-effort" }), "");
        assert.equal(await at(0, { enabled: false }), "");
        assert.match(await at(7, { enabled: false, ro: ["/usr"] }), /landlock\.ro: only applies when landlock\.enabled is true/);
    });

    it("refuses unknown capabilities with a suggestion, and user without group", async () => {
        assert.match(
            (await failures({ capabilities: ["net_admn"] })).join("\n"),
            /capabilities\[0\]: 'net_admn' is not a Linux capability: did you mean 'net_admin'/,
        );
        assert.match((await failures({ capabilities: ["CAP_NET_RAW"] })).join("\n"), /capabilities\[0\]: 'CAP_NET_RAW' is written 'net_raw' here/);
        assert.match((await failures({ user: 1000 })).join("\n"), /group: give group with user/);
    });

    it("a host that cannot run the filter: another architecture, no seccomp", async () => {
        const r = await p.check(URN, {}, { host: local, hostCaps: { arch: "riscv64", landlockAbi: 7, seccompFilter: true } });
        assert.match(
            r.failures!.map((f) => `${f.property}: ${f.reason}`).join("\n"),
            /seccomp\.preset: netbed compiles seccomp filters for x86_64 and aarch64; host 'me' is riscv64: use preset 'none'/,
        );
        const n = await p.check(URN, {}, { host: local, hostCaps: { arch: "x86_64", landlockAbi: 7, seccompFilter: false } });
        assert.match(n.failures!.map((f) => f.reason).join("\n"), /no seccomp filters/);
    });

    it("passes a host probe not known yet (preview of a new Host); every change replaces, deleting first", async () => {
        const r = await p.check(URN, {}, { host: local, hostCaps: UNKNOWN, landlock: { scopes: ["signal"] } });
        assert.equal(r.failures, undefined);
        const olds = (await p.check(URN, {}, { host: local, hostCaps: caps(7) })).inputs;
        const news = (await p.check(URN, {}, { host: local, hostCaps: caps(7), seccomp: { preset: "strict" } })).inputs;
        assert.deepEqual(await p.diff("x", URN, olds, news), { changes: true, replaces: ["seccomp"], deleteBeforeReplace: true });
        assert.equal((await p.diff("x", URN, olds, olds)).changes, false);
    });
});
