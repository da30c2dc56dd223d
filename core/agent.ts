// netbed's guest agent: how the provider runs benchmark clients inside a guest. Pure.
//
// Why a virtio-serial port and not the network: an agent listening on a guest NIC is reachable by
// anyone on the bridge (or the lab LAN, for a macvtap guest), and it runs programs as root. The
// port is a unix socket in the VM's run directory on the VMM's host instead, which only that host's
// root reaches, and every request carries the VM's own key. Not the serial console: it is one
// shared byte stream that also carries kernel messages. Not vsock: it needs /dev/vhost-vsock on the
// host, which these machines lack.
//
// virtio-serial semantics the framing follows: the guest opens the port once; while no host client
// is connected, a guest read returns EOF at once and a guest write blocks. The agent therefore
// writes a greeting before each read (it waits for a client without spinning), and a reply whose
// host connection was cut arrives on the next connection: every request and reply carries a random
// id, and the host discards what is not for its own.

/** The virtio-serial port's name; the guest's init finds the port by it. */
export const AGENT_PORT_NAME = "netbed.agent";
export const AGENT_PATH = "/bin/netbed-agent";
/** Where the per-VM initrd puts the key; the agent reads it once and removes it. */
export const AGENT_KEY_FILE = "/netbed-agent.key";
const AGENT_MAGIC = "NETBED-AGENT/2";
/** The most a reply may carry: a guest's outputs live in its tmpfs, and no client netbed runs prints this much. */
export const AGENT_MAX_REPLY_BYTES = 64 * 2 ** 20;

/** A program's options netbed sends: flags, options that take a value, and the first word (a sub-command) or positionals allowed. */
interface ProgramRule {
    flags: readonly string[];
    valued: readonly string[];
    subcommands?: readonly string[];
    positionals: number;
}

/**
 * What the agent runs: exactly the client options core/bench/parse.ts renders (iperf3 client
 * only, no -F/--logfile/-D; sockperf clients only; netperf; ping and flood ping), and "uptime",
 * which reads /proc/uptime (the liveness probe).
 */
export const AGENT_RULES: Readonly<Record<string, ProgramRule>> = {
    iperf3: { flags: ["-J", "-R", "--bidir", "-u"], valued: ["-c", "-p", "-t", "-P", "-b", "-l"], positionals: 0 },
    sockperf: { flags: ["--tcp"], valued: ["-i", "-p", "-t", "-m", "--mps", "--reply-every"], subcommands: ["ping-pong", "under-load"], positionals: 0 },
    netperf: { flags: ["-c", "-C", "--"], valued: ["-H", "-p", "-l", "-t", "-P", "-r", "-o"], positionals: 0 },
    ping: { flags: ["-f", "-q"], valued: ["-c", "-i", "-W", "-s", "-w"], positionals: 1 },
    uptime: { flags: [], valued: [], positionals: 0 },
};

/** Every word of a request: letters, digits and what addresses, sizes and netperf's selectors use. */
const WORD = /^[A-Za-z0-9._:,%+-]+$/;

/** Why the agent would refuse argv, or undefined. The agent script checks the same rules. */
export function agentArgvProblem(argv: readonly string[]): string | undefined {
    const [program, ...rest] = argv;
    const rule = program === undefined ? undefined : AGENT_RULES[program];
    if (!rule) return `the guest agent runs only ${Object.keys(AGENT_RULES).join(", ")}, not '${program ?? ""}'`;
    const bad = argv.find((w) => !WORD.test(w));
    if (bad !== undefined) return `argument ${JSON.stringify(bad)} holds a character the agent does not take`;
    let words = rest;
    if (rule.subcommands) {
        if (!rule.subcommands.includes(words[0] ?? "")) return `${program} runs only as ${rule.subcommands.join(" or ")}, not '${words[0] ?? ""}'`;
        words = words.slice(1);
    }
    let positionals = 0;
    for (let k = 0; k < words.length; k++) {
        const w = words[k];
        if (rule.flags.includes(w)) continue;
        if (rule.valued.includes(w)) {
            if (++k >= words.length) return `${program} option ${w} needs a value`;
            continue;
        }
        if (w.startsWith("-")) return `${program} option ${w} is not one netbed sends`;
        if (++positionals > rule.positionals) return `${program} takes no argument '${w}' here`;
    }
    return undefined;
}

