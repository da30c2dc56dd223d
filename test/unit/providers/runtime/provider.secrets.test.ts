// SSH private keys are secret wherever they travel through the provider: a Host's connection rides in
// the inputs (and so in the outputs) of every resource placed on it, and the program may have passed
// the key as plain text. The engine run (state export) is test/engine/secrets.engine.test.ts.
import { strict as assert } from "node:assert";
import { z } from "zod";
import { isSecret } from "../../../../core/secrets";
import { MemoryLogger } from "../../../../providers/runtime/log";
import { handlers } from "../../../../providers/resources/index";
import { NetbedProvider, keyPaths } from "../../../../providers/runtime/provider";
import type { ResourceHandler } from "../../../../providers/runtime/resource";

const BODY = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW";
const KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${BODY}\n-----END OPENSSH PRIVATE KEY-----\n`;
const SSH = {
    kind: "ssh",
    name: "far",
    ssh: { host: "10.0.0.5", port: 22, user: "root", privateKey: KEY, hostKeyFingerprint: `SHA256:${"B".repeat(43)}`, connectTimeoutMs: 1000, dialRetries: 0 },
};

/** The value with every secret replaced: what state holds in plain text. */
function plainPart(v: unknown): unknown {
    if (isSecret(v)) return "[secret]";
    if (Array.isArray(v)) return v.map(plainPart);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainPart(x)]));
    return v;
}

/** Valid inputs of each type placed on the SSH host, the key given as plain text. */
const ON_SSH: Record<string, Record<string, unknown>> = {
    Host: { kind: "ssh", ssh: SSH.ssh },
    Bridge: { host: SSH, name: "br0" },
    Tap: { host: SSH, name: "tap0" },
    MacvtapLink: { host: SSH, name: "mv0", parent: "eth0" },
    VethPair: { a: { host: SSH, name: "va0" }, b: { host: SSH, name: "vb0" } },
    Kernel: { host: SSH, source: { kind: "debian", package: "linux-image-amd64" } },
    GuestImage: { host: SSH },
    SecurityProfile: { host: SSH },
    MicroVm: {
        host: SSH,
        kernel: "/var/cache/netbed/k/vmlinuz",
        image: "/var/cache/netbed/i/initrd.gz",
        nics: [{ backend: "virtio", tap: "tap0", address: "10.9.0.10/24" }],
    },
    BenchmarkRun: {
        pairs: [{ label: "far", client: { kind: "host", host: SSH }, server: { kind: "host", host: SSH, address: "10.0.0.5" } }],
        resultsDir: "/tmp/netbed-results",
    },
    HostTuning: { host: SSH },
};

describe("SSH private keys stay secret through the provider", () => {
    it("finds every key path, at any depth", () => {
        assert.deepEqual(keyPaths({ host: SSH, pairs: [{ client: { host: SSH } }], privateKey: "not under ssh" }), [
            ["host", "ssh", "privateKey"],
            ["pairs", 0, "client", "host", "ssh", "privateKey"],
        ]);
    });

    for (const [type, inputs] of Object.entries(ON_SSH)) {
        it(`${type}: check() returns the key secret though the program passed it plain`, async () => {
            const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
            const r = await p.check(`urn:pulumi:s::p::netbed:index:${type}::x`, {}, structuredClone(inputs));
            assert.deepEqual(r.failures, undefined);
            assert.ok(JSON.stringify(r.inputs).includes(BODY), "the key is still there (as a secret)");
            assert.ok(!JSON.stringify(plainPart(r.inputs)).includes(BODY), `${type} keeps the key in plain inputs`);
        });
    }

    it("a check failure about an SSH host does not quote its key", async () => {
        const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
        const bad = { ...SSH, ssh: { ...SSH.ssh, host: "-oProxyCommand=x", hostKeyFingerprint: "md5:00", port: 0, privateKey: `${KEY}trailing` } };
        const r = await p.check("urn:pulumi:s::p::netbed:index:Tap::t", {}, { host: bad, name: "tap0" });
        assert.ok((r.failures ?? []).length >= 3, JSON.stringify(r.failures));
        assert.ok(!JSON.stringify(r.failures).includes(BODY));
    });

    it("create, read and update outputs keep the key secret (a handler that echoes its inputs)", async () => {
        const echo: ResourceHandler = {
            schema: z.object({ host: z.any(), name: z.string() }).strict(),
            outputs: z.object({ seen: z.object({ host: z.any() }).optional() }).strict(),
            properties: ["host", "name"],
            replaceOn: ["host"],
            create: async (_ctx, i) => ({ id: "x", outs: { ...i, seen: { host: i.host } } }),
            read: async (_ctx, _id, state) => state,
            update: async (_ctx, _id, _o, n) => ({ ...n }),
            delete: async () => undefined,
        };
        const log = new MemoryLogger();
        const p = new NetbedProvider("0.0.0-test", { "netbed:index:Echo": echo }, log);
        const urn = "urn:pulumi:s::p::netbed:index:Echo::e";
        const outs = [
            (await p.create(urn, { host: SSH, name: "e" })).outs,
            (await p.read("x", urn, { host: SSH, name: "e", seen: { host: SSH } })).props,
            (await p.update("x", urn, { host: SSH, name: "e" }, { host: SSH, name: "f" })).outs,
        ];
        for (const o of outs) {
            assert.ok(JSON.stringify(o).includes(BODY));
            assert.ok(!JSON.stringify(plainPart(o)).includes(BODY), JSON.stringify(plainPart(o)).slice(0, 300));
        }
        assert.ok(!JSON.stringify(log).includes(BODY), "the provider log holds the key");
    });
});
