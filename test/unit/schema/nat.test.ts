// Nat's arguments: bad input is refused naming the field.
import { strict as assert } from "node:assert";
import { defaultNatTable } from "../../../core/nat";
import { natHandler } from "../../../providers/resources/nat";
import { NatArgsSchema } from "../../../schema/nat";

const issues = (a: Record<string, unknown>) => {
    const r = NatArgsSchema.safeParse({ host: { kind: "netns", name: "router", namespace: "x" }, table: "t", ...a });
    return r.success ? "" : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
};

describe("Nat arguments (schema/nat)", () => {
    it("bad input is refused with the field named", () => {
        assert.match(issues({}), /masquerade: a Nat needs at least one masquerade or forwards rule/);
        assert.match(
            issues({ masquerade: [{ source: "10.0.3.2/30", outInterface: "veth0" }] }),
            /masquerade.0.source: '10.0.3.2\/30' has host bits set: give the subnet 10.0.3.0\/30/,
        );
        assert.match(issues({ masquerade: [{ source: "fd00::/64", outInterface: "veth0" }] }), /is not an IPv4 subnet/);
        assert.match(issues({ masquerade: [{ outInterface: 'e"; flush' }] }), /masquerade.0.outInterface: .*(may only use|must not contain)/);
        assert.match(issues({ masquerade: [{ source: "10.0.0.0/8" }] }), /masquerade.0.outInterface: Required/);
        assert.match(issues({ forwards: [{ protocol: "sctp", port: 1, to: "10.0.0.2" }] }), /forwards.0.protocol: must be 'tcp' or 'udp'/);
        assert.match(issues({ forwards: [{ protocol: "tcp", port: 70000, to: "10.0.0.2" }] }), /forwards.0.port: must be a port/);
        assert.match(issues({ forwards: [{ protocol: "tcp", port: 80, to: "fd00::2" }] }), /forwards.0.to: must be an IPv4 address/);
        assert.match(
            issues({
                forwards: [
                    { protocol: "tcp", port: 80, to: "10.0.0.2" },
                    { protocol: "tcp", port: 80, to: "10.0.0.3" },
                ],
            }),
            /forwards.1.port: tcp port 80 is already forwarded by forwards\[0\]/,
        );
        assert.match(issues({ table: "my-table" }), /table: 'my-table' must be an nftables table name/);
        assert.match(
            issues({ masquerade: [{ outInterface: "veth0" }], hostTools: ["ip", "iperf3"] }),
            /host: host 'router' has no nft .*install the Debian package 'nftables'/,
        );
        assert.equal(issues({ masquerade: [{ outInterface: "veth0" }], hostTools: ["ip", "nft"] }), "");
        // Defaults: the table is named after the resource, toPort after port, rules derived (never given).
        const d = natHandler.defaults!(
            { host: { kind: "local", name: "h" }, forwards: [{ protocol: "tcp", port: 80, to: "10.0.0.2" }], rules: ["x"] },
            "lg-nat",
            "urn",
            {},
        );
        const v = NatArgsSchema.parse(d);
        assert.equal(v.table, defaultNatTable("lg-nat", "urn"));
        // A Nat recorded with the previous version's default keeps its table; an explicit table is kept as given.
        const kept = (olds: Record<string, unknown>, table?: string) => natHandler.defaults!({ table }, "lg-nat", "urn", olds).table;
        assert.equal(kept({ table: "netbed_lg_nat" }), "netbed_lg_nat");
        assert.equal(kept({ table: "mine" }), defaultNatTable("lg-nat", "urn"));
        assert.equal(kept({ table: "netbed_lg_nat" }, "mine"), "mine");
        assert.equal(v.forwards[0].toPort, 80);
        assert.deepEqual(v.rules.slice(-1), ["prerouting: tcp dport 80 dnat to 10.0.0.2:80"]);
    });

    it("a table name nft reads as a keyword is refused at check, naming a name that works", () => {
        const masquerade = [{ outInterface: "veth0" }];
        assert.match(issues({ table: "fwd", masquerade }), /^table: 'fwd' is a keyword of nft, .* e\.g\. 'netbed_fwd'$/);
        assert.equal(issues({ table: "filter", masquerade }), "");
    });
});
