// The KVM criteria's traffic beyond the Volt matrix on real tools between two namespaces: iperf3
// --bidir moves data both ways, and a paced flood gets its echoes back.
import { strict as assert } from "node:assert";
import { GUEST_PORTS, measure } from "../../core/bench/measure";
import { TestSpecSchema, expandCells } from "../../core/bench/spec";
import { spawn } from "node:child_process";
import { dropNetns, must, sh, uniq } from "../helpers";

const settings = { duration: 1, repetitions: 1, warmup: 0 };
const specs = (...t: unknown[]) => t.map((x) => TestSpecSchema.parse(x));

describe("bidirectional, size ranges and flood ping", () => {
    it("real tools between two namespaces: iperf3 --bidir moves data both ways, a paced flood gets its echoes back", async () => {
        const u = uniq();
        const [a, b] = [`nat20-ka-${u}`, `nat20-kb-${u}`];
        try {
            for (const ns of [a, b]) must(["ip", "netns", "add", ns]);
            must(["ip", "link", "add", "nat20ka", "netns", a, "type", "veth", "peer", "name", "nat20kb", "netns", b]);
            must(["ip", "-n", a, "addr", "add", "10.209.0.1/24", "dev", "nat20ka"]);
            must(["ip", "-n", b, "addr", "add", "10.209.0.2/24", "dev", "nat20kb"]);
            for (const [ns, d] of [
                [a, "nat20ka"],
                [b, "nat20kb"],
            ])
                must(["ip", "-n", ns, "link", "set", d, "up"]);
            const run = async (argv: string[], timeoutSeconds: number) => sh(["timeout", String(timeoutSeconds), "ip", "netns", "exec", a, ...argv]);
            const ports = { ...GUEST_PORTS, iperf3: 25209 };
            // One test's server, bounded in time; stopped below.
            const server = spawn("ip", ["netns", "exec", b, "timeout", "30", "iperf3", "-s", "-1", "-B", "10.209.0.2", "-p", String(ports.iperf3)], {
                stdio: "ignore",
            });
            try {
                const [bidir, flood] = expandCells(specs({ kind: "tcp", bidir: true }, { kind: "flood", size: 1000, rate: 500, count: 200 }));
                let m: Awaited<ReturnType<typeof measure>> | undefined;
                for (let i = 0; i < 20 && !m; i++) {
                    m = await measure(bidir, { address: "10.209.0.2" }, ports, settings, run).catch(async (e) => {
                        if (!/refused|Connection refused|unable to connect/i.test(String(e))) throw e;
                        await new Promise((r) => setTimeout(r, 250)); // the server is still starting
                        return undefined;
                    });
                }
                assert.ok(m && m.metrics.gbpsForward > 0 && m.metrics.gbpsReverse > 0, JSON.stringify(m?.metrics));
                const f = await measure(flood, { address: "10.209.0.2" }, ports, settings, run);
                // Loss over a veth is normally 0, but a stalled machine may lose echoes past the deadline.
                assert.ok(f.metrics.lossPct < 100, JSON.stringify(f.metrics));
                assert.ok(f.metrics.sentPps > 0 && f.metrics.avgms > 0, JSON.stringify(f.metrics));
            } finally {
                if (server.exitCode === null) server.kill();
            }
        } finally {
            for (const ns of [a, b]) dropNetns(ns);
        }
    });
});
