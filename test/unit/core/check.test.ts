import { strict as assert } from "node:assert";
import { checkWithSchema } from "../../../core/check";
import { UNKNOWN } from "../../../core/secrets";
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
