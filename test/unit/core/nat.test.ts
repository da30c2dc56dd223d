// Nat's ruleset: one atomic nft transaction rendered from the rules, and nft's JSON read back into
// the same lines (on a listing captured from nft).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultNatTable, natDrift, ownerComment, parseNatTable, parseTableHead, renderNatRuleset, ruleLines } from "../../../core/nat";

const FIXTURE = path.join(__dirname, "..", "..", "fixtures", "nat", "list-table.json");

describe("Nat ruleset (core/nat)", () => {
    it("pure: renders one atomic transaction and reads nft's JSON back into the same lines", () => {
        const rules = {
            masquerade: [{ source: "10.0.3.0/30", outInterface: "veth0" }],
            forwards: [
                { protocol: "tcp" as const, port: 5201, to: "10.0.3.2", toPort: 5201, inInterface: "veth0" },
                { protocol: "udp" as const, port: 5201, to: "10.0.3.2", toPort: 5201 },
            ],
        };
        const script = renderNatRuleset("netbed_t", "netbed n 0123", rules);
        // One `nft -f` transaction that fails whole when a table of that name exists (none was found at the check)...
        assert.match(script, /^create table ip netbed_t \{ comment "netbed n 0123"; \}\ntable ip netbed_t \{\n {4}chain postrouting \{\n/);
        // ... or, over the table checked, when that very table (its handle) is gone: never absent, never half-written.
        assert.match(
            renderNatRuleset("netbed_t", "netbed n 0123", rules, 7),
            /^delete table ip handle 7\ncreate table ip netbed_t \{ comment "netbed n 0123"; \}\n/,
        );
        assert.match(script, /ip saddr 10\.0\.3\.0\/30 oifname "veth0" masquerade/);
        assert.match(script, /iifname "veth0" tcp dport 5201 dnat to 10\.0\.3\.2:5201/);
        // Captured from nft 1.0.6 after `nft -f` of that ruleset (toPort of the udp rule left out there).
        const seen = parseNatTable(fs.readFileSync(FIXTURE, "utf8"));
        assert.deepEqual(seen.foreign, []);
        assert.deepEqual(seen.lines, ruleLines(rules));
        assert.deepEqual(natDrift(ruleLines(rules), seen.lines), []);
        assert.deepEqual(natDrift(ruleLines({ ...rules, forwards: [] }), seen.lines), [
            'not declared: prerouting: iifname "veth0" tcp dport 5201 dnat to 10.0.3.2:5201',
            "not declared: prerouting: udp dport 5201 dnat to 10.0.3.2:5201",
        ]);
        assert.deepEqual(parseTableHead('table ip t { # handle 12\n\tcomment "netbed a b"\n\tchain c { # handle 1\n\t\tcomment "x"\n\t}\n}\n'), {
            handle: 12,
            comment: "netbed a b",
        });
        assert.deepEqual(parseTableHead('table ip t { # handle 3\n\tchain c { # handle 1\n\t\ttcp dport 1 accept comment "x" # handle 2\n\t}\n}\n'), {
            handle: 3,
            comment: undefined,
        });
        assert.equal(parseTableHead("Error: No such file or directory\n"), undefined);
        assert.match(defaultNatTable("lg-nat.1", "urn:a::lg-nat.1"), /^netbed_lg_nat_1_[0-9a-f]{12}$/);
        assert.notEqual(defaultNatTable("n", "urn:a::n"), defaultNatTable("n", "urn:b::n"), "another stack's Nat of the same name has its own table");
        assert.equal(defaultNatTable("x".repeat(80), "urn").length, 64);
        assert.notEqual(ownerComment("urn:a::n", "n"), ownerComment("urn:b::n", "n"));
        assert.ok(ownerComment(`urn:${"x".repeat(500)}`, "y".repeat(300)).length <= 128, "nft keeps at most 128 bytes of comment");
    });
});
