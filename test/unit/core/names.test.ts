import { strict as assert } from "node:assert";
import { debPackageProblem, defaultNetnsName, ifnameProblem, netnsProblem, urnName } from "../../../core/names";

describe("names", () => {
    it("accepts interface names up to 15 bytes and refuses longer ones", () => {
        assert.equal(ifnameProblem("tap0"), undefined);
        assert.equal(ifnameProblem("a".repeat(15)), undefined);
        assert.match(ifnameProblem("a".repeat(16))!, /16 bytes long; .* at most 15/);
        // bytes, not characters: 8 two-byte characters are 16 bytes
        assert.match(ifnameProblem("é".repeat(8))!, /16 bytes/);
    });
    it("refuses '/', whitespace, ':' and the dot names", () => {
        for (const bad of ["a/b", "a b", "a\tb", "eth0:1", ".", ".."]) assert.ok(ifnameProblem(bad), bad);
        assert.ok(ifnameProblem(""));
    });
    it("validates namespace names", () => {
        assert.equal(netnsProblem("nb-server"), undefined);
        for (const bad of ["", "-x", "a/b", "..", "a b", "x".repeat(65)]) assert.ok(netnsProblem(bad), bad);
    });
    it("validates Debian package names and pins", () => {
        assert.equal(debPackageProblem("iperf3"), undefined);
        assert.equal(debPackageProblem("linux-image-6.1.0-28-amd64"), undefined);
        assert.equal(debPackageProblem("qemu-system-x86=1:7.2+dfsg-7"), undefined);
        for (const bad of ["Iperf3", "-o", "a;rm", "x", "iperf3 sockperf"]) assert.ok(debPackageProblem(bad), bad);
    });
    it("derives namespace names from resource names and reads URNs", () => {
        assert.equal(defaultNetnsName("server"), "nb-server");
        assert.equal(defaultNetnsName("my host"), "nb-my-host");
        assert.equal(urnName("urn:pulumi:local::testbed::netbed:index:Host::server"), "server");
    });
});
