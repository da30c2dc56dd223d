// netbed's guest init (a busybox sh script, PID 1 of every GuestImage), the kernel command line
// that drives it, and the readiness line it prints. Pure.
import { AGENT_PATH, AGENT_PORT_NAME } from "./agent";
import { macProblem, parseCidr } from "./net";
import { type BusyPoll, busyPollUsProblem } from "./notification";
import type { VmmNic } from "./vmspec";

/** Console setup every guest gets; quiet because under TCG every console line costs boot time. */
export const CONSOLE_WORDS = ["console=ttyS0", "quiet", "panic=-1"];

export const READY_PREFIX = "NETBED-READY";
const ERROR_PREFIX = "NETBED-ERROR";
/** What init can start: the benchmark servers, and the agent that runs benchmark clients in the guest. */
export const SERVERS = ["iperf3", "sockperf", "netserver", "agent"] as const;
export type Server = (typeof SERVERS)[number];

/** What the guest's init reads of a NIC (address with prefix, e.g. 10.77.1.10/24). */
export type GuestNic = Pick<VmmNic, "mac" | "address" | "gateway" | "mtu">;

/** Kernel command line words for the guest's NICs, servers and busy polling (each a single word: no spaces). */
export function guestCmdline(nics: readonly GuestNic[], servers: readonly Server[], busyPoll?: BusyPoll): string[] {
    const words: string[] = [];
    for (const n of nics) {
        if (macProblem(n.mac)) throw new Error(`NIC MAC '${n.mac}' ${macProblem(n.mac)}`);
        if (!parseCidr(n.address)) throw new Error(`NIC address '${n.address}' is not an address with a prefix length`);
        if (n.gateway !== undefined && !/^[0-9a-fA-F:.]+$/.test(n.gateway)) throw new Error(`NIC gateway '${n.gateway}' is not an address`);
        let w = `netbed.nic=${n.mac},${n.address}`;
        if (n.gateway) w += `,gw=${n.gateway}`;
        if (n.mtu !== undefined) w += `,mtu=${n.mtu}`;
        words.push(w);
    }
    if (servers.length > 0) words.push(`netbed.servers=${servers.join(",")}`);
    if (busyPoll) {
        for (const [k, us] of Object.entries(busyPoll)) {
            const p = busyPollUsProblem(us);
            if (p) throw new Error(`busyPoll.${k} ${p}`);
        }
        words.push(`netbed.busy_poll=${busyPoll.pollUs},${busyPoll.readUs}`);
    }
    return words;
}

export interface ReadyLine {
    /** Guest uptime in seconds when init finished: the boot time the guest itself measured. */
    uptime: number;
    /** dev=address pairs of the configured NICs. */
    nics: Record<string, string>;
    servers: string[];
    /** net.core.busy_poll and busy_read as init read them back (absent: an older init, or a kernel without them). */
    busyPoll?: BusyPoll;
}

/** Finds and parses the readiness line in console output; undefined if it has not arrived yet. */
export function parseReadyLine(console: string): ReadyLine | undefined {
    // Not anchored at the line start: firmware and the console leave escape sequences before it.
    // Only a whole line counts: a console read while the guest writes can end inside it.
    const m = new RegExp(`${READY_PREFIX} (.*)\n`).exec(console.replace(/\r/g, ""));
    if (!m) return undefined;
    const kv = new Map<string, string>();
    for (const part of m[1].trim().split(/\s+/)) {
        const i = part.indexOf("=");
        if (i > 0) kv.set(part.slice(0, i), part.slice(i + 1));
    }
    const nics: Record<string, string> = {};
    for (const n of (kv.get("nics") ?? "").split(",").filter(Boolean)) {
        const [dev, addr] = n.split("@");
        nics[dev] = addr;
    }
    const ready: ReadyLine = { uptime: Number(kv.get("uptime")), nics, servers: (kv.get("servers") ?? "").split(",").filter(Boolean) };
    const [pollUs, readUs] = [kv.get("busy_poll"), kv.get("busy_read")].map((v) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined));
    if (pollUs !== undefined && readUs !== undefined) ready.busyPoll = { pollUs, readUs };
    return ready;
}

/** Errors init reported on the console (module load failures, missing NICs). */
export function consoleErrors(console: string): string[] {
    return console
        .replace(/\r/g, "")
        .split("\n")
        .filter((l) => l.includes(`${ERROR_PREFIX} `))
        .map((l) => l.slice(l.indexOf(ERROR_PREFIX) + ERROR_PREFIX.length + 1));
}

/**
 * The init script. Mounts the pseudo filesystems, loads modules in the order the image lists,
 * configures each NIC named on the command line by its MAC, sets busy polling, starts the requested
 * servers, prints the readiness line with /proc/uptime and the busy polling in effect, then obeys
 * "poweroff" / "reboot" on the console. busy_read is set before the servers start: a socket takes
 * its busy-read time from the sysctl when it is created.
 */
export const GUEST_INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /bin /sbin /usr/bin /usr/sbin
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
/bin/busybox mount -t tmpfs tmpfs /tmp
/bin/busybox --install -s
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
exec 0</dev/console 1>/dev/console 2>&1

