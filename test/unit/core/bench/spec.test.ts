// The benchmark matrix: cells from tests, their schedule, and the results summarized per cell.
import { strict as assert } from "node:assert";
import { expandCells, schedule, VOLT_MATRIX, duplicateCells } from "../../../../core/bench/spec";
import { summarizeResults } from "../../../../core/bench/results";

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
