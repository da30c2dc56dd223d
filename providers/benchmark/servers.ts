// The servers a host end of a pair needs (iperf3, sockperf, netserver), started for the run on
// ports of their own and stopped after it. A guest's servers start at its boot.
import type { Cell } from "../../core/bench/spec";
import { GUEST_PORTS, type Ports, SERVER_ARGV, type ServerName, serverPorts, serversFor } from "../../core/bench/measure";
import { sleep } from "../../core/sleep";
import type { BenchmarkRunInputs, Endpoint } from "../../schema/benchmark";
import { hostTransport } from "../transport";
import type { Ctx } from "../runtime/resource";
import type { RunResult, Transport } from "../transport";
import type { Pair } from "./endpoints";

/** Host-side servers, one set per (host, address), and the seconds spent starting and stopping them. */
export class HostServers {
    seconds = 0;
    private readonly stops: (() => Promise<void>)[] = [];
    private readonly portsOf = new Map<string, Ports>();

    constructor(private readonly ctx: Ctx) {}

    /** Starts the servers of every pair whose server end is a host; `stopAll` stops those started even if one fails. */
    async start(i: BenchmarkRunInputs, cells: readonly Cell[]): Promise<void> {
        for (const [k, p] of i.pairs.entries()) {
            if (p.server.kind !== "host") continue;
            const key = serverKey(p.server);
            if (this.portsOf.has(key)) continue;
            const ports = serverPorts(`${this.ctx.urn}#${key}`);
            this.portsOf.set(key, ports);
            const names = serversFor(cells);
            this.ctx.log.info(
                this.ctx.urn,
                `starting ${names.join(", ")} on host ${p.server.host.name} (${p.server.address}) for pair ${p.label} (${k + 1}/${i.pairs.length})`,
            );
            const t0 = Date.now();
            this.stops.push(await startServers(this.ctx, p.server, ports, names));
            this.seconds += (Date.now() - t0) / 1000;
        }
    }

    portsFor(p: Pair): Ports {
        return p.server.kind === "host" ? this.portsOf.get(serverKey(p.server))! : GUEST_PORTS;
    }

    async stopAll(): Promise<void> {
        const t0 = Date.now();
        for (const stop of this.stops) await stop();
        this.seconds += (Date.now() - t0) / 1000;
    }
}

function serverKey(e: Endpoint & { kind: "host" }): string {
    return `${e.host.name}/${e.address}`;
}

interface RunningServer {
    name: ServerName;
    done: Promise<RunResult>;
}

/** Starts the servers a host endpoint needs, waits until they listen, returns a stopper. */
async function startServers(ctx: Ctx, e: Endpoint & { kind: "host" }, ports: Ports, names: ServerName[]): Promise<() => Promise<void>> {
    const t = hostTransport(ctx, e.host);
    const ctl = new AbortController();
    const running: RunningServer[] = [];
    const stop = async () => {
        ctl.abort();
        await Promise.all(running.map((s) => s.done.catch(() => undefined)));
    };
    try {
        const busy = await listening(t);
        for (const n of names) {
            const port = ports[n];
            if (busy.has(port)) throw new Error(`on host ${t.label}: port ${port} for the ${n} server is already in use`);
        }
        for (const n of names) {
            for (const argv of SERVER_ARGV[n](e.address!, ports[n])) {
                // Bounded: a server outlives no run by more than a day even if this process dies.
                const done = t.run(["timeout", "86400", ...argv], { signal: ctl.signal, timeoutMs: 86_400_000, check: false });
                running.push({ name: n, done });
            }
        }
        await untilListening(t, ports, names, running);
        return stop;
    } catch (err) {
        await stop();
        throw err;
    }
}

/** Waits up to 15 s for every server to listen; fails early, with the servers' output, when they exit. */
async function untilListening(t: Transport, ports: Ports, names: ServerName[], running: RunningServer[]): Promise<void> {
    const deadline = Date.now() + 15_000;
    for (;;) {
        const open = await listening(t);
        const missing = names.filter((n) => !open.has(ports[n]));
        if (missing.length === 0) return;
        const exited = await Promise.race([Promise.all(running.map((s) => s.done)).then(() => true), sleep(200).then(() => false)]);
        if (exited || Date.now() > deadline) {
            const outs = await Promise.all(running.map(async (s) => ({ s, r: await Promise.race([s.done, sleep(10).then(() => undefined)]) })));
            const why = outs.filter((o) => o.r && missing.includes(o.s.name)).map((o) => `${o.s.name}: ${(o.r!.stderr || o.r!.stdout).trim().slice(-300)}`);
            throw new Error(`on host ${t.label}: ${missing.join(", ")} server(s) did not start listening${why.length ? ` (${why.join("; ")})` : ""}`);
        }
    }
}

async function listening(t: Transport): Promise<Set<number>> {
    const r = await t.run(["ss", "-Htuln"], { timeoutMs: 10_000 });
    const ports = new Set<number>();
    for (const line of r.stdout.split("\n")) {
        const m = /:(\d+)\s/.exec(`${line.split(/\s+/).slice(4, 5).join(" ")} `);
        if (m) ports.add(Number(m[1]));
    }
    return ports;
}
