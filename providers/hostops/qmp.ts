// A short QMP session over the host's transport: capabilities negotiation, then commands in turn.
import { encode, type QmpCommand, QmpFramer, replyTo } from "../../core/qmp";
import type { Transport } from "../transport";

/** Runs `commands` (names, or commands with arguments) on the QMP socket and returns their replies, bounded by `timeoutMs` in all. */
export async function qmp(t: Transport, socket: string, commands: (string | Omit<QmpCommand, "id">)[], timeoutMs = 10_000): Promise<unknown[]> {
    const s = await t.connectUnix(socket);
    const framer = new QmpFramer();
    const seen: Record<string, unknown>[] = [];
    let wake: () => void = () => undefined;
    s.setEncoding("utf8");
    s.on("data", (d: string) => {
        seen.push(...framer.push(d));
        wake();
    });
    let closed = false;
    // An SSH channel ends (EOF) before it closes; either means no more replies.
    for (const ev of ["end", "close"]) {
        s.on(ev, () => {
            closed = true;
            wake();
        });
    }
    s.on("error", () => undefined); // reported as a close before the reply
    const deadline = Date.now() + timeoutMs;
    const until = async (done: () => boolean, what: string) => {
        while (!done()) {
            if (closed) throw new Error(`on host ${t.label}: QMP socket ${socket} closed while waiting for ${what}`);
            const left = deadline - Date.now();
            if (left <= 0) throw new Error(`on host ${t.label}: no QMP reply to ${what} from ${socket} within ${timeoutMs} ms`);
            await new Promise<void>((r) => {
                const timer = setTimeout(r, left);
                wake = () => {
                    clearTimeout(timer);
                    r();
                };
            });
        }
    };
    try {
        await until(() => seen.some((m) => "QMP" in m), "the greeting");
        const out: unknown[] = [];
        for (const [k, c] of ["qmp_capabilities", ...commands].entries()) {
            const id = `netbed-${k}`;
            const cmd = typeof c === "string" ? { execute: c } : c;
            const command = cmd.execute;
            s.write(encode({ ...cmd, id }));
            let reply: { done: boolean; value?: unknown } = { done: false };
            await until(() => (reply = replyTo(id, command, seen)).done, command);
            if (k > 0) out.push(reply.value);
        }
        return out;
    } finally {
        s.destroy();
    }
}