const shWords = (ws: readonly string[]) => (ws.length > 0 ? ` ${ws.join(" ")} ` : " ");

/** The agent script's rule table: one case arm per program, setting the words its check reads. */
function renderRules(): string {
    return Object.entries(AGENT_RULES)
        .map(
            ([p, r]) => `    ${p}) flags="${shWords(r.flags)}"; valued="${shWords(r.valued)}"; subs="${shWords(r.subcommands ?? [])}"; pos=${r.positionals} ;;`,
        )
        .join("\n");
}

/**
 * The agent script (busybox sh), run by init on the port's device ($1). Request: "NETBED-AGENT/2
 * <id> <key> <timeout seconds>", then the argv one word per line, then an empty line. Reply:
 * "NETBED-AGENT/2 <id> rc=<code> out=<bytes> err=<bytes>" and that many bytes of stdout and then
 * of stderr; or "NETBED-AGENT/2 <id> refused <bytes>" and the reason. The key is compared with a
 * plain string test: the shell has no constant-time compare, and the socket is reachable only by
 * the VMM host's root anyway. Words are never evaluated by a shell: they are checked against the
 * rules and run as "$@".
 */
export const AGENT_SCRIPT = `#!/bin/busybox sh
exec 3<>"$1"
key=""
[ -f ${AGENT_KEY_FILE} ] && { read -r key < ${AGENT_KEY_FILE}; rm -f ${AGENT_KEY_FILE}; }
allowed() {
  case "$1" in
${renderRules()}
    *) return 1 ;;
  esac
  for w in "$@"; do case "$w" in ''|*[!A-Za-z0-9._:,%+-]*) return 1 ;; esac; done
  shift
  if [ "$subs" != " " ]; then [ -n "$1" ] && [ "\${subs#* $1 }" != "$subs" ] || return 1; shift; fi
  while [ $# -gt 0 ]; do
    w=$1; shift
    [ "\${flags#* $w }" != "$flags" ] && continue
    if [ "\${valued#* $w }" != "$valued" ]; then [ $# -gt 0 ] || return 1; shift; continue; fi
    case "$w" in -*) return 1 ;; esac
    pos=$((pos - 1)); [ $pos -ge 0 ] || return 1
  done
}
refuse() { echo "${AGENT_MAGIC} $id refused \${#1}" >&3; printf '%s' "$1" >&3; }
while true; do
  # Blocks until a host client is connected; the host skips it.
  echo "${AGENT_MAGIC} ready" >&3
  read -r magic id rkey limit <&3 || continue
  [ "$magic" = "${AGENT_MAGIC}" ] || continue
  set --; complete=""
  while IFS= read -r w <&3; do [ -z "$w" ] && { complete=1; break; }; set -- "$@" "$w"; done
  [ -n "$complete" ] || continue
  if [ -z "$key" ] || [ "$rkey" != "$key" ]; then refuse "wrong key"; continue; fi
  case "$limit" in ''|*[!0-9]*) limit=60 ;; esac
  if ! allowed "$@"; then refuse "not allowed: $*"; continue; fi
  [ "$1" = uptime ] && set -- cat /proc/uptime
  # The image's own tools by path: busybox's timeout runs its own applet of a name before PATH, so
  # a bare "ping" would be busybox's ping (no flood, other output) rather than the image's iputils one.
  p=$1; shift
  [ -x "/usr/local/bin/$p" ] && p="/usr/local/bin/$p"
  timeout -s KILL "$limit" "$p" "$@" >/tmp/agent.out 2>/tmp/agent.err </dev/null; rc=$?
  echo "${AGENT_MAGIC} $id rc=$rc out=$(wc -c </tmp/agent.out) err=$(wc -c </tmp/agent.err)" >&3
  cat /tmp/agent.out /tmp/agent.err >&3
  rm -f /tmp/agent.out /tmp/agent.err
done
`;

