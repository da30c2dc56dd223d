import { strict as assert } from "node:assert";
import { Registry } from "../../../../providers/runtime/registry";

describe("cross-resource registry", () => {
    const at = (stack: string, cidr: string, property = "addresses[0]") => ({ stack, hostName: stack, property, cidr });
    it("refuses overlaps on one network stack, not across stacks", () => {
        const r = new Registry();
        assert.deepEqual(r.claim("u1", [at("s1", "10.0.0.1/24")], []), []);
        assert.deepEqual(r.claim("u2", [at("s2", "10.0.0.2/24")], []), []);
        const f = r.claim("u3", [at("s1", "10.0.0.9/16")], []);
        assert.equal(f.length, 1);
        assert.match(f[0].reason, /overlaps '10\.0\.0\.1\/24' of u1/);
    });
    it("lets a resource re-claim its own addresses and frees them when it changes", () => {
        const r = new Registry();
        r.claim("u1", [at("s", "10.0.0.1/24")], [{ property: "mac", mac: "02:00:00:00:00:01" }]);
        assert.deepEqual(r.claim("u1", [at("s", "10.0.0.1/24")], [{ property: "mac", mac: "02:00:00:00:00:01" }]), []);
        assert.deepEqual(r.claim("u1", [at("s", "10.1.0.1/24")], []), []);
        assert.deepEqual(r.claim("u2", [at("s", "10.0.0.2/24")], [{ property: "mac", mac: "02:00:00:00:00:01" }]), []);
    });
    it("refuses duplicate MACs and overlapping ends of one resource", () => {
        const r = new Registry();
        r.claim("u1", [], [{ property: "mac", mac: "02:00:00:00:00:01" }]);
        assert.match(r.claim("u2", [], [{ property: "mac", mac: "02:00:00:00:00:01" }])[0].reason, /already used by u1/);
        const f = r.claim("v", [at("s", "10.2.0.1/24", "a.addresses[0]"), at("s", "10.2.0.2/24", "b.addresses[0]")], []);
        assert.equal(f[0].property, "b.addresses[0]");
    });
    it("knows the links declared per network stack", () => {
        const r = new Registry();
        r.declareLinks("w#a", "s", ["ext0"]);
        assert.equal(r.declared("s", "ext0"), true);
        assert.equal(r.declared("t", "ext0"), false);
        r.declareLinks("w#a", "s", ["ext1"]);
        assert.equal(r.declared("s", "ext0"), false);
    });
});
