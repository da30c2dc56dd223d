import { strict as assert } from "node:assert";
import { cidrProblem, cidrsOverlap, deriveMac, macProblem, parseCidr, routeDestinationProblem } from "../../../core/net";

describe("addresses and MACs", () => {
    it("parses IPv4 and IPv6 CIDRs", () => {
        assert.equal(parseCidr("10.0.0.1/24")!.network, 10n << 24n);
        assert.equal(parseCidr("fd00::1/64")!.family, 6);
        assert.equal(parseCidr("::ffff:10.0.0.1/128")!.value, (0xffffn << 32n) | (10n << 24n) | 1n);
        for (const bad of ["10.0.0.1", "10.0.0.300/24", "10.0.0.1/33", "fd00::1/129", "x/24", "10.0.0.1/24 ", "fe80::1%eth0/64"]) {
            assert.equal(parseCidr(bad), undefined, bad);
        }
    });
    it("explains bad interface addresses", () => {
        assert.equal(cidrProblem("10.0.0.1/24"), undefined);
        assert.equal(cidrProblem("10.0.0.0/31"), undefined, "RFC 3021 point-to-point");
        assert.match(cidrProblem("10.0.0.0/24")!, /network address .* such as 10\.0\.0\.1\/24/);
        assert.match(cidrProblem("0.0.0.0/0")!, /prefix length 0/);
        assert.match(cidrProblem("10.1/8")!, /not an address/);
        assert.equal(routeDestinationProblem("default"), undefined);
        assert.equal(routeDestinationProblem("10.0.0.0/8"), undefined);
        assert.ok(routeDestinationProblem("10.0.0.0"));
    });
    it("detects overlapping subnets of one family", () => {
        const o = (a: string, b: string) => cidrsOverlap(parseCidr(a)!, parseCidr(b)!);
        assert.equal(o("10.9.0.1/24", "10.9.0.5/16"), true);
        assert.equal(o("10.9.0.1/24", "10.9.1.1/24"), false);
        assert.equal(o("fd00::1/64", "fd00::2/64"), true);
        assert.equal(o("fd00::1/64", "fd00:0:0:1::1/64"), false);
        assert.equal(o("10.0.0.1/8", "fd00::1/8"), false);
    });
    it("derives stable, locally administered unicast MACs", () => {
        const m = deriveMac("urn:pulumi:local::testbed::netbed:index:MacvtapLink::server-mvtap0");
        assert.equal(m, deriveMac("urn:pulumi:local::testbed::netbed:index:MacvtapLink::server-mvtap0"));
        assert.notEqual(m, deriveMac("urn:pulumi:local::testbed::netbed:index:MacvtapLink::server-mvtap1"));
        const first = parseInt(m.slice(0, 2), 16);
        assert.equal(first & 0x03, 0x02);
        assert.equal(macProblem(m), undefined);
        assert.match(macProblem("01:00:5e:00:00:01")!, /multicast/);
        assert.match(macProblem("02:00:00:00:00")!, /not a MAC/);
        assert.match(macProblem("02:00:00:00:00:0A")!, /lower-case/);
    });
});
