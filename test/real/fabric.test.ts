// The network fabric against the real kernel: each resource created, read back, updated in
// place, drifted and refreshed, deleted; traffic flows over what it builds.
import { strict as assert } from "node:assert";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { bridgeHandler } from "../../providers/resources/bridge";
import { hostHandler } from "../../providers/resources/host";
import { macvtapHandler } from "../../providers/resources/macvtap";
import { deleteTap, tapHandler } from "../../providers/resources/tap";
import { vethHandler } from "../../providers/resources/veth";
import { BridgeArgsSchema } from "../../schema/bridge";
import { HostArgsSchema, type HostConnection } from "../../schema/host";
import { MacvtapLinkArgsSchema } from "../../schema/macvtap";
import { TapArgsSchema } from "../../schema/tap";
import { VethPairArgsSchema } from "../../schema/veth";
import { must, netnsList, sh, uniq } from "../helpers";
import { handlerCtx } from "../helpers/ctx";

function link(ns: string, name: string): any {
    const r = sh(["ip", "-n", ns, "-json", "-details", "link", "show", "dev", name]);
    return r.code === 0 ? JSON.parse(r.stdout)[0] : undefined;
}

function addrs(ns: string, name: string): string[] {
    const j = JSON.parse(must(["ip", "-n", ns, "-json", "addr", "show", "dev", name]))[0];
    return j.addr_info.filter((a: any) => a.scope === "global").map((a: any) => `${a.local}/${a.prefixlen}`);
}

