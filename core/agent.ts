// netbed's guest agent: how the provider runs benchmark clients inside a guest. Pure.
//
// Why a network agent and not the serial console or vsock: the console is one shared byte stream
// that also carries kernel messages (output framing breaks when the kernel logs), and virtio-vsock
// needs /dev/vhost-vsock on the host, which these machines lack (no vhost at all). busybox's
// `nc -ll -e` gives a forking TCP server with nothing to build; the agent script it runs reads one
// argv word per line (never evaluated by a shell), checks the program against an allow-list, runs
// it under a time limit and frames its exit code, stdout and stderr in the reply.

export const AGENT_PORT = 7070;
export const AGENT_PATH = "/bin/netbed-agent";
/** Programs the agent runs; anything else is refused. */
const AGENT_PROGRAMS = ["iperf3", "sockperf", "netperf", "ping", "cat"] as const;
const AGENT_MAGIC = "NETBED-AGENT/1";

/**
 * The agent script (busybox sh). Request: "NETBED-AGENT/1 <timeout seconds>", then the argv, one
 * word per line, then an empty line. Reply: "NETBED-AGENT/1 rc=<code> out=<bytes> err=<bytes>",
 * then exactly that many bytes of stdout and then of stderr.
 */
export const AGENT_SCRIPT = `#!/bin/busybox sh
read -r magic limit
if [ "$magic" != "${AGENT_MAGIC}" ]; then echo "${AGENT_MAGIC} rc=127 out=0 err=14"; echo "bad request"; exit 0; fi
case "$limit" in ''|*[!0-9]*) limit=60 ;; esac
set --
while IFS= read -r w; do [ -z "$w" ] && break; set -- "$@" "$w"; done
case "$1" in
  ${AGENT_PROGRAMS.join("|")}) ;;
  *) msg="program not allowed: $1"; echo "${AGENT_MAGIC} rc=126 out=0 err=\${#msg}"; printf '%s' "$msg"; exit 0 ;;
esac
# The image's own tools by path: busybox's timeout runs its own applet of a name before PATH, so a
# bare "ping" would be busybox's ping (no flood, other output) rather than the image's iputils one.
p=$1; shift
[ -x "/usr/local/bin/$p" ] && p="/usr/local/bin/$p"
set -- "$p" "$@"
out=/tmp/agent.$$.out; err=/tmp/agent.$$.err
timeout -s KILL "$limit" "$@" >"$out" 2>"$err" </dev/null; rc=$?
echo "${AGENT_MAGIC} rc=$rc out=$(wc -c <"$out") err=$(wc -c <"$err")"
cat "$out" "$err"
rm -f "$out" "$err"
`;

/** The request bytes for running argv in the guest with a time limit. */
export function agentRequest(argv: readonly string[], timeoutSeconds: number): string {
    if (argv.length === 0) throw new Error("agent request needs a program");
    if (!(AGENT_PROGRAMS as readonly string[]).includes(argv[0])) {
        throw new Error(`the guest agent runs only ${AGENT_PROGRAMS.join(", ")}, not '${argv[0]}'`);
    }
    for (const w of argv) {
        // One word per line, ended by an empty line: a word cannot hold a newline or be empty.
        if (w === "" || /[\n\r\0]/.test(w)) throw new Error(`agent argv word ${JSON.stringify(w)} is empty or holds a line break`);
    }
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) throw new Error(`agent timeout must be a whole number of seconds >= 1, not ${timeoutSeconds}`);
    return `${AGENT_MAGIC} ${timeoutSeconds}\n${argv.join("\n")}\n\n`;
}

export interface AgentReply {
    code: number;
    stdout: string;
    stderr: string;
}

/** Parses the agent's reply; throws when it is not one (agent absent, connection cut short). */
export function parseAgentReply(raw: Buffer): AgentReply {
    const nl = raw.indexOf(0x0a);
    const head = (nl < 0 ? raw : raw.subarray(0, nl)).toString();
    const m = new RegExp(`^${AGENT_MAGIC.replace("/", "\\/")} rc=(\\d+) out=\\s*(\\d+) err=\\s*(\\d+)$`).exec(head.trim());
    if (!m) throw new Error(`no agent reply (got ${JSON.stringify(head.slice(0, 200))}): is the guest image's agent running?`);
    const [code, outLen, errLen] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const body = raw.subarray(nl + 1);
    if (body.length < outLen + errLen) throw new Error(`agent reply cut short: expected ${outLen + errLen} bytes, got ${body.length}`);
    return {
        code,
        stdout: body.subarray(0, outLen).toString(),
        stderr: body.subarray(outLen, outLen + errLen).toString(),
    };
}
