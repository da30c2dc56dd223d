// QMP, QEMU's JSON control protocol: one JSON object per line; the greeting, then replies to
// commands in order, with asynchronous events interleaved. Pure: providers/hostops/qmp.ts does the I/O.

export interface QmpCommand {
    execute: string;
    arguments?: Record<string, unknown>;
    id?: string;
}

/** Splits a byte stream into complete QMP messages; keeps the partial tail for the next chunk. */
export class QmpFramer {
    private buf = "";
    push(chunk: string): Record<string, unknown>[] {
        this.buf += chunk;
        const lines = this.buf.split("\n");
        this.buf = lines.pop()!;
        return lines.filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
    }
}

export function encode(c: QmpCommand): string {
    return `${JSON.stringify(c)}\n`;
}

/**
 * The reply to command `id` among messages, skipping events; an error reply becomes an Error
 * naming the command and QEMU's class and description.
 */
export function replyTo(id: string, command: string, msgs: Record<string, unknown>[]): { done: boolean; value?: unknown } {
    for (const m of msgs) {
        if (m.id !== id) continue;
        if ("error" in m) {
            const e = m.error as { class?: string; desc?: string };
            throw new Error(`QMP ${command} failed: ${e.class ?? "Error"}: ${e.desc ?? JSON.stringify(m.error)}`);
        }
        if ("return" in m) return { done: true, value: m.return };
    }
    return { done: false };
}

export interface VcpuThread {
    index: number;
    thread: number;
}

/** query-cpus-fast's reply: each vCPU's index and the host thread that runs it. */
export function parseCpusFast(ret: unknown): VcpuThread[] {
    if (!Array.isArray(ret)) throw new Error(`query-cpus-fast: expected a list, got ${JSON.stringify(ret)}`);
    return ret.map((c: Record<string, unknown>) => {
        if (typeof c["cpu-index"] !== "number" || typeof c["thread-id"] !== "number")
            throw new Error(`query-cpus-fast: an entry lacks cpu-index or thread-id: ${JSON.stringify(c)}`);
        return { index: c["cpu-index"], thread: c["thread-id"] };
    });
}

/** QMP query-stats for the KVM exit counters of every vCPU (QEMU >= 7.1). */
export const KVM_EXITS_QUERY: QmpCommand = { execute: "query-stats", arguments: { target: "vcpu", providers: [{ provider: "kvm", names: ["exits"] }] } };

/**
 * The total of the vCPUs' KVM "exits" counters in a query-stats reply, or undefined when the reply
 * has none (no KVM provider: the guest runs under TCG, or the host kernel exposes no binary stats).
 */
export function parseKvmExits(ret: unknown): number | undefined {
    if (!Array.isArray(ret)) throw new Error(`query-stats: expected a list, got ${JSON.stringify(ret)}`);
    let total: number | undefined;
    for (const r of ret as { provider?: string; stats?: { name?: string; value?: unknown }[] }[]) {
        if (r.provider !== "kvm") continue;
        for (const st of r.stats ?? []) {
            if (st.name === "exits" && typeof st.value === "number") total = (total ?? 0) + st.value;
        }
    }
    return total;
}
