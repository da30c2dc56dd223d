// The examples' views of a results document (percent of native, PPS cost, the KVM matrix and
// knees), with plain inputs whose answers are worked out by hand.
import { strict as assert } from "node:assert";
import type { CellResult, ResultsDoc } from "../../core/bench/results";
import { lguestTable, renderLguestTable } from "../../examples/lguest-baseline/view";
import { confinementCost, ppsCost, renderSolo5ModelTable, renderSolo5PpsTable, solo5ModelTable, solo5PpsTable } from "../../examples/solo5-pps/view";
import { knees, matrix } from "../../examples/kvm-matrix/view";

const stats = (median: number) => ({ n: 1, median, mean: median, stddev: 0, cv: 0, min: median, max: median, ci: null });

function cell(pair: string, id: string, dims: Partial<CellResult["dimensions"]>, metrics: Record<string, number>, extra: Partial<CellResult> = {}): CellResult {
    return {
        pair,
        cell: id,
        dimensions: { topology: "host-guest", backend: "virtio", client: "a", server: "b", pinning: "none", security: "none", test: "tcp", ...dims },
        status: "ok",
        metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k, stats(v)])),
        repetitions: [],
        rawDir: `${pair}/${id}`,
        ...extra,
    };
}

const run = (duration: number) => ({
    name: "t",
    started: "",
    finished: "",
    wallSeconds: 1,
    measuredSeconds: 1,
    resultsDir: "/r",
    settings: { duration, repetitions: 2, warmup: 0 },
    order: "interleaved" as const,
});

