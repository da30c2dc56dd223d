import { strict as assert } from "node:assert";
import {
    addrArgv,
    canonicalCidr,
    ethtoolArgv,
    parseEthtoolFeatures,
    parseLink,
    parseRoutes,
    routeArgv,
    routeKey,
    tuntapArgv,
    vethAddArgv,
} from "../../../core/link";
import { specFromObserved } from "../../../providers/hostops/link";
import { TapArgsSchema } from "../../../schema/tap";
import { VethPairArgsSchema } from "../../../schema/veth";

// Output captured from iproute2 6.1 on a bridge with one address.
const LINK = `[{"ifindex":4,"ifname":"br0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"operstate":"UP","txqlen":1000,"address":"aa:94:74:4b:89:24","ifalias":"netbed server-br0","linkinfo":{"info_kind":"bridge","info_data":{"stp_state":0}}}]`;
const ADDR = `[{"ifindex":4,"ifname":"br0","addr_info":[{"family":"inet","local":"10.77.1.1","prefixlen":24,"scope":"global"},{"family":"inet6","local":"fe80::a894:74ff:fe4b:8924","prefixlen":64,"scope":"link"}]}]`;
const ROUTES = `[{"dst":"10.77.1.0/24","protocol":"kernel","scope":"link","prefsrc":"10.77.1.1","flags":[]},{"dst":"10.8.0.0/16","gateway":"10.77.1.254","flags":[]},{"dst":"default","gateway":"10.77.1.254","metric":100,"flags":[]}]`;
const ROUTES6 = `[{"dst":"fd51::/64","protocol":"kernel","metric":256,"flags":[]},{"dst":"fe80::/64","protocol":"kernel","metric":256,"flags":[]},{"dst":"fd52::/64","gateway":"fd51::fe","metric":1024,"flags":[]}]`;
const ETHTOOL = `Features for br0:\nrx-checksumming: off [fixed]\ntx-checksumming: on\n\ttx-checksum-ipv4: off [fixed]\ntcp-segmentation-offload: on\n\ttx-tcp-segmentation: on\ngeneric-segmentation-offload: on\ngeneric-receive-offload: on\nlarge-receive-offload: off [fixed]\n`;

describe("link observation and argv", () => {
    it("parses ip -json link/addr, keeping global addresses only", () => {
        const l = parseLink(LINK, ADDR);
        assert.deepEqual(
            { ...l, info: undefined },
            {
                ifindex: 4,
                name: "br0",
                kind: "bridge",
                mtu: 1500,
                up: true,
                mac: "aa:94:74:4b:89:24",
                txqueuelen: 1000,
                master: undefined,
                link: undefined,
                alias: "netbed server-br0",
                addresses: ["10.77.1.1/24"],
                info: undefined,
            },
        );
        assert.equal(l.info.stp_state, 0);
    });
    it("keeps added routes, drops the kernel's", () => {
        assert.deepEqual(parseRoutes(ROUTES), [
            { to: "10.8.0.0/16", via: "10.77.1.254" },
            { to: "default", via: "10.77.1.254", metric: 100 },
        ]);
        assert.deepEqual(parseRoutes(ROUTES6), [{ to: "fd52::/64", via: "fd51::fe" }]);
        assert.equal(routeKey({ to: "10.1.2.3" }), routeKey({ to: "10.1.2.3/32" }));
        assert.deepEqual(routeArgv("add", "br0", { to: "fd52::/64", via: "fd51::fe", metric: 5 }), [
            "ip",
            "-6",
            "route",
            "add",
            "fd52::/64",
            "dev",
            "br0",
            "via",
            "fd51::fe",
            "metric",
            "5",
        ]);
    });
    it("reads and changes offloads", () => {
        const have = parseEthtoolFeatures(ETHTOOL);
        assert.deepEqual(have, { tso: true, gso: true, gro: true, rxChecksum: false, txChecksum: true });
        assert.deepEqual(ethtoolArgv("br0", { tso: false, gro: true }, have), ["ethtool", "-K", "br0", "tso", "off"]);
        assert.equal(ethtoolArgv("br0", { tso: true }, have), undefined);
    });
    it("compares IPv6 addresses the way the kernel prints them", () => {
        assert.equal(canonicalCidr("FD51:0:0:0:0:0:0:1/64".toLowerCase()), "fd51::1/64");
        assert.equal(canonicalCidr("2001:db8:0:0:1:0:0:1/64"), "2001:db8::1:0:0:1/64");
        assert.equal(canonicalCidr("10.0.0.1/24"), "10.0.0.1/24");
        assert.deepEqual(addrArgv("add", "x", "fd51::1/64"), ["ip", "addr", "add", "fd51::1/64", "dev", "x", "nodad"]);
    });
    it("renders tuntap and veth argv", () => {
        const host = { kind: "netns" as const, name: "s", namespace: "nb-s" };
        assert.deepEqual(tuntapArgv(TapArgsSchema.parse({ host, name: "tap0", multiQueue: true, queues: 4, owner: 1000 })), [
            "ip",
            "tuntap",
            "add",
            "dev",
            "tap0",
            "mode",
            "tap",
            "multi_queue",
            "vnet_hdr",
            "user",
            "1000",
        ]);
        const v = VethPairArgsSchema.parse({ a: { host, name: "a0" }, b: { host: { kind: "local", name: "me" }, name: "b0" } });
        assert.deepEqual(vethAddArgv(v.a, v.b), ["ip", "link", "add", "name", "a0", "netns", "nb-s", "type", "veth", "peer", "name", "b0"]);
    });
    it("turns an observation into the spec refresh stores, so drift becomes a diff", () => {
        const obs = { link: { ...parseLink(LINK, ADDR), mtu: 1400 }, routes: [], offloads: { tso: false } };
        const spec = specFromObserved(
            { name: "br0", mtu: 1500, addresses: ["10.77.1.1/24", "10.77.9.1/24"], routes: [{ to: "10.8.0.0/16" }], up: true, offloads: { tso: true } },
            obs,
        );
        assert.equal(spec.mtu, 1400);
        assert.deepEqual(spec.addresses, ["10.77.1.1/24"]);
        assert.deepEqual(spec.routes, []);
        assert.deepEqual(spec.offloads, { tso: false });
    });
});
