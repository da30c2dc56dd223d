// The host side of the guest agent (core/agent.ts): one request at a time per guest over the
// agent's unix socket on the VMM's host, bounded in time and size.
import { randomBytes } from "node:crypto";
import { type AgentReply, AgentReplyReader, agentRequest } from "../../core/agent";
import type { Transport } from "../transport";

/** The request in flight per socket: the port is one byte stream, so requests wait their turn. */
const inFlight = new Map<string, Promise<unknown>>();

/** Runs argv in the guest behind `socket` on the VMM's host `t`; the program gets `timeoutSeconds`, the reply a little longer. */
export function agentCall(t: Transport, socket: string, key: string, argv: readonly string[], timeoutSeconds: number): Promise<AgentReply> {
    const turn = `${t.label}\0${socket}`;
    const before = inFlight.get(turn) ?? Promise.resolve();
    const mine = before.catch(() => undefined).then(() => exchange(t, socket, key, argv, timeoutSeconds));
    const settled = mine.catch(() => undefined);
    inFlight.set(turn, settled);
    void settled.then(() => {
        if (inFlight.get(turn) === settled) inFlight.delete(turn);
    });
    return mine;
}

async function exchange(t: Transport, socket: string, key: string, argv: readonly string[], timeoutSeconds: number): Promise<AgentReply> {
    const id = randomBytes(8).toString("hex");
    const request = agentRequest(id, key, argv, Math.ceil(timeoutSeconds));
    const limitMs = (Math.ceil(timeoutSeconds) + 20) * 1000;
    const s = await t.connectUnix(socket);
    const reader = new AgentReplyReader(id);
    const what = `guest agent at ${socket} on host ${t.label}`;
    try {
        return await new Promise<AgentReply>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`${what}: no reply to \`${argv.join(" ")}\` within ${limitMs} ms`)), limitMs);
            const done = (f: () => void) => {
                clearTimeout(timer);
                f();
            };
            s.on("data", (b: Buffer) => {
                try {
                    const r = reader.push(b);
                    if (r) done(() => resolve(r));
                } catch (e) {
                    done(() => reject(new Error(`${what}: ${(e as Error).message}`)));
                }
            });
            // An SSH channel ends (EOF) before it closes; either means no reply is coming.
            for (const ev of ["end", "close"])
                s.on(ev, () => done(() => reject(new Error(`${what}: the connection closed before the reply (did the VMM exit?)`))));
            s.on("error", (e) => done(() => reject(new Error(`${what}: ${e.message}`))));
            s.write(request);
        });
    } finally {
        s.destroy();
    }
}
