// Tool output parsers on real outputs captured on these machines (test/fixtures/tools/), and the
// statistics against hand-computed values.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { iperf3Argv, netperfArgv, parseIperf3, parseNetperf, parsePing, parseSockperf, pingArgv, sockperfArgv } from "../../../../core/bench/parse";
import { knee, medianInterval, mulberry32, orderStatisticCoverage, percentile, summarize } from "../../../../core/bench/stats";
import { cpuSeconds, processCpuSeconds } from "../../../../core/procstat";
import { expandCells, schedule, VOLT_MATRIX, duplicateCells } from "../../../../core/bench/spec";
import { ResultsDocSchema, summarizeResults } from "../../../../core/bench/results";

const fx = (f: string) => fs.readFileSync(path.join(__dirname, "..", "..", "..", "fixtures", "tools", f), "utf8");

describe("benchmark tool parsers (real outputs)", () => {
    it("iperf3 TCP: receiver goodput, retransmits, per-second samples", () => {
        const r = parseIperf3(fx("iperf3-tcp.json"));
        assert.equal(r.protocol, "TCP");
        assert.equal(r.bitsPerSecond, 15868341164.083803);
        assert.equal(r.bytes, 3967549440);
        assert.equal(r.retransmits, 25);
        assert.equal(r.intervals.length, 2);
        assert.equal(r.intervals[0].bitsPerSecond, 15670930023.531088);
    });
    it("iperf3 reverse with 2 streams", () => {
        const r = parseIperf3(fx("iperf3-tcp-p2-reverse.json"));
        assert.equal(r.reverse, true);
        assert.equal(r.streams, 2);
        assert.equal(r.bitsPerSecond, 20666122935.328457);
    });
    it("iperf3 UDP 64-byte datagrams: packets, loss and the receiver's packet rate", () => {
        const r = parseIperf3(fx("iperf3-udp-64.json"));
        assert.equal(r.protocol, "UDP");
        assert.equal(r.lostPackets, 3974);
        assert.equal(r.packets, 236890);
        assert.ok(Math.abs(r.lostPercent! - 1.6775718687998649) < 1e-12);
        assert.ok(Math.abs(r.packetsPerSecond! - (236809 - 3974) / 1.000161) < 1e-6, "delivered datagrams only");
    });
    it("iperf3 connection refused is a clear error", () => {
        assert.throws(() => parseIperf3(fx("iperf3-refused.json")), /iperf3 failed: unable to connect to server: Connection refused/);
        assert.throws(() => parseIperf3("iperf3: error - bad"), /iperf3 printed no JSON result/);
    });
    it("sockperf ping-pong percentiles, and its errors", () => {
        const r = parseSockperf(fx("sockperf-udp.txt"));
        assert.equal(r.avg, 13.249);
        assert.equal(r.p50, 12.343);
        assert.equal(r.p99, 33.413);
        assert.equal(r.p999, 61.972);
        assert.equal(r.min, 8.47);
        assert.equal(r.max, 1280.351);
        assert.equal(r.observations, 20756);
        assert.equal(r.received, 20756);
        assert.ok(parseSockperf(fx("sockperf-tcp.txt")).p50 > 0);
        assert.equal(parseSockperf(fx("sockperf-underload.txt")).p50, 63.291);
        assert.throws(() => parseSockperf(fx("sockperf-refused.txt")), /sockperf failed: Can`t connect socket \(errno=111 Connection refused\)/);
        assert.equal(r.roundTrip, false);
    });
    // sockperf 3.8+ is not packaged here: these two are the 3.7 capture with the summary line as 3.8
    // prints it (the whole statistics group in the parentheses; avg-rtt and round-trip figures,
    // here the capture's doubled, under --full-rtt).
    it("sockperf 3.8+: the extended statistics line, and --full-rtt's avg-rtt", () => {
        const r = parseSockperf(fx("sockperf-3.8-udp.txt"));
        assert.deepEqual([r.avg, r.stddev, r.p50, r.p99, r.roundTrip], [13.249, 11.49, 12.343, 33.413, false]);
        const rtt = parseSockperf(fx("sockperf-3.8-full-rtt.txt"));
        assert.deepEqual([rtt.avg, rtt.stddev, rtt.p50, rtt.min, rtt.roundTrip], [26.498, 22.98, 24.686, 16.94, true]);
    });
    it("netperf omni CSV: transactions/s, service demand, latency; no netserver is a clear error", () => {
        const r = parseNetperf(fx("netperf-tcp_rr.txt"));
        assert.equal(r.transactionsPerSecond, 30561.86);
        assert.equal(r.localServiceDemand, 33.731);
        assert.equal(r.p99LatencyUs, 82);
        assert.equal(parseNetperf(fx("netperf-tcp_crr.txt")).transactionsPerSecond, 13688.71);
        assert.equal(parseNetperf(fx("netperf-udp_rr.txt")).meanLatencyUs, 26.37);
        // ELAPSED_TIME (the last selector; absent from outputs captured before it was asked for).
        assert.equal(parseNetperf(fx("netperf-tcp_rr-elapsed.txt")).elapsedSeconds, 1);
        assert.equal(parseNetperf(fx("netperf-tcp_crr-counted.txt")).elapsedSeconds, 0.09);
        assert.equal(r.elapsedSeconds, undefined);
        assert.equal(
            netperfArgv({ server: "h", port: 3, test: "TCP_RR", duration: 2, requestSize: 1, responseSize: 1 }).at(-1)?.split(",").at(-1),
            "ELAPSED_TIME",
        );
        assert.throws(
            () => parseNetperf(fx("netperf-refused.txt")),
            /netperf failed: establish control: are you sure there is a netserver listening on 127.0.0.1 at port 12999\?/,
        );
    });
    it("ping (iputils and busybox): per-packet RTTs, loss; unreachable is a clear error", () => {
        const r = parsePing(fx("ping-iputils.txt"));
        assert.deepEqual(
            r.rtts.map((x) => x.ms),
            [0.059, 0.022, 0.069, 0.006, 0.006],
        );
        assert.equal(r.lossPercent, 0);
        const b = parsePing(fx("ping-busybox.txt"));
        assert.deepEqual(
            b.rtts.map((x) => x.seq),
            [0, 1, 2],
        );
        assert.equal(b.received, 3);
        assert.throws(() => parsePing(fx("ping-unreachable.txt")), /ping failed: ping: connect: Network is unreachable/);
        assert.equal(r.duplicates, 0);
    });
    // Captured here: a broadcast ping answered by two namespaces (iputils marks no "(DUP!)" for a
    // broadcast, busybox does).
    it("ping: duplicate replies are counted, not taken as RTT samples", () => {
        const r = parsePing(fx("ping-iputils-dup.txt"));
        assert.deepEqual(
            r.rtts.map((x) => [x.seq, x.ms]),
            [
                [1, 0.107],
                [2, 0.056],
                [3, 0.052],
            ],
        );
        assert.deepEqual([r.duplicates, r.transmitted, r.received, r.lossPercent], [2, 3, 3, 0]);
        const b = parsePing(fx("ping-busybox-dup.txt"));
        assert.deepEqual(
            b.rtts.map((x) => [x.seq, x.ms]),
            [
                [0, 0.093],
                [1, 0.079],
                [2, 0.087],
            ],
        );
        assert.equal(b.duplicates, 2);
    });
    it("argv renderers: words, never a shell string", () => {
        assert.deepEqual(iperf3Argv({ server: "10.0.0.1", port: 5201, duration: 2, parallel: 8, reverse: true }), [
            "iperf3",
            "-c",
            "10.0.0.1",
            "-p",
            "5201",
            "-t",
            "2",
            "-J",
            "-P",
            "8",
            "-R",
        ]);
        assert.deepEqual(iperf3Argv({ server: "h", port: 1, duration: 1, udp: true, bitrate: "0", length: 64 }).slice(-5), ["-u", "-b", "0", "-l", "64"]);
        assert.deepEqual(sockperfArgv({ mode: "under-load", server: "h", port: 2, duration: 3, tcp: true, messageSize: 64, mps: 500 }), [
            "sockperf",
            "under-load",
            "-i",
            "h",
            "-p",
            "2",
            "-t",
            "3",
            "--tcp",
            "-m",
            "64",
            "--mps",
            "500",
            "--reply-every",
            "1",
        ]);
        assert.deepEqual(netperfArgv({ server: "h", port: 3, test: "TCP_CRR", duration: 2, requestSize: 1, responseSize: 1 }).slice(0, 9), [
            "netperf",
            "-H",
            "h",
            "-p",
            "3",
            "-l",
            "2",
            "-t",
            "TCP_CRR",
        ]);
        assert.deepEqual(pingArgv({ target: "h", count: 5, interval: 0.01, size: 56 }), ["ping", "-c", "5", "-i", "0.01", "-W", "2", "-s", "56", "h"]);
    });
});

describe("benchmark statistics (hand-computed)", () => {
    it("percentiles interpolate linearly between ranks", () => {
        // [1,2,3,4,100]: rank for p90 = 0.9*4 = 3.6 -> 4 + 0.6*(100-4) = 61.6
        assert.ok(Math.abs(percentile([100, 1, 3, 2, 4], 90) - 61.6) < 1e-9);
        assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
        assert.equal(percentile([7], 99), 7);
    });
    it("summary: median, sample stddev, CV, min/max", () => {
        const s = summarize([1, 2, 3, 4, 100]);
        assert.equal(s.median, 3);
        assert.equal(s.mean, 22);
        // deviations -21 -20 -19 -18 78: squares 441+400+361+324+6084 = 7610; /4 = 1902.5
        assert.ok(Math.abs(s.stddev - Math.sqrt(1902.5)) < 1e-12);
        assert.ok(Math.abs(s.cv - Math.sqrt(1902.5) / 22) < 1e-12);
        assert.equal(s.min, 1);
        assert.equal(s.max, 100);
        assert.equal(summarize([5]).stddev, 0);
    });
    it("interval of the median: order statistics at the coverage n allows, none for n <= 3", () => {
        // [min, max] covers the median with 1 - 2 * 0.5^n: 75% at 3 (too little: no interval), 87.5% at 4, 93.75% at 5.
        assert.equal(summarize([5]).ci, null);
        assert.equal(summarize([1, 2, 3]).ci, null);
        assert.deepEqual(summarize([4, 1, 3, 2]).ci, { low: 1, high: 4, level: 0.875 });
        assert.deepEqual(summarize([1, 2, 3, 4, 100]).ci, { low: 1, high: 100, level: 0.9375 });
        // n = 9: [x(2), x(8)] covers 1 - 2 * 10/512 = 96.1%; [x(3), x(7)] only 82%.
        const nine = [9, 8, 7, 6, 5, 4, 3, 2, 1];
        assert.deepEqual(medianInterval(nine), { low: 2, high: 8, level: 1 - 20 / 512 });
        // n = 20: x(6)..x(15), coverage 95.86% (scipy.stats.binom.cdf(5, 20, 0.5) = 0.020695).
        const ci = medianInterval(Array.from({ length: 20 }, (_, i) => i + 1))!;
        assert.deepEqual([ci.low, ci.high], [6, 15]);
        assert.ok(Math.abs(ci.level - (1 - 2 * 0.020695)) < 1e-5);
        assert.equal(orderStatisticCoverage(2, 1), 0.5);
    });
    it("a version 1 document is read as the current version: its bootstrap ci95 replaced by the order-statistic interval of its repetitions", () => {
        const raw = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "fixtures", "compare", "loopback-a.json"), "utf8"));
        assert.equal(raw.version, 1);
        const doc = ResultsDocSchema.parse(raw);
        assert.equal(doc.version, 3);
        const c = doc.cells[0];
        const values = c.repetitions.map((r) => r.metrics.gbps);
        assert.equal(values.length, 10);
        assert.deepEqual(c.metrics.gbps.ci, medianInterval(values));
        assert.ok(!("ci95" in c.metrics.gbps));
        // n = 10: [x(2), x(9)], 97.85%.
        assert.equal(c.metrics.gbps.ci!.level, 1 - 22 / 1024);
    });
    it("the order-statistic interval's coverage holds in simulation (n = 5 and 12, skewed data)", () => {
        const rnd = mulberry32(17);
        for (const n of [5, 12]) {
            let hit = 0;
            let level = 0;
            for (let t = 0; t < 4000; t++) {
                // Exponential(1): median ln 2.
                const ci = medianInterval(Array.from({ length: n }, () => -Math.log(1 - rnd())))!;
                level = ci.level;
                if (ci.low <= Math.LN2 && Math.LN2 <= ci.high) hit++;
            }
            assert.ok(Math.abs(hit / 4000 - level) < 0.015, `n ${n}: covered ${hit / 4000}, claimed ${level}`);
        }
    });
    it("knee: the highest load before P99 passes factor x unloaded", () => {
        const steps = [
            { load: 100, p99: 10 },
            { load: 1000, p99: 15 },
            { load: 5000, p99: 19 },
            { load: 10000, p99: 25 },
            { load: 20000, p99: 12 },
        ];
        assert.equal(knee(steps, 2), 5000);
        assert.equal(knee(steps, 3), 20000);
    });
    it("CPU-seconds from /proc/stat (guest split out of user) and a process's utime+stime", () => {
        const before = "cpu  100 10 50 1000 5 1 2 0 20 0\ncpu0 1 1 1 1 1 1 1 1 1 1\n";
        const after = "cpu  300 10 90 1500 5 3 12 0 120 0\n";
        const c = cpuSeconds(before, after);
        // user 200 ticks incl. 100 guest -> user 1.0 s, guest 1.0 s; system 0.4; irq 0.02; softirq 0.1
        assert.equal(c.user, 1);
        assert.equal(c.guest, 1);
        assert.equal(c.system, 0.4);
        assert.equal(c.softirq, 0.1);
        assert.equal(c.busy, 2 + 0.4 + 0.02 + 0.1);
        const p = (u: number, s: number) => `4242 (qemu (x) y) S 1 2 3 4 5 6 7 8 9 10 ${u} ${s} 0 0`;
        assert.equal(processCpuSeconds(p(100, 50), p(350, 80)), 2.8);
    });
});

describe("benchmark matrix", () => {
    it("expands tests into cells (pps one per size) and refuses duplicates", () => {
        const ids = expandCells(VOLT_MATRIX).map((c) => c.id);
        assert.deepEqual(ids, [
            "tcp-1",
            "tcp-8",
            "tcp-1-reverse",
            "udp-max-1400",
            "icmp-56",
            "latency-tcp-64",
            "pps-64",
            "pps-128",
            "pps-256",
            "pps-512",
            "tcp_rr-1",
            "tcp_crr-1",
            "udp_rr-1",
        ]);
        assert.deepEqual(duplicateCells([{ kind: "pps", sizes: [64, 64] }]), ["pps-64"]);
    });
    it("schedules warm-ups first, then rounds that visit every pair of a cell in turn (A B A B)", () => {
        const cells = expandCells([
            { kind: "tcp", streams: 1, reverse: false },
            { kind: "icmp", count: 1, interval: 1, size: 56 },
        ]);
        const s = schedule(2, cells, { repetitions: 2, warmup: 1 }).map((x) => `${x.warmup ? "w" : "r"}${x.repetition}:${x.cell.id}:${x.pair}`);
        assert.deepEqual(s, [
            "w-1:tcp-1:0",
            "w-1:tcp-1:1",
            "w-1:icmp-56:0",
            "w-1:icmp-56:1",
            "r0:tcp-1:0",
            "r0:tcp-1:1",
            "r0:icmp-56:0",
            "r0:icmp-56:1",
            "r1:tcp-1:0",
            "r1:tcp-1:1",
            "r1:icmp-56:0",
            "r1:icmp-56:1",
        ]);
    });
    it("the summary takes the Volt headline numbers per pair", () => {
        const st = (median: number) => ({ n: 1, median, mean: median, stddev: 0, cv: 0, min: median, max: median, ci: null });
        const cell = (pair: string, cell: string, dims: object, metrics: object) =>
            ({ pair, cell, status: "ok", dimensions: { test: cell.split("-")[0], ...dims }, metrics }) as any;
        const s = summarizeResults({
            cells: [
                cell("virtio", "tcp-1", {}, { gbps: st(1.5) }),
                cell("virtio", "pps-64", {}, { pps: st(9000) }),
                cell("virtio", "tcp_rr-1", {}, { tps: st(700) }),
            ],
        });
        assert.deepEqual(s, { virtio: { tcpGbps: 1.5, pps64: 9000, tcpRrTps: 700 } });
    });
});
