// Preloaded (`node -r`) into @pulumi/pulumi's program runner (cmd/run) by netbed's language host: the
// program's first exception or unhandled rejection ends the runner. The runner only logs such an
// error and then waits for Node's event loop to drain, which never happens while the program holds
// a timer or a connection: the engine waited as long. The runner's own handlers (registered after
// this one) send the error and its stack to the engine; the exit leaves LOG_GRACE_MS for that
// message once they have run, and the runner's exit handler turns the exit into its "error already
// reported" code.

/** Ample for one log message over the loopback gRPC connection, even on a loaded machine. */
const LOG_GRACE_MS = 2000;

/**
 * A stack frame in a file directly under a scope's folder (`node_modules/@pulumi/resource.ts`, where
 * @pulumi/pulumi's source maps point). Node 20.20's util.inspect with colors, which the runner
 * reports errors with, loops on such a line until the heap is exhausted; `@pulumi/./resource.ts`
 * names the same file and does not trip it.
 */
const SCOPED_FILE = /([/\\]node_modules[/\\]@[^/\\]+)([/\\][^/\\]+:\d+)/g;

let ending = false;

function defuseStack(e: unknown): void {
    if (!(e instanceof Error) || typeof e.stack !== "string") return;
    const stack = e.stack.replace(SCOPED_FILE, "$1/.$2");
    if (stack === e.stack) return;
    try {
        e.stack = stack;
    } catch {
        // A frozen error keeps its stack; the runner's report of it may then be slow.
    }
}

function endSoon(e: unknown): void {
    defuseStack(e);
    if (ending) return;
    ending = true;
    // After the runner's handlers (same emit), and unreferenced: a runner that drains by itself
    // earlier ends the usual way.
    setImmediate(() => setTimeout(() => process.exit(), LOG_GRACE_MS).unref());
}

process.on("uncaughtException", endSoon);
process.on("unhandledRejection", endSoon);