if [ -f /lib/modules/netbed.order ]; then
  while read -r m; do
    insmod "/lib/modules/$m" || echo "${ERROR_PREFIX} insmod $m failed"
  done < /lib/modules/netbed.order
fi
ip link set lo up

nics=""
configure_nic() {
  old_ifs=$IFS; IFS=,; set -- $1; IFS=$old_ifs
  mac=$1; cidr=$2; shift 2
  dev=""; n=0
  while [ -z "$dev" ] && [ $n -lt 50 ]; do
    for d in /sys/class/net/*; do
      [ "$(cat "$d/address" 2>/dev/null)" = "$mac" ] && dev=\${d##*/}
    done
    [ -z "$dev" ] && { n=$((n + 1)); sleep 0.1; }
  done
  if [ -z "$dev" ]; then echo "${ERROR_PREFIX} no NIC with MAC $mac"; return; fi
  for kv in "$@"; do case "$kv" in mtu=*) ip link set "$dev" mtu "\${kv#mtu=}" ;; esac; done
  ip addr add "$cidr" dev "$dev" || echo "${ERROR_PREFIX} address $cidr on $dev failed"
  ip link set "$dev" up
  for kv in "$@"; do case "$kv" in gw=*) ip route add default via "\${kv#gw=}" || echo "${ERROR_PREFIX} route via \${kv#gw=} failed" ;; esac; done
  nics="$nics,$dev@$cidr"
}

set_busy_poll() {
  old_ifs=$IFS; IFS=,; set -- $1; IFS=$old_ifs
  { echo "$1" > /proc/sys/net/core/busy_poll; } 2>/dev/null || echo "${ERROR_PREFIX} cannot set net.core.busy_poll to $1 (a kernel without CONFIG_NET_RX_BUSY_POLL?)"
  { echo "$2" > /proc/sys/net/core/busy_read; } 2>/dev/null || echo "${ERROR_PREFIX} cannot set net.core.busy_read to $2 (a kernel without CONFIG_NET_RX_BUSY_POLL?)"
}

# The agent serves the host on its virtio-serial port, never on a NIC; the port's name arrives from
# the host shortly after the device appears.
start_agent() {
  port=""; n=0
  while [ -z "$port" ] && [ $n -lt 50 ]; do
    for d in /sys/class/virtio-ports/*; do
      [ "$(cat "$d/name" 2>/dev/null)" = "${AGENT_PORT_NAME}" ] && port=/dev/\${d##*/}
    done
    [ -z "$port" ] && { n=$((n + 1)); sleep 0.1; }
  done
  if [ -z "$port" ] || [ ! -c "$port" ]; then echo "${ERROR_PREFIX} no virtio port ${AGENT_PORT_NAME} for the agent (a kernel without virtio_console, or a VMM without the port?)"; return; fi
  (${AGENT_PATH} "$port" >/dev/null 2>&1 </dev/null &)
  started="$started,agent"
}

servers=""
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    netbed.nic=*) configure_nic "\${arg#netbed.nic=}" ;;
    netbed.servers=*) servers="\${arg#netbed.servers=}" ;;
    netbed.busy_poll=*) set_busy_poll "\${arg#netbed.busy_poll=}" ;;
  esac
done

started=""
old_ifs=$IFS; IFS=,
for s in $servers; do
  IFS=$old_ifs
  case "$s" in
    iperf3) iperf3 -s -D >/dev/null 2>&1 && started="$started,iperf3" || echo "${ERROR_PREFIX} iperf3 server did not start" ;;
    sockperf) (sockperf server --tcp -p 11111 >/dev/null 2>&1 &); (sockperf server -p 11111 >/dev/null 2>&1 &); started="$started,sockperf" ;;
    netserver) netserver >/dev/null 2>&1 && started="$started,netserver" || echo "${ERROR_PREFIX} netserver did not start" ;;
    agent) start_agent ;;
  esac
  IFS=,
done
IFS=$old_ifs

read -r up idle < /proc/uptime
busy_poll=$(cat /proc/sys/net/core/busy_poll 2>/dev/null) || busy_poll=none
busy_read=$(cat /proc/sys/net/core/busy_read 2>/dev/null) || busy_read=none
echo "${READY_PREFIX} uptime=$up nics=\${nics#,} servers=\${started#,} busy_poll=$busy_poll busy_read=$busy_read"

while true; do
  while read -r cmd; do
    case "$cmd" in
      poweroff) echo "NETBED-POWEROFF"; sync; poweroff -f ;;
      reboot) echo "NETBED-REBOOT"; sync; reboot -f ;;
    esac
  done
  sleep 1
done
`;

/** Parses `ldd` output into the absolute paths of the libraries (and loader) a binary needs. */
export function parseLdd(text: string): string[] {
    const out = new Set<string>();
    for (const line of text.split("\n")) {
        const arrow = /=>\s+(\/\S+)/.exec(line);
        if (arrow) out.add(arrow[1]);
        else {
            const direct = /^\s*(\/\S+)\s+\(/.exec(line);
            if (direct) out.add(direct[1]);
        }
    }
    return [...out].sort();
}
