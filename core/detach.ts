// The argv that starts a VMM on its host: detached from the plugin, its console on a FIFO and a
// capped log, holding the device files it inherits. Constant scripts, every input a positional
// argument. Pure: providers/resources/microvm.ts runs it.

/** The console log's cap: a guest that writes more loses the rest (its VMM's writes fail with EFBIG). */
export const CONSOLE_LOG_BYTES = 64 * 2 ** 20;

/**
 * Starts the VMM detached under setsid, so it outlives this plugin process: its stdout and stderr
 * go to the console log, its stdin is a FIFO netbed writes console commands to, and the shell writes
 * its own pid (which exec keeps) before it becomes the VMM. All three are made by root in the run
 * directory, which only root can write. The log is bounded by RLIMIT_FSIZE (ulimit -f counts
 * 512-byte blocks), with SIGXFSZ ignored so that a write past it fails instead of killing the VMM.
 * Works the same over every transport.
 */
const DETACH_WRAPPER = 'log=$1; fifo=$2; pidf=$3; blocks=$4; shift 4; echo $$ > "$pidf"; trap "" XFSZ; ulimit -f "$blocks"; exec "$@" >>"$log" 2>&1 <>"$fifo"';

/** The argv that starts `vmm` detached, its console in `dir`, the log capped at `capBytes`. */
export function detachArgv(dir: string, vmm: readonly string[], capBytes = CONSOLE_LOG_BYTES): string[] {
    const blocks = String(Math.floor(capBytes / 512));
    return ["setsid", "-f", "sh", "-c", DETACH_WRAPPER, "sh", `${dir}/console.log`, `${dir}/console.in`, `${dir}/pid`, blocks, ...vmm];
}

/**
 * Opens each device file as fds 3, 4, ... and execs the VMM, so it inherits them. A constant
 * script: the count and paths are arguments, and eval only ever sees a number.
 */
const FD_WRAPPER = 'n=$1; shift; fd=3; while [ "$n" -gt 0 ]; do eval "exec $fd<>\\"\\$1\\""; shift; fd=$((fd + 1)); n=$((n - 1)); done; exec "$@"';

/** The argv that runs `vmm` with `devices` open as fds 3, 4, ... (core/vmspec.ts nicsOf numbers them); `vmm` itself without devices. */
export function withDeviceFds(devices: readonly string[], vmm: readonly string[]): string[] {
    return devices.length > 0 ? ["sh", "-c", FD_WRAPPER, "sh", String(devices.length), ...devices, ...vmm] : [...vmm];
}
