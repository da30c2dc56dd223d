// Reaching a pair's ends: a client program run on a host or in a guest, and the checks after a
// failed measurement of whether a guest's VMM died (it is no longer the process of the run's start) or
// its network stalled.
import type { BenchmarkRunInputs, Endpoint } from "../../schema/benchmark";
import { agentCall } from "../hostops/agent";
import { alive, processIdentity } from "../hostops/process";
import { hostTransport } from "../transport";
import type { Ctx } from "../runtime/resource";
import type { RunResult } from "../transport";

export type Pair = BenchmarkRunInputs["pairs"][number];

/** Runs a client program at an endpoint: on a host through its transport, in a guest through its agent on the VM's host. */
export async function runAt(ctx: Ctx, e: Endpoint, argv: string[], timeoutSeconds: number): Promise<RunResult> {
    if (e.kind === "host") return hostTransport(ctx, e.host).run(argv, { timeoutMs: timeoutSeconds * 1000, check: false });
    if (!e.agent) throw new Error(`guest ${e.name} runs no agent (its MicroVm's servers leave 'agent' out): it cannot run the clients of a pair`);
    try {
        return await agentCall(hostTransport(ctx, e.host), e.agent.socket, e.agent.key, argv, timeoutSeconds);
    } catch (err) {
        throw new Error(`guest ${e.name}: ${(err as Error).message}`);
    }
}

/** The server end as its client sees it: a guest behind a NAT or on its own loopback is reached at its peer address. */
export function served(e: Endpoint): Endpoint {
    return e.kind === "vm" && e.peerAddress ? { ...e, address: e.peerAddress } : e;
}

/** The guest names of a pair's ends. */
export function guestsOf(p: Pair): string[] {
    return [p.client, p.server].filter((e) => e.kind === "vm").map((e) => (e as { name: string }).name);
}

/** The start time of each guest's VMM when the run begins (undefined: not running then), by guest name. */
export async function vmmStarts(ctx: Ctx, pairs: readonly Pair[]): Promise<Map<string, string | undefined>> {
    const starts = new Map<string, string | undefined>();
    for (const e of pairs.flatMap((p) => [p.client, p.server])) {
        if (e.kind === "vm" && !starts.has(e.name)) starts.set(e.name, (await processIdentity(hostTransport(ctx, e.host), e.pid))?.start);
    }
    return starts;
}

/** The guests of a pair whose VMM is no longer the process that ran when the run began. */
export async function deadGuests(ctx: Ctx, p: Pair, starts: ReadonlyMap<string, string | undefined>): Promise<string[]> {
    const dead: string[] = [];
    for (const e of [p.client, p.server]) {
        if (e.kind !== "vm") continue;
        const start = starts.get(e.name);
        if (start === undefined || !(await alive(hostTransport(ctx, e.host), e.pid, start))) dead.push(`guest ${e.name}'s VMM (pid ${e.pid}) died`);
    }
    return dead;
}

/** Guests of a pair whose agent no longer answers (checked after a failed cell). */
export async function silentGuests(ctx: Ctx, p: Pair): Promise<string[]> {
    const silent: string[] = [];
    for (const e of [p.client, p.server]) {
        if (e.kind !== "vm") continue;
        const ok = await runAt(ctx, e, ["uptime"], 5).then(
            (r) => r.code === 0,
            () => false,
        );
        if (!ok) silent.push(`guest ${e.name} (${e.address}) stopped answering its agent on host ${e.host.name}`);
    }
    return silent;
}
