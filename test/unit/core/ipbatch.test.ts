// ip -batch: the line syntax and the output attribution, on output captured from iproute2 6.1.
import { strict as assert } from "node:assert";
import { batchLine, batchable, countSentinels, parseBatch, parseEthtoolBatch, renderBatch } from "../../../core/ipbatch";

const LO =
    '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"mtu":65536,"qdisc":"noop","operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00"}]';

describe("ip batch syntax and attribution (pure)", () => {
    it("writes words ip's batch reader splits back the same, and refuses the rest", () => {
        assert.equal(batchLine(["link", "set", "dev", "tap0", "alias", "netbed tap 0", "up"]), 'link set dev tap0 alias "netbed tap 0" up');
        assert.equal(batchLine(["addr", "add", "fd51::1/64", "dev", "x", "nodad"]), "addr add fd51::1/64 dev x nodad");
        for (const bad of ["a#b", 'say "hi"', "two\nlines", "back\\slash", "tab\there"]) {
            assert.equal(batchLine(["link", "set", "dev", "x", "alias", bad]), undefined, bad);
        }
        assert.equal(batchLine([]), undefined);
        assert.equal(batchLine(Array.from({ length: 95 }, () => "w")), undefined, "ip stops at 100 words");
    });

    it("keeps `link show` (it changes the later lines of a batch) and queries about lo out of batches", () => {
        assert.equal(batchable(["link", "show", "dev", "br0"]), false);
        assert.equal(batchable(["link"]), false);
        assert.equal(batchable(["addr", "show", "dev", "lo"]), false);
        assert.equal(batchable(["addr", "show", "dev", "br0"]), true);
        assert.equal(batchable(["link", "set", "dev", "br0", "up"]), true);
    });

    it("follows every command with the sentinel", () => {
        assert.equal(renderBatch(["a 1", "b 2"]), "a 1\naddr show dev lo\nb 2\naddr show dev lo\n");
    });

    it("gives each command its own output and its own error", () => {
        // Commands: link add (ok), link set on a missing device (fails), addr show lo-less query (ok).
        const stdout = `${LO}\n${LO}\n[{"ifindex":2,"ifname":"br9","addr_info":[]}]\n${LO}\n`;
        const stderr = 'Cannot find device "nope"\nCommand failed -:3\n';
        const p = parseBatch(3, stdout, stderr, 1);
        assert.equal(p.stoppedAt, undefined);
        assert.deepEqual(
            p.done.map((d) => d.code),
            [0, 1, 0],
        );
        assert.equal(p.done[1].stderr, 'Cannot find device "nope"');
        assert.equal(p.done[0].stdout, "");
        assert.equal(JSON.parse(p.done[2].stdout)[0].ifname, "br9");
    });

    it("finds where ip gave up (an argument it cannot parse ends the process)", () => {
        // captured: tuntap add, link set alias+up, link set mtu abc (fatal), addr add (never ran)
        const p = parseBatch(4, `${LO}\n${LO}\n`, 'Error: argument "abc" is wrong: Invalid "mtu" value\n', 255);
        assert.equal(p.done.length, 2);
        assert.deepEqual(p.stoppedAt, { index: 2, stderr: 'Error: argument "abc" is wrong: Invalid "mtu" value' });
        // killed: nothing past the last sentinel is known
        assert.deepEqual(parseBatch(4, `${LO}\n`, "", -1, true), { done: [{ code: 0, stdout: "", stderr: "" }] });
        assert.throws(() => parseBatch(2, `${LO}\n`, "", 0), /finished 1 of 2/);
    });

    it("attributes failures in a later batch of a long-lived process by its line numbers", () => {
        // The process read 7 lines before this batch of 2 commands (lines 8-11) and its END_LINE (12).
        const stderr = 'Cannot find device "nope"\nCommand failed -:10\nDevice "nb/end" does not exist.\nCommand failed -:12\n';
        const p = parseBatch(2, `${LO}\n${LO}\n`, stderr, 0, false, 7);
        assert.deepEqual(
            p.done.map((d) => [d.code, d.stderr]),
            [
                [0, ""],
                [1, 'Cannot find device "nope"'],
            ],
        );
        assert.equal(countSentinels(`${LO}\n${LO}`), 1, "a line still being written is not counted");
    });

    it("splits batched ethtool output per device", () => {
        const out =
            "Features for a:\ntcp-segmentation-offload: on\n### netbed-ethtool 0\nnetlink error: no device matches name (offset 24)\n### netbed-ethtool 1\n";
        const r = parseEthtoolBatch(3, out);
        assert.equal(r[0]!.code, 0);
        assert.match(r[0]!.stdout, /tcp-segmentation-offload: on/);
        assert.equal(r[1]!.code, 1);
        assert.match(r[1]!.stderr, /no device/);
        assert.equal(r[2], undefined);
    });
});
