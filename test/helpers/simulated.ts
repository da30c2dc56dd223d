// Simulated results documents for the statistics tests: the local stack's matrix, every value
// drawn from a normal distribution around a fixed mean per cell and metric.
import { type CellResult, RESULTS_VERSION, type ResultsDoc } from "../../core/bench/results";
import { summarize } from "../../core/bench/stats";

/** The local stack's matrix (stacks/Pulumi.local.yaml): cell id, test, dimensions, metrics. */
const MATRIX: { cell: string; test: string; dims: Partial<CellResult["dimensions"]>; metrics: Record<string, number> }[] = [
    { cell: "tcp-1", test: "tcp", dims: { streams: 1 }, metrics: { gbps: 1 } },
    { cell: "tcp-8", test: "tcp", dims: { streams: 8 }, metrics: { gbps: 1.2 } },
    { cell: "tcp-1-rev", test: "tcp", dims: { streams: 1, reverse: true }, metrics: { gbps: 0.9 } },
    { cell: "udp-max-1400", test: "udp", dims: { size: 1400 }, metrics: { gbps: 0.5 } },
    { cell: "icmp-56", test: "icmp", dims: { size: 56 }, metrics: { p50ms: 0.2, p95ms: 0.3, p99ms: 0.4 } },
    { cell: "latency-tcp-64", test: "latency", dims: { protocol: "tcp", size: 64 }, metrics: { p50us: 100, p99us: 200 } },
    { cell: "pps-64", test: "pps", dims: { size: 64 }, metrics: { pps: 50000 } },
    { cell: "pps-512", test: "pps", dims: { size: 512 }, metrics: { pps: 45000 } },
    { cell: "pps-1300", test: "pps", dims: { size: 1300 }, metrics: { pps: 40000 } },
    { cell: "tcp_rr-1", test: "rr", dims: { protocol: "TCP_RR", size: 1 }, metrics: { tps: 5000 } },
    { cell: "tcp_crr-1", test: "rr", dims: { protocol: "TCP_CRR", size: 1 }, metrics: { tps: 1000 } },
    { cell: "udp_rr-1", test: "rr", dims: { protocol: "UDP_RR", size: 1 }, metrics: { tps: 5500 } },
];

function normal(rnd: () => number): number {
    return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** A document whose guests' repetitions come from N(mean * factor, (cv * mean)^2); factor per pair and cell. */
export function simulatedDoc(
    rnd: () => number,
    pairs: string[],
    reps: number,
    cv: number,
    factor: (pair: string, cell: string) => number = () => 1,
): ResultsDoc {
    const cells: CellResult[] = [];
    for (const m of MATRIX) {
        for (const pair of pairs) {
            const repetitions = Array.from({ length: reps }, (_, index) => ({
                index,
                metrics: Object.fromEntries(Object.entries(m.metrics).map(([k, mu]) => [k, mu * factor(pair, m.cell) * (1 + cv * normal(rnd))])),
                raw: "x",
                seconds: 2,
            }));
            const metrics = Object.fromEntries(Object.keys(m.metrics).map((k) => [k, summarize(repetitions.map((r) => r.metrics[k]))]));
            const native = pair === "bare-metal";
            cells.push({
                pair,
                cell: m.cell,
                dimensions: {
                    topology: native ? "ext-host" : "ext-guest",
                    backend: pair,
                    client: "client",
                    server: pair,
                    pinning: "default",
                    security: "none",
                    test: m.test,
                    ...m.dims,
                },
                status: "ok",
                metrics,
                repetitions,
                rawDir: `x/${pair}/${m.cell}`,
            });
        }
    }
    return {
        version: RESULTS_VERSION,
        run: {
            name: "st17-sim",
            started: "2026-12-05T00:00:00.000Z",
            finished: "2026-12-05T00:10:00.000Z",
            wallSeconds: 600,
            measuredSeconds: 500,
            resultsDir: "/tmp",
            settings: { duration: 2, repetitions: reps, warmup: 1 },
            order: "interleaved",
        },
        environment: { machines: {}, guests: {} },
        cells,
        warnings: [],
    };
}