describe("network fabric (real links in test namespaces)", function () {
    this.timeout(120_000);
    const id = uniq();
    const hosts: Record<string, { outs: any; conn: HostConnection }> = {};
    const net = `10.251.${Math.floor(Math.random() * 200) + 20}`;

    before(async () => {
        for (const h of ["srv", "cli"]) {
            const ctx = handlerCtx("Host", h, { project: "fabric" });
            const { outs } = await hostHandler.create(ctx, HostArgsSchema.parse({ kind: "netns", namespace: `nbt-${h}-${id}` }));
            hosts[h] = { outs, conn: outs.connection as HostConnection };
        }
    });
    after(async () => {
        for (const h of Object.keys(hosts)) await hostHandler.delete(handlerCtx("Host", h, { project: "fabric" }), "", hosts[h].outs);
        assert.ok(!netnsList().some((n) => n.endsWith(id)));
    });
    const ns = (h: string) => (hosts[h].conn as any).namespace as string;

    it("VethPair: created across two namespaces, traffic flows, MTU updates in place, drift is seen, delete removes both ends", async () => {
        const ctx = handlerCtx("VethPair", "wire", { project: "fabric" });
        const inputs = VethPairArgsSchema.parse({
            a: { host: hosts.srv.conn, name: "wire0", addresses: [`${net}.1/24`] },
            b: { host: hosts.cli.conn, name: "wire0", addresses: [`${net}.2/24`], offloads: { tso: false } },
            mtu: 9000,
        });
        const { id: vid, outs } = (await vethHandler.create(ctx, inputs)) as { id: string; outs: any };
        assert.equal(link(ns("srv"), "wire0").mtu, 9000);
        assert.equal(link(ns("cli"), "wire0").linkinfo.info_kind, "veth");
        assert.deepEqual(addrs(ns("cli"), "wire0"), [`${net}.2/24`]);
        assert.equal(outs.observed.b.offloads.tso, false);
        assert.equal(outs.observed.a.offloads.tso, true);

        const ping = sh(["ip", "netns", "exec", ns("srv"), "ping", "-c", "3", "-i", "0.2", "-W", "2", `${net}.2`]);
        assert.equal(ping.code, 0, ping.stdout + ping.stderr);
        assert.match(ping.stdout, /3 received/);

        // A short iperf3 over the wire (1 s, bounded by a timeout).
        const server = spawn("ip", ["netns", "exec", ns("cli"), "iperf3", "-s", "-1", "-B", `${net}.2`], { stdio: "ignore" });
        try {
            let result: any;
            for (let i = 0; i < 20 && !result; i++) {
                const r = sh(["ip", "netns", "exec", ns("srv"), "timeout", "20", "iperf3", "-c", `${net}.2`, "-t", "1", "-J"]);
                if (r.code === 0) result = JSON.parse(r.stdout);
                else await new Promise((res) => setTimeout(res, 100));
            }
            assert.ok(result, "iperf3 client never connected");
            assert.ok(result.end.sum_received.bits_per_second > 1e6, JSON.stringify(result.end.sum_received));
        } finally {
            if (server.exitCode === null) server.kill();
        }

        const upd = VethPairArgsSchema.parse({ ...inputs, mtu: 1400, a: { ...inputs.a, addresses: [`${net}.1/24`, "fd51::1/64"] } });
        const uouts = await vethHandler.update(ctx, vid, outs, upd);
        assert.equal(link(ns("cli"), "wire0").mtu, 1400);
        assert.deepEqual(addrs(ns("srv"), "wire0").sort(), [`${net}.1/24`, "fd51::1/64"].sort());
        assert.ok(uouts);

        // Drift: an address removed and the MTU changed behind netbed's back.
        must(["ip", "-n", ns("srv"), "addr", "del", `${net}.1/24`, "dev", "wire0"]);
        must(["ip", "-n", ns("cli"), "link", "set", "dev", "wire0", "mtu", "1300"]);
        const seen = (await vethHandler.read(ctx, vid, uouts))! as any;
        assert.deepEqual(seen.a.addresses, ["fd51::1/64"]);
        // MTU is read from end a, which kept 1400; end b's drift shows in observed
        assert.equal(seen.observed.b.mtu, 1300);
        // update repairs it
        await vethHandler.update(ctx, vid, seen, upd);
        assert.deepEqual(addrs(ns("srv"), "wire0").sort(), [`${net}.1/24`, "fd51::1/64"].sort());
        assert.equal(link(ns("cli"), "wire0").mtu, 1400);

        await vethHandler.delete(ctx, vid, uouts);
        assert.equal(link(ns("srv"), "wire0"), undefined);
        assert.equal(link(ns("cli"), "wire0"), undefined);
        await vethHandler.delete(ctx, vid, uouts); // already gone
        assert.equal(await vethHandler.read(ctx, vid, uouts), undefined);
    });

    it("Bridge and Taps: taps attach, bridge updates in place, a foreign member survives the bridge's deletion", async () => {
        const bctx = handlerCtx("Bridge", "br", { project: "fabric" });
        // A foreign interface (a veth made by the test) stands in for a physical NIC member.
        must(["ip", "-n", ns("srv"), "link", "add", "nic0", "type", "veth", "peer", "name", "nic0p"]);
        const b = BridgeArgsSchema.parse({ host: hosts.srv.conn, name: "br0", addresses: ["192.168.251.1/24"], members: ["nic0"], mtu: 1500 });
        const { id: bid, outs: bouts } = await bridgeHandler.create(bctx, b);
        assert.equal(link(ns("srv"), "nic0").master, "br0");
        assert.equal(link(ns("srv"), "br0").linkinfo.info_data.stp_state, 0);

        const taps = await Promise.all(
            [0, 1].map(async (n) => {
                const ctx = handlerCtx("Tap", `tap${n}`, { project: "fabric" });
                const i = TapArgsSchema.parse({
                    host: hosts.srv.conn,
                    name: `tap${n}`,
                    bridge: "br0",
                    multiQueue: n === 1,
                    queues: n === 1 ? 2 : 1,
                    txqueuelen: 5000,
                });
                return { ctx, i, ...((await tapHandler.create(ctx, i)) as { id: string; outs: any }) };
            }),
        );
        for (const t of taps) {
            const l = link(ns("srv"), t.i.name);
            assert.equal(l.master, "br0");
            assert.equal(l.txqlen, 5000);
            assert.equal(l.linkinfo.info_data.vnet_hdr, true);
            assert.equal(t.outs.observed.txqueuelen, 5000);
            assert.ok(t.outs.ifindex > 0);
        }
        assert.equal(link(ns("srv"), "tap1").linkinfo.info_data.multi_queue, true);

        // Detach tap0 from the bridge in place, then drift: someone re-attaches it.
        const t0 = taps[0];
        const detached = TapArgsSchema.parse({ ...t0.i, bridge: undefined });
        const dOuts = await tapHandler.update(t0.ctx, t0.id, t0.outs, detached);
        assert.equal(link(ns("srv"), "tap0").master, undefined);
        must(["ip", "-n", ns("srv"), "link", "set", "tap0", "master", "br0"]);
        assert.equal(((await tapHandler.read(t0.ctx, t0.id, dOuts)) as any).bridge, "br0");

        // Bridge: STP on and a second address, in place.
        const b2 = BridgeArgsSchema.parse({ ...b, stp: true, addresses: ["192.168.251.1/24", "192.168.252.1/24"] });
        const bouts2 = await bridgeHandler.update(bctx, bid, bouts, b2);
        assert.equal(link(ns("srv"), "br0").ifindex, bouts.ifindex, "updated in place, not re-created");
        assert.notEqual(link(ns("srv"), "br0").linkinfo.info_data.stp_state, 0);

        for (const t of taps) await tapHandler.delete(t.ctx, t.id, t.outs);
        assert.equal(link(ns("srv"), "tap1"), undefined);
        await bridgeHandler.delete(bctx, bid, bouts2);
        assert.equal(link(ns("srv"), "br0"), undefined);
        const nic = link(ns("srv"), "nic0");
        assert.ok(nic, "the foreign member must survive");
        assert.equal(nic.master, undefined);
        must(["ip", "-n", ns("srv"), "link", "del", "nic0"]);
    });

    it("Tap refuses a missing bridge and a name netbed does not own, creating nothing", async () => {
        const ctx = handlerCtx("Tap", "tapx", { project: "fabric" });
        await assert.rejects(
            tapHandler.create(ctx, TapArgsSchema.parse({ host: hosts.srv.conn, name: "tapx", bridge: "nobr" })),
            /bridge 'nobr' does not exist there/,
        );
        assert.equal(link(ns("srv"), "tapx"), undefined);
        must(["ip", "-n", ns("srv"), "tuntap", "add", "dev", "foreign0", "mode", "tap"]);
        await assert.rejects(
            tapHandler.create(ctx, TapArgsSchema.parse({ host: hosts.srv.conn, name: "foreign0" })),
            /already exists and netbed did not create it/,
        );
        // deleting a state that points at it leaves it alone
        await deleteTap(ctx, hosts.srv.conn, "foreign0");
        assert.ok(link(ns("srv"), "foreign0"));
        must(["ip", "-n", ns("srv"), "link", "del", "foreign0"]);
    });

    it("MacvtapLink on a veth parent: its device carries frames both ways", async () => {
        const wctx = handlerCtx("VethPair", "mvwire", { project: "fabric" });
        const w = VethPairArgsSchema.parse({
            a: { host: hosts.srv.conn, name: "uplink0" },
            b: { host: hosts.cli.conn, name: "uplink0", addresses: [`${net}.66/24`] },
        });
        const wire = await vethHandler.create(wctx, w);
        const ctx = handlerCtx("MacvtapLink", "mv", { project: "fabric" });
        const raw = macvtapHandler.defaults!({ host: hosts.srv.conn, name: "mvt0", parent: "uplink0" }, "mv", ctx.urn);
        const i = MacvtapLinkArgsSchema.parse(raw);
        assert.match(i.mac!, /^[0-9a-f][26ae]:/, "derived MACs are locally administered unicast");
        const { id: mid, outs } = (await macvtapHandler.create(ctx, i)) as { id: string; outs: any };
        try {
            const l = link(ns("srv"), "mvt0");
            assert.equal(l.linkinfo.info_kind, "macvtap");
            assert.equal(l.linkinfo.info_data.mode, "bridge");
            assert.equal(l.address, i.mac);
            assert.match(outs.device, /^\/run\/netbed\/dev\/netns-nbt-srv-.*\/mvt0$/);
            assert.ok(fs.statSync(outs.device).isCharacterDevice());

            // Other end -> macvtap: the client's ARP broadcast arrives on the device. Other frames
            // (the client's IPv6 autoconfiguration) may come first, so look for it among all read.
            const reader = spawn("timeout", ["3", "cat", outs.device], { stdio: ["ignore", "pipe", "ignore"] });
            const got: Buffer[] = [];
            reader.stdout!.on("data", (d: Buffer) => got.push(d));
            const done = new Promise<void>((res) => reader.on("close", () => res()));
            await new Promise((r) => setTimeout(r, 200));
            sh(["ip", "netns", "exec", ns("cli"), "ping", "-c", "2", "-i", "0.3", "-W", "1", `${net}.99`]);
            await done;
            const cliMac = Buffer.from(
                link(ns("cli"), "uplink0")
                    .address.split(":")
                    .map((h: string) => parseInt(h, 16)),
            );
            const arp = Buffer.concat([Buffer.alloc(6, 0xff), cliMac, Buffer.from([0x08, 0x06])]);
            assert.ok(Buffer.concat(got).includes(arp), `no ARP broadcast from the client among ${Buffer.concat(got).length} bytes read`);

            // macvtap -> other end: a frame written to the device (after the 10-byte virtio-net
            // header) is received by the client's end of the wire.
            const rxBefore = JSON.parse(must(["ip", "-n", ns("cli"), "-json", "-s", "link", "show", "uplink0"]))[0].stats64.rx.packets;
            const mac = Buffer.from(i.mac!.split(":").map((h) => parseInt(h, 16)));
            const frame = Buffer.concat([Buffer.alloc(10), Buffer.alloc(6, 0xff), mac, Buffer.from([0x88, 0xb5]), Buffer.alloc(46, 0x42)]);
            const fd = fs.openSync(outs.device, "r+");
            try {
                for (let n = 0; n < 3; n++) fs.writeSync(fd, frame);
            } finally {
                fs.closeSync(fd);
            }
            const rxAfter = JSON.parse(must(["ip", "-n", ns("cli"), "-json", "-s", "link", "show", "uplink0"]))[0].stats64.rx.packets;
            assert.ok(rxAfter - rxBefore >= 3, `client received ${rxAfter - rxBefore} frames`);

            // Refresh sees a deleted device node; update re-creates it.
            fs.rmSync(outs.device);
            assert.equal(((await macvtapHandler.read(ctx, mid, outs)) as any).device, "");
            const again = await macvtapHandler.update(ctx, mid, outs, i);
            assert.ok(fs.statSync(again.device as string).isCharacterDevice());
        } finally {
            await macvtapHandler.delete(ctx, mid, outs);
            await vethHandler.delete(wctx, wire.id, wire.outs);
        }
        assert.equal(link(ns("srv"), "mvt0"), undefined);
        assert.ok(!fs.existsSync(outs.device));
    });

    it("MacvtapLink refuses a parent that is not on the host", async () => {
        const ctx = handlerCtx("MacvtapLink", "mv2", { project: "fabric" });
        const i = MacvtapLinkArgsSchema.parse(macvtapHandler.defaults!({ host: hosts.srv.conn, name: "mvt1", parent: "eth9" }, "mv2", ctx.urn));
        await assert.rejects(macvtapHandler.create(ctx, i), /parent interface 'eth9' does not exist there/);
        assert.equal(link(ns("srv"), "mvt1"), undefined);
    });
});
