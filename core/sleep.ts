// Waiting between polls and retries. Pure (a timer, no I/O).

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}
