// The shared ip batch against a real namespace: many concurrent commands, failures attributed to
// their own command, a batch that ip abandons half-way.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { ethtoolFeatures, runIp } from "../../../../providers/hostops/ipbatch";
import { endIpSessions } from "../../../../providers/hostops/ipsession";
import { NetnsTransport } from "../../../../providers/transport";
import { dropNetns, must, uniq } from "../../../helpers";

describe("shared ip batch (real namespace)", function () {
    this.timeout(60_000);
    const ns = `nbt-ipb-${uniq()}`;
    let t: NetnsTransport;
    let processes = 0;
    before(() => {
        must(["ip", "netns", "add", ns]);
        t = new NetnsTransport(ns, "batchtest");
        const run = t.run.bind(t);
        t.run = (argv, opts) => {
            processes++;
            return run(argv, opts);
        };
    });
    after(() => dropNetns(ns));

    it("runs many concurrent commands in few processes with the results of separate ones", async () => {
        const n = 40;
        processes = 0;
        await Promise.all(Array.from({ length: n }, (_, k) => runIp(t, ["ip", "tuntap", "add", "dev", `bt${k}`, "mode", "tap"])));
        const shown = await Promise.all(Array.from({ length: n }, (_, k) => runIp(t, ["ip", "-json", "-details", "addr", "show", "dev", `bt${k}`])));
        shown.forEach((r, k) => {
            assert.equal(JSON.parse(r.stdout)[0].ifname, `bt${k}`);
        });
        assert.ok(processes <= 4, `${2 * n} commands took ${processes} processes`);
        const links = JSON.parse(must(["ip", "-n", ns, "-json", "link", "show"])) as any[];
        assert.equal(links.filter((l) => /^bt\d+$/.test(l.ifname)).length, n);
    });

    it("reads every link's addresses in one batch, whatever came before in it", async () => {
        // A batched `link show` leaves ip showing links without addresses for the rest of the
        // batch, which is why the existence checks use `addr show`.
        for (const k of [10, 11, 12]) must(["ip", "-n", ns, "addr", "add", `10.250.${k}.1/24`, "dev", `bt${k}`]);
        const names = ["bt10", "bt11", "bt12"];
        const [, ...shown] = await Promise.all([
            runIp(t, ["ip", "-json", "-details", "link", "show", "dev", "bt10"]),
            ...names.map((n) => runIp(t, ["ip", "-json", "-details", "addr", "show", "dev", n])),
            ...names.map((n) => runIp(t, ["ip", "-json", "route", "show", "dev", n])),
        ]);
        names.forEach((n, k) => {
            const l = JSON.parse(shown[k].stdout)[0];
            assert.equal(l.ifname, n);
            assert.deepEqual(
                l.addr_info.filter((a: any) => a.family === "inet").map((a: any) => a.local),
                [`10.250.${10 + k}.1`],
            );
            const routes = JSON.parse(shown[3 + k].stdout) as any[];
            assert.ok(
                routes.every((r) => !String(r.dst).includes(":")),
                `IPv4 routes only: ${shown[3 + k].stdout}`,
            );
        });
    });

    it("fails only the command that failed, naming it and what ip said", async () => {
        const [ok, missing, also] = await Promise.allSettled([
            runIp(t, ["ip", "link", "set", "dev", "bt0", "alias", "netbed bt 0", "up"]),
            runIp(t, ["ip", "link", "set", "dev", "nosuch0", "up"]),
            runIp(t, ["ip", "-json", "link", "show", "dev", "nosuch1"], { check: false }),
        ]);
        assert.equal(ok.status, "fulfilled");
        assert.equal(missing.status, "rejected");
        assert.match((missing as PromiseRejectedResult).reason.message, /ip link set dev nosuch0 up.*exited with code 1[\s\S]*Cannot find device "nosuch0"/);
        assert.equal(also.status, "fulfilled");
        assert.equal((also as PromiseFulfilledResult<any>).value.code, 1);
        assert.match((also as PromiseFulfilledResult<any>).value.stderr, /does not exist/);
        assert.equal(JSON.parse(must(["ip", "-n", ns, "-json", "link", "show", "dev", "bt0"]))[0].ifalias, "netbed bt 0");
    });

    it("reruns the commands after one that made ip give up", async () => {
        const [bad, after1, after2] = await Promise.allSettled([
            runIp(t, ["ip", "link", "set", "dev", "bt1", "mtu", "abc"]),
            runIp(t, ["ip", "link", "set", "dev", "bt1", "mtu", "1400"]),
            runIp(t, ["ip", "addr", "add", "10.250.9.1/24", "dev", "bt2"]),
        ]);
        assert.equal(bad.status, "rejected");
        assert.match((bad as PromiseRejectedResult).reason.message, /Invalid "mtu" value/);
        assert.equal(after1.status, "fulfilled");
        assert.equal(after2.status, "fulfilled");
        assert.equal(JSON.parse(must(["ip", "-n", ns, "-json", "link", "show", "dev", "bt1"]))[0].mtu, 1400);
    });

    it("sends batch after batch to one ip process in the namespace, which ends when idle or before the namespace goes", async () => {
        const ipPids = () =>
            must(["ip", "netns", "pids", ns])
                .split("\n")
                .filter((p) => p && fs.readFileSync(`/proc/${p}/comm`, "utf8").trim() === "ip");
        const idle = async () => {
            const stop = Date.now() + 10_000;
            while (ipPids().length > 0 && Date.now() < stop) await new Promise((r) => setTimeout(r, 50));
        };
        await idle(); // the earlier tests' processes (other global options) end first
        const seen = new Set<string>();
        for (let k = 0; k < 3; k++) {
            await runIp(t, ["ip", "link", "set", "dev", `bt${k}`, "txqueuelen", String(600 + k)]);
            for (const p of ipPids()) seen.add(p);
        }
        assert.equal(seen.size, 1, `one ip process for three batches, saw ${[...seen]}`);
        // ip numbers lines from its start: a failure in a later batch is still its own command's.
        const [ok, bad] = await Promise.allSettled([
            runIp(t, ["ip", "link", "set", "dev", "bt3", "up"]),
            runIp(t, ["ip", "link", "set", "dev", "nosuch3", "up"]),
        ]);
        assert.equal(ok.status, "fulfilled");
        assert.match((bad as PromiseRejectedResult).reason.message, /nosuch3 up.*exited with code 1[\s\S]*Cannot find device "nosuch3"/);
        assert.deepEqual(ipPids(), [...seen], "still the same process");
        // ip caches the index of every link it has seen: a link deleted and made again behind the
        // process's back is found anew, and a deleted one reads as missing, not as empty.
        const show = (dev: string) => runIp(t, ["ip", "-json", "-details", "addr", "show", "dev", dev], { check: false });
        assert.equal((await show("bt5")).code, 0);
        assert.equal((await show("bt6")).code, 0);
        must(["ip", "-n", ns, "link", "del", "bt5"]);
        must(["ip", "-n", ns, "link", "del", "bt6"]);
        must(["ip", "-n", ns, "tuntap", "add", "dev", "bt5", "mode", "tap"]);
        await runIp(t, ["ip", "-json", "-details", "link", "set", "dev", "bt5", "mtu", "1280"]);
        assert.equal(JSON.parse((await show("bt5")).stdout)[0].mtu, 1280);
        const gone = await show("bt6");
        assert.equal(gone.code, 1);
        assert.match(gone.stderr, /does not exist/);
        await idle();
        assert.deepEqual(ipPids(), [], "the idle process ends");
        await runIp(t, ["ip", "link", "set", "dev", "bt4", "up"]);
        assert.equal(ipPids().length, 1);
        await endIpSessions(ns);
        assert.deepEqual(ipPids(), [], "ended before its namespace is deleted");
        assert.equal(JSON.parse(must(["ip", "-n", ns, "-json", "link", "show", "dev", "bt2"]))[0].txqlen, 602);
    });

    it("batches ethtool -k per device, in one shell for batch after batch", async () => {
        const shells = () =>
            must(["ip", "netns", "pids", ns])
                .split("\n")
                .filter((p) => p && fs.readFileSync(`/proc/${p}/comm`, "utf8").trim() === "sh");
        const [a, b] = await Promise.all([ethtoolFeatures(t, "bt3"), ethtoolFeatures(t, "nosuch2")]);
        assert.equal(a.code, 0);
        assert.match(a.stdout, /^tx-checksumming: (on|off)/m);
        assert.notEqual(b.code, 0);
        const first = shells();
        const c = await ethtoolFeatures(t, "bt4");
        assert.match(c.stdout, /^tx-checksumming: (on|off)/m);
        assert.doesNotMatch(c.stdout, /netbed-ethtool/);
        assert.equal(first.length, 1);
        assert.deepEqual(shells(), first, "the same shell");
        await endIpSessions(ns);
        assert.deepEqual(shells(), []);
    });
});
