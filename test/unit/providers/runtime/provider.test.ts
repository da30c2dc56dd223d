// The provider's check/diff mapping, through the real NetbedProvider and Host handler. These
// calls are what `pulumi preview` makes: none of them may touch a host.
import { strict as assert } from "node:assert";
import { UNKNOWN, isSecret, wrapSecret } from "../../../../core/secrets";
import { MemoryLogger } from "../../../../providers/runtime/log";
import { handlers } from "../../../../providers/resources/index";
import { typeOfUrn } from "../../../../core/names";
import { NetbedProvider } from "../../../../providers/runtime/provider";

const URN = "urn:pulumi:local::testbed::netbed:index:Host::server";
const FP = `SHA256:${"B".repeat(43)}`;
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n";

describe("NetbedProvider check/diff", () => {
    const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());

    it("reads the type from URNs, including children of components", () => {
        assert.equal(typeOfUrn(URN), "netbed:index:Host");
        assert.equal(typeOfUrn("urn:pulumi:s::p::netbed:index:Testbed$netbed:index:Host::tb-server"), "netbed:index:Host");
    });

    it("fills the namespace default from the resource name", async () => {
        const r = await p.check(URN, {}, { kind: "netns" });
        assert.equal(r.failures, undefined);
        assert.equal(r.inputs.namespace, "nb-server");
        assert.deepEqual(r.inputs.packages, []);
    });

    it("returns failures with the property path", async () => {
        const r = await p.check(URN, {}, { kind: "netns", namespace: "bad name" });
        assert.deepEqual(
            r.failures!.map((f) => f.property),
            ["namespace"],
        );
        assert.match(r.failures![0].reason, /'bad name' must start with a letter or digit/);
    });

    it("keeps the private key secret in checked inputs, whether or not the program marked it", async () => {
        for (const privateKey of [KEY, wrapSecret(KEY)]) {
            const r = await p.check(URN, {}, { kind: "ssh", ssh: { host: "h", privateKey, hostKeyFingerprint: FP } });
            assert.equal(r.failures, undefined);
            assert.ok(isSecret(r.inputs.ssh.privateKey));
            assert.equal(r.inputs.ssh.port, 22);
        }
    });

    it("passes unknown values through during preview", async () => {
        const r = await p.check(URN, {}, { kind: "ssh", ssh: UNKNOWN });
        assert.equal(r.failures, undefined);
        assert.equal(r.inputs.ssh, UNKNOWN);
    });

    it("diff: packages update in place; namespace and kind replace, deleting first", async () => {
        const olds = { kind: "netns", namespace: "nb-server", packages: [], probe: { cores: 2 } };
        const inPlace = await p.diff("netns:nb-server", URN, olds, { kind: "netns", namespace: "nb-server", packages: ["iperf3"] });
        assert.deepEqual(inPlace, { changes: true, replaces: [], deleteBeforeReplace: false });
        const rename = await p.diff("netns:nb-server", URN, olds, { kind: "netns", namespace: "nb-other", packages: [] });
        assert.deepEqual(rename, { changes: true, replaces: ["namespace"], deleteBeforeReplace: true });
        const same = await p.diff("netns:nb-server", URN, olds, { kind: "netns", namespace: "nb-server", packages: [] });
        assert.equal(same.changes, false);
    });

    it("diff: a secret that changed is seen through its wrapper; an unknown host forces replacement", async () => {
        const olds = { kind: "ssh", ssh: { host: "h", port: 22, user: "root", privateKey: wrapSecret("k1"), hostKeyFingerprint: FP } };
        const rekey = await p.diff("x", URN, olds, { ...olds, ssh: { ...olds.ssh, privateKey: wrapSecret("k2") } });
        assert.deepEqual(rekey.replaces, []);
        assert.equal(rekey.changes, true);
        const unknownHost = await p.diff("x", URN, olds, { ...olds, ssh: UNKNOWN });
        assert.ok(unknownHost.replaces!.includes("ssh.host"));
    });

    it("refuses types it does not implement", async () => {
        await assert.rejects(p.check("urn:pulumi:s::p::netbed:index:Nope::x", {}, {}), /does not know resource type 'netbed:index:Nope'/);
    });
});
