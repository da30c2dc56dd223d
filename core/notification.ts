// A guest's notification model: how packets are noticed on the way into the guest. Event-driven
// (interrupts and wake-ups) by default; busy polling where the stack offers it: inside the guest
// (the kernel's net.core.busy_poll / busy_read, set by netbed's init) or in the host's vhost-net
// worker (QEMU's tap `poll-us`). Pure.

/** The model without busy polling anywhere: interrupts and wake-ups. */
export const EVENT_DRIVEN = "event-driven";

/** Guest-side busy polling: net.core.busy_poll and net.core.busy_read, in µs (0: off, the kernel's default). */
export interface BusyPoll {
    pollUs: number;
    readUs: number;
}

/**
 * Upper bound of every busy-polling time netbed accepts, in µs. The kernel recommends 50-100 µs;
 * beyond a few ms a polling thread only burns its CPU.
 */
export const MAX_BUSY_POLL_US = 10_000;

/** Why a busy-polling time is unusable, or undefined. */
export function busyPollUsProblem(us: number): string | undefined {
    if (!Number.isInteger(us) || us < 0) return "must be a whole number of µs, 0 or more (0: off)";
    if (us > MAX_BUSY_POLL_US) return `must be at most ${MAX_BUSY_POLL_US} µs (the kernel recommends 50-100)`;
    return undefined;
}

/**
 * The model in effect, as one label for tables and the results' `notification` dimension: what the
 * guest reported it applied and the poll-us each NIC's vhost-net worker was started with.
 */
export function notificationModel(guest: BusyPoll | null | undefined, vhostPollUs: readonly number[]): string {
    const parts: string[] = [];
    if (guest && (guest.pollUs > 0 || guest.readUs > 0)) parts.push(`guest busy_poll=${guest.pollUs} busy_read=${guest.readUs}`);
    const vhost = [...new Set(vhostPollUs.filter((us) => us > 0))];
    if (vhost.length > 0) parts.push(`vhost poll-us=${vhost.join("/")}`);
    return parts.length > 0 ? parts.join(", ") : EVENT_DRIVEN;
}

/** Why the busy polling a guest reported differs from what was asked, or undefined. */
export function busyPollMismatch(asked: BusyPoll | undefined, reported: BusyPoll | undefined): string | undefined {
    if (!asked) return undefined;
    if (!reported) return "its init reported no net.core.busy_poll/busy_read (an image older than busy polling, or a kernel without CONFIG_NET_RX_BUSY_POLL)";
    if (asked.pollUs === reported.pollUs && asked.readUs === reported.readUs) return undefined;
    return `asked busy_poll=${asked.pollUs} busy_read=${asked.readUs}, the guest reports busy_poll=${reported.pollUs} busy_read=${reported.readUs}`;
}
