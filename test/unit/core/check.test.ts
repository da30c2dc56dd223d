import { strict as assert } from "node:assert";
import { checkWithSchema } from "../../../core/check";
import { UNKNOWN, containsUnknown, dropUndefined, isSecret, unwrapSecrets, wrapSecret, wrapSecretsAt } from "../../../core/secrets";
import { diffProperties } from "../../../core/diff";
import { HostArgsSchema } from "../../../schema/host";

const FP = `SHA256:${"A".repeat(43)}`;
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n";

function failures(inputs: unknown) {
    const r = checkWithSchema(HostArgsSchema, inputs);
    return r.ok ? [] : r.failures;
}

describe("Host arguments (zod) as check() failures", () => {
    it("accepts the three kinds and fills defaults", () => {
        const r = checkWithSchema(HostArgsSchema, { kind: "ssh", ssh: { host: "h", privateKey: KEY, hostKeyFingerprint: FP } });
        assert.ok(r.ok);
        if (r.ok) {
            assert.equal(r.value.ssh!.port, 22);
            assert.equal(r.value.ssh!.user, "root");
            assert.deepEqual(r.value.packages, []);
        }
        assert.deepEqual(failures({ kind: "local" }), []);
        assert.deepEqual(failures({ kind: "netns", namespace: "nb-x" }), []);
    });

    it("names the field and the fix", () => {
        assert.deepEqual(failures({ kind: "vm" }), [{ property: "kind", reason: "must be one of 'local', 'netns' or 'ssh'" }]);
        assert.match(failures({ kind: "ssh" })[0].reason, /required when kind is 'ssh'/);
        assert.equal(failures({ kind: "ssh" })[0].property, "ssh");
        assert.equal(failures({ kind: "local", namespace: "x" })[0].property, "namespace");
        const f = failures({ kind: "ssh", ssh: { host: "h", privateKey: "/root/.ssh/id_ed25519", hostKeyFingerprint: "md5:aa" } });
        assert.deepEqual(f.map((x) => x.property).sort(), ["ssh.hostKeyFingerprint", "ssh.privateKey"]);
        assert.match(f.find((x) => x.property === "ssh.privateKey")!.reason, /not a path/);
        assert.deepEqual(
            failures({ kind: "netns", namespace: "a/b" }).map((x) => x.property),
            ["namespace"],
        );
        assert.deepEqual(
            failures({ kind: "local", packages: ["ok", "rm -rf"] }).map((x) => x.property),
            ["packages[1]"],
        );
    });

    it("names a misspelt argument", () => {
        assert.deepEqual(failures({ kind: "local", pakages: [] }), [{ property: "pakages", reason: "is not a known argument here: check its spelling" }]);
    });

    it("does not fail on values that are not known yet", () => {
        const r = checkWithSchema(HostArgsSchema, { kind: "ssh", ssh: UNKNOWN });
        assert.equal(r.ok, false);
        if (!r.ok) {
            assert.deepEqual(r.failures, []);
            assert.equal(r.partial, true);
        }
        // ...but still reports problems in the known parts
        assert.equal(failures({ kind: "bad", ssh: UNKNOWN }).length, 1);
    });
});

describe("secrets and unknowns on the wire", () => {
    it("unwraps secrets and remembers where they were", () => {
        const { value, secretPaths } = unwrapSecrets({ a: 1, ssh: { privateKey: wrapSecret("k") }, l: [wrapSecret(2)] });
        assert.deepEqual(value, { a: 1, ssh: { privateKey: "k" }, l: [2] });
        assert.deepEqual(secretPaths, [
            ["ssh", "privateKey"],
            ["l", 0],
        ]);
        const back = wrapSecretsAt(value, secretPaths) as any;
        assert.ok(isSecret(back.ssh.privateKey));
        assert.ok(isSecret(back.l[0]));
        assert.equal(back.a, 1);
    });
    it("does not invent secrets for missing paths", () => {
        assert.deepEqual(wrapSecretsAt({ kind: "local" }, [["ssh", "privateKey"]]), { kind: "local" });
    });
    it("finds unknowns anywhere", () => {
        assert.equal(containsUnknown({ a: [1, { b: UNKNOWN }] }), true);
        assert.equal(containsUnknown({ a: [1, { b: "x" }] }), false);
    });
    it("drops undefined deeply", () => {
        assert.deepEqual(dropUndefined({ a: undefined, b: { c: undefined, d: 1 } }), { b: { d: 1 } });
    });
});

describe("property diff", () => {
    const props = ["kind", "namespace", "ssh.host", "ssh.privateKey", "packages"];
    const replaceOn = ["kind", "namespace", "ssh.host"];
    it("updates in place for packages and keys, replaces for identity", () => {
        const a = { kind: "ssh", ssh: { host: "a", privateKey: "k1" }, packages: [] };
        assert.deepEqual(diffProperties(a, { ...a, packages: ["iperf3"] }, props, replaceOn), { changed: ["packages"], replaces: [] });
        assert.deepEqual(diffProperties(a, { ...a, ssh: { host: "a", privateKey: "k2" } }, props, replaceOn), { changed: ["ssh.privateKey"], replaces: [] });
        assert.deepEqual(diffProperties(a, { ...a, ssh: { host: "b", privateKey: "k1" } }, props, replaceOn), {
            changed: ["ssh.host"],
            replaces: ["ssh.host"],
        });
        assert.deepEqual(diffProperties(a, a, props, replaceOn), { changed: [], replaces: [] });
    });
});
