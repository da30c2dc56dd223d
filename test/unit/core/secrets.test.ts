import { strict as assert } from "node:assert";
import { UNKNOWN, containsUnknown, dropUndefined, isSecret, unwrapSecrets, wrapSecret, wrapSecretsAt } from "../../../core/secrets";

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
