import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseStackConfig } from "../../../schema/testbed-config";

function problems(raw: Record<string, unknown>): string {
    try {
        parseStackConfig(raw);
        return "";
    } catch (e) {
        return String(e);
    }
}

describe("stack config", () => {
    it("accepts the local stack's config", () => {
        // The same shape as stacks/Pulumi.local.yaml (the engine test runs that file's topology).
        assert.match(fs.readFileSync(path.join(__dirname, "..", "..", "..", "stacks", "Pulumi.local.yaml"), "utf8"), /testbed:fabric:/);
        const c = parseStackConfig({
            hosts: { server: { kind: "netns" }, client: { kind: "netns" }, external: { kind: "netns" } },
            fabric: {
                wires: { client: { a: { host: "server", name: "cli0" }, b: { host: "client", name: "eth0", addresses: ["10.77.1.2/24"] } } },
                bridges: { br0: { host: "server", addresses: ["10.77.1.1/24"], members: ["cli0"] } },
                taps: { tap0: { host: "server", bridge: "br0" } },
                macvtaps: { mvtap0: { host: "server", parent: "cli0" } },
            },
        });
        assert.equal(c.bridges.br0.args.name, "br0");
        assert.equal(c.taps.tap0.host, "server");
        assert.equal(c.wires.client.args.b.host.kind, "netns");
    });
    it("names every bad key at once", () => {
        const p = problems({
            hosts: { Server: { kind: "netns" }, client: { kind: "vm" } },
            fabric: { bridges: { br0: { host: "nowhere" } }, taps: { "tap-name-too-long0": { host: "client" } }, routers: {} },
        });
        assert.match(p, /testbed:fabric: .*routers|testbed:fabric\.routers|Unrecognized key/);
        const q = problems({
            hosts: { Server: { kind: "netns" }, client: { kind: "vm" } },
            fabric: { bridges: { br0: { host: "nowhere" } }, taps: { "tap-name-too-long0": { host: "client" } } },
        });
        assert.match(q, /testbed:hosts\.Server: host names are lower-case/);
        assert.match(q, /testbed:hosts\.client\.kind: must be one of/);
        assert.match(q, /testbed:fabric\.bridges\.br0\.host: must name one of the hosts \(Server, client\), got "nowhere"/);
        assert.match(q, /testbed:fabric\.taps\.tap-name-too-long0\.name: .*18 bytes long/);
    });
    it("a guest that serves may be reached at another address (a NAT's, its own loopback)", () => {
        const cfg = (address: unknown) => ({
            hosts: { server: { kind: "netns" }, ext: { kind: "netns" } },
            fabric: { taps: { tap0: { host: "server", addresses: ["10.0.3.1/30"] } } },
            guests: { vms: { g: { host: "server", nics: [{ backend: "virtio", tap: "tap0", address: "10.0.3.2/30", gateway: "10.0.3.1" }] } } },
            benchmark: { tests: [{ kind: "tcp" }], pairs: [{ label: "nat-server", client: { host: "ext" }, server: { vm: "g", address } }] },
        });
        assert.deepEqual(parseStackConfig(cfg("192.0.2.1")).benchmark!.pairs[0].server, { vm: "g", nic: undefined, via: undefined, address: "192.0.2.1" });
        assert.match(problems(cfg("router")), /testbed:benchmark\.pairs\.0\.server\.address: must be an IP address/);
    });
    it("refuses a wire between machines", () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----";
        const p = problems({
            hosts: { a: { kind: "netns" }, b: { kind: "ssh", ssh: { host: "h", privateKey: key, hostKeyFingerprint: `SHA256:${"A".repeat(43)}` } } },
            fabric: { wires: { w: { a: { host: "a", name: "w0" }, b: { host: "b", name: "w0" } } } },
        });
        assert.match(p, /testbed:fabric\.wires\.w\.b\.host: a veth pair cannot span machines/);
    });
});