/** The request bytes for running argv in the guest with a time limit; id is fresh for each request. */
export function agentRequest(id: string, key: string, argv: readonly string[], timeoutSeconds: number): string {
    if (!/^[0-9a-f]{16,64}$/.test(id)) throw new Error(`agent request id '${id}' must be 16 to 64 hex digits`);
    if (!/^[0-9a-f]{64}$/.test(key)) throw new Error("the guest agent's key must be 64 hex digits (the MicroVm's agentKey output)");
    const problem = agentArgvProblem(argv);
    if (problem) throw new Error(problem);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) throw new Error(`agent timeout must be a whole number of seconds >= 1, not ${timeoutSeconds}`);
    return `${AGENT_MAGIC} ${id} ${key} ${timeoutSeconds}\n${argv.join("\n")}\n\n`;
}

export interface AgentReply {
    code: number;
    stdout: string;
    stderr: string;
}

/**
 * Collects the reply to request `id` from the port's byte stream: greetings and replies to earlier
 * requests (whose connection was cut) are skipped. push() returns the reply once it is whole; it
 * throws for a refusal or a reply past the cap.
 */
export class AgentReplyReader {
    /** Bytes before the header: kept only as long as they could still start it. */
    private scan = Buffer.alloc(0);
    private body?: { code: number; outLen: number; errLen: number } | { refusedLen: number };
    /** The body's bytes so far, joined once it is whole. */
    private readonly chunks: Buffer[] = [];
    private have = 0;
    private readonly head: string;
    constructor(
        id: string,
        private readonly cap = AGENT_MAX_REPLY_BYTES,
    ) {
        this.head = `${AGENT_MAGIC} ${id} `;
    }

    push(chunk: Buffer): AgentReply | undefined {
        let rest = chunk;
        if (!this.body) {
            this.scan = Buffer.concat([this.scan, chunk]);
            const after = this.findHeader();
            if (after === undefined) return undefined;
            rest = after;
        }
        const b = this.body!;
        const need = "refusedLen" in b ? b.refusedLen : b.outLen + b.errLen;
        if (need > this.cap) throw new Error(`the guest agent's reply announces ${need} bytes, more than the ${this.cap} netbed takes`);
        this.chunks.push(rest);
        this.have += rest.length;
        if (this.have < need) return undefined;
        const all = Buffer.concat(this.chunks);
        if ("refusedLen" in b) throw new Error(`the guest agent refused the request: ${all.subarray(0, need).toString()}`);
        return { code: b.code, stdout: all.subarray(0, b.outLen).toString(), stderr: all.subarray(b.outLen, need).toString() };
    }

    /** Parses this request's header line once it is whole and returns the bytes after it; drops what came before it. */
    private findHeader(): Buffer | undefined {
        const at = this.scan.indexOf(this.head);
        if (at < 0) {
            this.scan = this.scan.subarray(Math.max(0, this.scan.length - this.head.length));
            return undefined;
        }
        const nl = this.scan.indexOf(0x0a, at);
        if (nl < 0) {
            if (this.scan.length - at > 200) throw new Error("the guest agent's reply header is not a line");
            this.scan = this.scan.subarray(at);
            return undefined;
        }
        const line = this.scan.subarray(at + this.head.length, nl).toString();
        const ok = /^rc=(\d+) out=\s*(\d+) err=\s*(\d+)$/.exec(line);
        const refused = /^refused (\d+)$/.exec(line);
        if (ok) this.body = { code: Number(ok[1]), outLen: Number(ok[2]), errLen: Number(ok[3]) };
        else if (refused) this.body = { refusedLen: Number(refused[1]) };
        else throw new Error(`the guest agent's reply header is malformed: ${JSON.stringify(line.slice(0, 200))}`);
        return this.scan.subarray(nl + 1);
    }
}