describe("examples' result views", () => {
    it("lguest-baseline: the seed's rows and columns, MByte/s next to Gbit/s, percent of the native cell in the same column", () => {
        const tcp = (pair: string, gbps: number, extra: Partial<CellResult> = {}) => cell(pair, "tcp-1", {}, { gbps }, extra);
        const doc = {
            cells: [
                tcp("native.loopback", 8),
                tcp("native.client", 4),
                tcp("native.server", 2, { status: "failed", metrics: {} }),
                tcp("guest-nat.client", 1),
                tcp("guest-nat.server", 0.5),
                tcp("guest-to-guest.client", 2),
                cell("guest-nat.client", "tcp-8", {}, { gbps: 9 }),
            ],
        };
        const rows = lguestTable(doc);
        assert.deepEqual(
            rows.map((r) => r.row),
            ["native", "bridged", "guest-bridged", "guest-nat", "guest-to-host", "guest-to-guest"],
        );
        // 1 Gbit/s = 1e9 / 8 / 2^20 = 119.2 MByte/s (iperf's MByte).
        assert.deepEqual(rows[3], {
            row: "guest-nat",
            loopback: null,
            client: { gbps: 1, mbytesPerSecond: 119.2, percentOfNative: 25 },
            server: { gbps: 0.5, mbytesPerSecond: 59.6, percentOfNative: null },
        });
        assert.deepEqual(rows[0].loopback, { gbps: 8, mbytesPerSecond: 953.7, percentOfNative: 100 });
        assert.equal(rows[0].server, null, "a failed cell is left out");
        assert.equal(rows[1].client, null, "a row not run is empty");
        assert.equal(rows[5].client!.percentOfNative, 50);
        const text = renderLguestTable(rows);
        assert.match(text[0], /^\s+loopback\s+client\s+server$/);
        assert.match(text[2], /^native\s+953\.7 MB\/s 8 Gbit\/s 100%\s+476\.8 MB\/s 4 Gbit\/s 100%\s+-$/);
        assert.match(text[5], /^guest-nat\s+-\s+119\.2 MB\/s 1 Gbit\/s 25%\s+59\.6 MB\/s 0\.5 Gbit\/s$/);
        assert.equal(text.length, 2 + 6);
    });

    it("solo5-pps: CPU µs per packet from the busy CPU-seconds of a measurement, VM exits null under TCG", () => {
        const rep = (exits: number | null) => ({
            index: 0,
            metrics: {},
            raw: "x",
            seconds: 2,
            cpu: { machines: {}, vmm: {}, vhost: {}, vmExitsPerSecond: exits },
        });
        const doc = {
            run: run(2),
            cells: [
                cell(
                    "bare-metal",
                    "pps-1300",
                    { test: "pps", backend: "host", size: 1300 },
                    { pps: 50_000, lossPct: 1 },
                    { cpuSeconds: { user: 0, system: 1, softirq: 0, guest: 0, busy: 1, vmm: null }, repetitions: [rep(null), rep(null)] },
                ),
                // 1000 pps x 2 s = 2000 packets; 0.5 busy CPU-seconds = 250 µs each, 0.2 in the VMM = 100 µs.
                cell(
                    "virtio",
                    "pps-1300",
                    { test: "pps", size: 1300 },
                    { pps: 1000, lossPct: 0 },
                    { cpuSeconds: { user: 0, system: 0, softirq: 0, guest: 0, busy: 0.5, vmm: 0.2 }, repetitions: [rep(100), rep(300)] },
                ),
                cell("virtio", "pps-64", { test: "pps", size: 64 }, { pps: 9000 }),
                cell("macvtap", "pps-1300", { test: "pps", backend: "macvtap", size: 1300 }, { pps: 800 }),
            ],
        } as Pick<ResultsDoc, "cells" | "run">;
        assert.deepEqual(ppsCost(doc, 1300), [
            {
                pair: "bare-metal",
                backend: "host",
                security: "none",
                size: 1300,
                pps: 50_000,
                lossPct: 1,
                cpuUsPerPacket: 10,
                vmmUsPerPacket: null,
                vmExitsPerSecond: null,
            },
            {
                pair: "virtio",
                backend: "virtio",
                security: "none",
                size: 1300,
                pps: 1000,
                lossPct: 0,
                cpuUsPerPacket: 250,
                vmmUsPerPacket: 100,
                vmExitsPerSecond: 200,
            },
            {
                pair: "macvtap",
                backend: "macvtap",
                security: "none",
                size: 1300,
                pps: 800,
                lossPct: null,
                cpuUsPerPacket: null,
                vmmUsPerPacket: null,
                vmExitsPerSecond: null,
            },
        ]);
    });

    it("solo5-pps: the cost of confinement as netbed compare's verdict on the confined pair against the unconfined one", () => {
        const reps = (v: number[]) => v.map((pps, index) => ({ index, metrics: { pps }, raw: "x", seconds: 2 }));
        const pps = (pair: string, security: string, v: number[]) =>
            cell(pair, "pps-1300", { test: "pps", size: 1300, security }, { pps: [...v].sort((a, b) => a - b)[2] }, { repetitions: reps(v) });
        const doc = {
            version: 1,
            run: { ...run(2), repetitions: 5 },
            environment: { machines: {}, guests: {} },
            cells: [pps("virtio-unconfined", "none", [1000, 1010, 990, 1005, 995]), pps("virtio", "security (qemu)", [800, 810, 790, 805, 795])],
        } as unknown as ResultsDoc;
        const c = confinementCost(doc, 1300, "virtio-unconfined", "virtio")!;
        assert.equal(c.ppsOpen, 1000);
        assert.equal(c.ppsConfined, 800);
        assert.ok(Math.abs(c.change! + 0.2) < 1e-9);
        // 5 against 5, fully separated: the smallest two-sided p of the exact test, 2/252.
        assert.ok(Math.abs(c.pValue - 2 / 252) < 1e-9, String(c.pValue));
        assert.equal(c.verdict, "regression");
        assert.equal(
            confinementCost({ ...doc, cells: [doc.cells[0], { ...doc.cells[1], status: "failed" }] } as ResultsDoc, 1300, "virtio-unconfined", "virtio"),
            null,
        );
    });

    it("solo5-pps: solo5's two tables by I/O configuration, absent rows with their reason, VM exits null with the run's reason", () => {
        const tcg = { unmeasured: { vmExitsPerSecond: "TCG guest: no KVM exit counters" } };
        // Each measurement's window is 2.5 s (the tool's start and finish around its 2 s).
        const rep = (cpu: { busy: number; vmm: number | null }, exits: number | null, why: Record<string, unknown> = {}) => ({
            index: 0,
            metrics: {},
            raw: "x",
            seconds: 2.5,
            cpu: {
                machines: { local: { user: 0, system: 0, softirq: 0, irq: 0, guest: 0, busy: cpu.busy, idle: 5 - cpu.busy } },
                // The other guest's VMM is accounted too, and is not the cell's.
                vmm: (cpu.vmm === null ? { other: 0.4 } : { b: cpu.vmm, other: 0.4 }) as Record<string, number>,
                vhost: {},
                vmExitsPerSecond: exits,
                ...why,
            },
        });
        const pps = (pair: string, dims: Partial<CellResult["dimensions"]>, v: number, cpu: { busy: number; vmm: number | null }, exits: number | null) =>
            cell(
                pair,
                "pps-1300",
                { test: "pps", size: 1300, accel: "tcg", ...dims },
                { pps: v, lossPct: 10 },
                { repetitions: [rep(cpu, exits, exits === null ? tcg : {}), rep(cpu, exits === null ? null : 3 * exits)] },
            );
        const doc = {
            run: run(2),
            cells: [
                // 1.5 busy CPU-seconds in a 2.5-s window: 60% of one CPU; the VMM's 0.9: 36%.
                pps("virtio", { security: "security (qemu)", notification: "event-driven" }, 5100, { busy: 1.5, vmm: 0.9 }, null),
                pps("virtio-busy-poll", { security: "security (qemu)", notification: "guest busy_poll=50 busy_read=50" }, 6200, { busy: 2, vmm: 1.2 }, null),
                // Exits where a host counts them: the median of 100 and 300.
                pps("kvm-guest", { accel: "kvm", notification: "event-driven" }, 400_000, { busy: 3, vmm: 2 }, 100),
                { ...pps("macvtap", { backend: "macvtap" }, 0, { busy: 0, vmm: 0 }, null), status: "failed" as const, error: "VMM died" },
                pps("bare-metal", { backend: "bare-metal", accel: undefined }, 28_500, { busy: 1, vmm: null }, null),
            ],
        } as Pick<ResultsDoc, "cells" | "run">;
        const experiments = [
            { experiment: "QEMU vhost=on", absent: "not on this machine: no /dev/vhost-net" },
            { experiment: "QEMU vhost=off, seccomp, event-driven", pair: "virtio" },
            { experiment: "QEMU vhost=off, seccomp, guest busy polling", pair: "virtio-busy-poll" },
            { experiment: "KVM guest", pair: "kvm-guest" },
            { experiment: "macvtap", pair: "macvtap" },
            { experiment: "bare metal", pair: "bare-metal" },
            { experiment: "not run", pair: "nothing" },
        ];
        const t1 = solo5PpsTable(doc, 1300, experiments);
        assert.deepEqual(t1[0], {
            experiment: "QEMU vhost=on",
            pair: null,
            security: null,
            notification: null,
            pps: null,
            lossPct: null,
            note: "not on this machine: no /dev/vhost-net",
        });
        assert.deepEqual(
            t1.map((l) => [l.pps, l.notification, l.note]),
            [
                [null, null, "not on this machine: no /dev/vhost-net"],
                [5100, "event-driven", null],
                [6200, "guest busy_poll=50 busy_read=50", null],
                [400_000, "event-driven", null],
                [null, null, "failed: VMM died"],
                [28_500, null, null],
                [null, null, "pair 'nothing' has no pps-1300 cell"],
            ],
        );
        const t2 = solo5ModelTable(doc, 1300, experiments);
        assert.deepEqual(
            t2.map((l) => [l.vmExitsPerSecond, l.cpuPct, l.vmmCpuPct, l.note]),
            [
                [null, null, null, "not on this machine: no /dev/vhost-net"],
                [null, 60, 36, "VM exits null: TCG guest: no KVM exit counters"],
                [null, 80, 48, "VM exits null: TCG guest: no KVM exit counters"],
                [200, 120, 80, null],
                [null, null, null, "failed: VMM died"],
                [null, 40, null, "VM exits null: no guest"],
                [null, null, null, "pair 'nothing' has no pps-1300 cell"],
            ],
        );
        const text1 = renderSolo5PpsTable(t1, 1300);
        assert.match(text1[0], /^Experiment\s+PPS with 1300 byte packets as receiver\s+loss\s+confinement\s+notification\s+notes$/);
        assert.match(text1[2], /^QEMU vhost=on\s+-\s+-\s+-\s+-\s+not on this machine: no \/dev\/vhost-net$/);
        assert.match(text1[4], /^QEMU vhost=off, seccomp, guest busy polling\s+6\.2k\s+10%\s+security \(qemu\)\s+guest busy_poll=50 busy_read=50$/);
        const text2 = renderSolo5ModelTable(t2);
        assert.match(text2[3], /^QEMU vhost=off, seccomp, event-driven\s+-\s+60% \(VMM 36%\)\s+VM exits null: TCG guest/);
        assert.match(text2[5], /^KVM guest\s+200\s+120% \(VMM 80%\)$/);
        assert.equal(text2.length, 2 + experiments.length);
    });

    it("kvm-matrix: one headline row per cell with protocol, size and service demand; knees from the load cells", () => {
        const sweep = [
            { mps: 500, p50us: 100, p99us: 200 },
            { mps: 1000, p50us: 120, p99us: 500 },
        ];
        const doc = {
            cells: [
                cell("pinned-host-guest", "tcp-1", { pinning: "vcpus 0; other 1" }, { gbps: 1.2 }, { serviceDemand: { unit: "us/KB", value: 3.5 } }),
                cell("pinned-host-guest", "udp-max-64", { test: "udp", size: 64, pinning: "vcpus 0; other 1" }, { gbps: 0.1, pps: 2e5 }),
                cell("pinned-host-guest", "icmp-1400", { test: "icmp", size: 1400, pinning: "vcpus 0; other 1" }, { p99ms: 0.9, p50ms: 0.5 }),
                cell("pinned-host-guest", "flood-56-1000", { test: "flood", size: 56, pinning: "vcpus 0; other 1" }, { lossPct: 0, avgms: 0.4 }),
                cell("pinned-host-guest", "tcp-1-bidir", { bidir: true, pinning: "vcpus 0; other 1" }, { gbps: 1.5, gbpsForward: 0.8, gbpsReverse: 0.7 }),
                cell(
                    "unpinned-guest-guest",
                    "udp_rr-1",
                    { test: "rr", size: 1, topology: "guest-guest" },
                    { tps: 4000 },
                    { serviceDemand: { unit: "us/tr", value: 210 } },
                ),
                cell("unpinned-guest-guest", "tcp_rr-1", { test: "rr", size: 1, topology: "guest-guest" }, {}, { status: "failed", metrics: {} }),
                cell(
                    "unpinned-guest-guest",
                    "load-udp-64",
                    { test: "load", protocol: "udp", size: 64, topology: "guest-guest" },
                    { "p99us@500": 200 },
                    { sweep, knee: 1000 },
                ),
            ],
        };
        assert.deepEqual(
            matrix(doc).map((r) => [r.pair, r.protocol, r.cell, r.size, r.metric, r.median, r.serviceDemand?.value ?? null]),
            [
                ["pinned-host-guest", "TCP", "tcp-1", null, "gbps", 1.2, 3.5],
                ["pinned-host-guest", "UDP", "udp-max-64", 64, "gbps", 0.1, null],
                ["pinned-host-guest", "ICMP", "icmp-1400", 1400, "p99ms", 0.9, null],
                ["pinned-host-guest", "ICMP", "flood-56-1000", 56, "lossPct", 0, null],
                ["pinned-host-guest", "TCP", "tcp-1-bidir", null, "gbps", 1.5, null],
                ["unpinned-guest-guest", "UDP", "udp_rr-1", 1, "tps", 4000, 210],
            ],
        );
        assert.deepEqual(knees(doc), [{ pair: "unpinned-guest-guest", topology: "guest-guest", pinning: "none", knee: 1000, sweep }]);
    });
});
