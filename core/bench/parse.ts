// The benchmark tools' argv and their output parsed into numbers. Pure: tested on real outputs
// captured on these machines (test/fixtures/tools/).

export interface Iperf3Options {
    server: string;
    port: number;
    duration: number;
    parallel?: number;
    reverse?: boolean;
    /** Both directions at once (iperf3 --bidir, 3.7 and later). */
    bidir?: boolean;
    udp?: boolean;
    /** iperf3 -b: "0" for unlimited, or e.g. "100M". */
    bitrate?: string;
    /** iperf3 -l: the UDP datagram / TCP write size in bytes. */
    length?: number;
}

export function iperf3Argv(o: Iperf3Options): string[] {
    const a = ["iperf3", "-c", o.server, "-p", String(o.port), "-t", String(o.duration), "-J"];
    if (o.parallel && o.parallel > 1) a.push("-P", String(o.parallel));
    if (o.reverse) a.push("-R");
    if (o.bidir) a.push("--bidir");
    if (o.udp) a.push("-u");
    if (o.bitrate !== undefined) a.push("-b", o.bitrate);
    if (o.length !== undefined) a.push("-l", String(o.length));
    return a;
}

export interface Iperf3Result {
    protocol: "TCP" | "UDP";
    reverse: boolean;
    streams: number;
    seconds: number;
    /** Bytes the receiver got. */
    bytes: number;
    /** Goodput at the receiver. */
    bitsPerSecond: number;
    /** TCP: the sender's retransmits (both senders' under --bidir). */
    retransmits?: number;
    /** --bidir: what each direction's receiver got (client to server, server to client); bitsPerSecond is their sum. */
    bidir?: { forwardBitsPerSecond: number; reverseBitsPerSecond: number };
    /** UDP: datagrams sent, lost (as counted by the receiver), and the rate of those delivered. */
    packets?: number;
    lostPackets?: number;
    lostPercent?: number;
    packetsPerSecond?: number;
    jitterMs?: number;
    /** Per-interval samples (by default one per second). */
    intervals: { start: number; end: number; bitsPerSecond: number; packets?: number }[];
    cpu?: { hostTotal: number; remoteTotal: number };
}

export function parseIperf3(json: string): Iperf3Result {
    let d: any;
    try {
        d = JSON.parse(json);
    } catch {
        throw new Error(`iperf3 printed no JSON result: ${JSON.stringify(json.trim().slice(0, 200))}`);
    }
    if (d.error) throw new Error(`iperf3 failed: ${d.error}`);
    const t = d.start?.test_start;
    const e = d.end;
    if (!t || !e) throw new Error("iperf3 JSON has no test_start or end section");
    const udp = t.protocol === "UDP";
    const recv = e.sum_received;
    if (!recv) throw new Error("iperf3 JSON has no end.sum_received");
    const r: Iperf3Result = {
        protocol: udp ? "UDP" : "TCP",
        reverse: t.reverse === 1,
        streams: t.num_streams,
        seconds: recv.seconds,
        bytes: recv.bytes,
        bitsPerSecond: recv.bits_per_second,
        intervals: (d.intervals ?? []).map((i: any) => ({
            start: i.sum.start,
            end: i.sum.end,
            bitsPerSecond: i.sum.bits_per_second,
            ...(i.sum.packets !== undefined ? { packets: i.sum.packets } : {}),
        })),
    };
    if (!udp) r.retransmits = e.sum_sent?.retransmits;
    const back = e.sum_received_bidir_reverse;
    if (back) {
        // --bidir: the reverse direction's receiver is the client; the totals add both directions.
        r.bidir = { forwardBitsPerSecond: recv.bits_per_second, reverseBitsPerSecond: back.bits_per_second };
        r.bytes += back.bytes;
        r.bitsPerSecond += back.bits_per_second;
        if (!udp) r.retransmits = (e.sum_sent?.retransmits ?? 0) + (e.sum_sent_bidir_reverse?.retransmits ?? 0);
    }
    if (udp) {
        // end.sum carries the receiver's loss and jitter; sum_received.packets is what arrived.
        const sum = e.sum ?? recv;
        r.packets = sum.packets;
        r.lostPackets = sum.lost_packets;
        r.lostPercent = sum.lost_percent;
        r.jitterMs = sum.jitter_ms;
        // The receiver's packet count is its highest sequence number: lost datagrams are inside it.
        r.packetsPerSecond = (recv.packets - (sum.lost_packets ?? 0)) / recv.seconds;
    }
    if (e.cpu_utilization_percent) r.cpu = { hostTotal: e.cpu_utilization_percent.host_total, remoteTotal: e.cpu_utilization_percent.remote_total };
    return r;
}

export interface SockperfOptions {
    mode: "ping-pong" | "under-load";
    server: string;
    port: number;
    duration: number;
    tcp?: boolean;
    messageSize?: number;
    /** under-load: messages per second. */
    mps?: number;
}

/**
 * under-load: the server answers every Nth message only (sockperf's default N is 100, which at low
 * rates leaves no observation in a short run): about 1000 observed replies per second at any rate.
 */
function replyEvery(mps: number): number {
    return Math.max(1, Math.floor(mps / 1000));
}

export function sockperfArgv(o: SockperfOptions): string[] {
    const a = ["sockperf", o.mode, "-i", o.server, "-p", String(o.port), "-t", String(o.duration)];
    if (o.tcp) a.push("--tcp");
    if (o.messageSize !== undefined) a.push("-m", String(o.messageSize));
    if (o.mode === "under-load") {
        const mps = o.mps ?? 10000;
        a.push("--mps", String(mps), "--reply-every", String(replyEvery(mps)));
    }
    return a;
}

export interface SockperfResult {
    /** Microseconds. */
    avg: number;
    stddev: number;
    min: number;
    max: number;
    p25: number;
    p50: number;
    p75: number;
    p90: number;
    p99: number;
    p999: number;
    p9999: number;
    p99999: number;
    observations: number;
    /** Every percentile sockperf printed, keyed as printed ("99.900"). */
    percentiles: Record<string, number>;
    /** `--full-rtt`: every figure is a round trip (avg-rtt); otherwise sockperf halves it (avg-latency). */
    roundTrip: boolean;
    sent?: number;
    received?: number;
}

export function parseSockperf(text: string): SockperfResult {
    // sockperf colours its lines with ANSI escapes.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the terminal colour escapes the tool prints
    const t = text.replace(/\x1b\[[0-9;]*m/g, "");
    const err = /sockperf: ERROR: (.*)/.exec(t);
    if (err) throw new Error(`sockperf failed: ${err[1].trim()}`);
    // 3.7 prints "avg-latency=X (std-dev=Y)"; 3.8+ adds ", mean-ad=..., 99.0% ci=[...]" inside the
    // parentheses, and says avg-rtt under --full-rtt.
    const avg = /avg-(latency|rtt)=([\d.]+) \(std-dev=([\d.]+)[,)]/.exec(t);
    if (!avg) throw new Error(`sockperf printed no latency summary: ${JSON.stringify(t.trim().slice(-300))}`);
    const percentiles: Record<string, number> = {};
    for (const m of t.matchAll(/---> percentile ([\d.]+) =\s*([\d.]+)/g)) percentiles[m[1]] = Number(m[2]);
    const p = (k: string) => {
        const v = percentiles[k];
        if (v === undefined) throw new Error(`sockperf printed no ${k} percentile`);
        return v;
    };
    const num = (re: RegExp) => {
        const m = re.exec(t);
        if (!m) throw new Error(`sockperf output lacks ${re.source}`);
        return Number(m[1]);
    };
    const valid = /\[Valid Duration\].*SentMessages=(\d+); ReceivedMessages=(\d+)/.exec(t);
    return {
        avg: Number(avg[2]),
        stddev: Number(avg[3]),
        min: num(/<MIN> observation =\s*([\d.]+)/),
        max: num(/<MAX> observation =\s*([\d.]+)/),
        p25: p("25.000"),
        p50: p("50.000"),
        p75: p("75.000"),
        p90: p("90.000"),
        p99: p("99.000"),
        p999: p("99.900"),
        p9999: p("99.990"),
        p99999: p("99.999"),
        observations: num(/Total (\d+) observations/),
        percentiles,
        roundTrip: avg[1] === "rtt",
        ...(valid ? { sent: Number(valid[1]), received: Number(valid[2]) } : {}),
    };
}

export interface NetperfOptions {
    server: string;
    port: number;
    test: "TCP_RR" | "TCP_CRR" | "UDP_RR";
    duration: number;
    requestSize: number;
    responseSize: number;
    /** Run this many transactions instead of `duration` seconds (netperf -l -N). */
    transactions?: number;
}

/** The omni output selectors netbed reads, in this order (one CSV line with -P 0). */
const NETPERF_SELECTORS = [
    "THROUGHPUT",
    "THROUGHPUT_UNITS",
    "LOCAL_CPU_UTIL",
    "REMOTE_CPU_UTIL",
    "LOCAL_SD",
    "REMOTE_SD",
    "SD_UNITS",
    "MEAN_LATENCY",
    "P50_LATENCY",
    "P99_LATENCY",
    "ELAPSED_TIME",
] as const;

export function netperfArgv(o: NetperfOptions): string[] {
    // -c/-C measure CPU on both ends so netperf reports service demand; -P 0 drops the banner.
    const length = o.transactions !== undefined ? -o.transactions : o.duration;
    return [
        "netperf",
        "-H",
        o.server,
        "-p",
        String(o.port),
        "-l",
        String(length),
        "-t",
        o.test,
        "-c",
        "-C",
        "-P",
        "0",
        "--",
        "-r",
        `${o.requestSize},${o.responseSize}`,
        "-o",
        NETPERF_SELECTORS.join(","),
    ];
}

export interface NetperfResult {
    transactionsPerSecond: number;
    localCpuPercent?: number;
    remoteCpuPercent?: number;
    /** Microseconds of CPU per transaction. */
    localServiceDemand?: number;
    remoteServiceDemand?: number;
    meanLatencyUs?: number;
    p50LatencyUs?: number;
    p99LatencyUs?: number;
    /** Seconds the transactions took by netperf's clock: the rate times this is the count. */
    elapsedSeconds?: number;
}

export function parseNetperf(text: string): NetperfResult {
    const line = text
        .split("\n")
        .map((l) => l.trim())
        .find((l) => /^[\d.]+,Trans\/s,/.test(l));
    if (!line) {
        const why = text.trim().split("\n")[0] ?? "";
        throw new Error(`netperf failed: ${why || "no result line"}`);
    }
    const f = line.split(",");
    const num = (i: number) => {
        const v = Number(f[i]);
        // netperf prints -1 where it could not measure (e.g. no remote CPU figure).
        return Number.isFinite(v) && v >= 0 ? v : undefined;
    };
    return {
        transactionsPerSecond: Number(f[0]),
        localCpuPercent: num(2),
        remoteCpuPercent: num(3),
        localServiceDemand: num(4),
        remoteServiceDemand: num(5),
        meanLatencyUs: num(7),
        p50LatencyUs: num(8),
        p99LatencyUs: num(9),
        elapsedSeconds: num(10),
    };
}

export interface PingOptions {
    target: string;
    count: number;
    /** Seconds between echoes. */
    interval: number;
    size?: number;
}

export function pingArgv(o: PingOptions): string[] {
    return ["ping", "-c", String(o.count), "-i", String(o.interval), "-W", "2", ...(o.size !== undefined ? ["-s", String(o.size)] : []), o.target];
}

export interface PingResult {
    /** The first reply to each echo; duplicates are counted, not sampled. */
    rtts: { seq: number; ms: number }[];
    duplicates: number;
    transmitted: number;
    received: number;
    lossPercent: number;
}

/** iputils and busybox ping. */
export function parsePing(text: string): PingResult {
    const rtts: PingResult["rtts"] = [];
    const seen = new Set<number>();
    let duplicates = 0;
    // A duplicate is a second reply to one echo (marked "(DUP!)", or not: iputils leaves the mark off
    // for broadcast pings): it says the network copies packets, not how long one round trip took.
    for (const m of text.matchAll(/(?:icmp_seq|seq)=(\d+).*?time=([\d.]+) ms(.*)/g)) {
        const seq = Number(m[1]);
        if (seen.has(seq) || m[3].includes("(DUP!)")) {
            duplicates++;
            continue;
        }
        seen.add(seq);
        rtts.push({ seq, ms: Number(m[2]) });
    }
    const s = /(\d+) packets transmitted, (\d+) (?:packets )?received.*?([\d.]+)% packet loss/.exec(text);
    if (!s) throw new Error(`ping failed: ${text.trim().split("\n").pop() || "no output"}`);
    return { rtts, duplicates, transmitted: Number(s[1]), received: Number(s[2]), lossPercent: Number(s[3]) };
}

export interface FloodOptions {
    target: string;
    count: number;
    /** Echo requests per second. */
    rate: number;
    size: number;
}

/** iputils ping -f paced at `rate` (-i 1/rate), quiet: only the summary, with a deadline past the nominal time. */
export function floodArgv(o: FloodOptions): string[] {
    const interval = (1 / o.rate).toFixed(6).replace(/0+$/, "").replace(/\.$/, "");
    const deadline = Math.ceil(o.count / o.rate) + 5;
    return ["ping", "-f", "-q", "-c", String(o.count), "-i", interval, "-s", String(o.size), "-w", String(deadline), o.target];
}

export interface FloodResult {
    transmitted: number;
    received: number;
    /** ICMP errors (host unreachable) reported instead of replies. */
    errors: number;
    lossPercent: number;
    /** Wall time ping reports for the flood. */
    timeMs: number;
    /** Round trips in ms; absent when nothing came back. */
    rtt?: { min: number; avg: number; max: number; mdev: number };
}

/** iputils ping -f -q's summary. */
export function parseFlood(text: string): FloodResult {
    const s = /(\d+) packets transmitted, (\d+) received(?:, \+(\d+) errors)?, ([\d.]+)% packet loss, time (\d+)ms/.exec(text);
    if (!s) throw new Error(`flood ping failed: ${text.trim().split("\n").pop() || "no output"}`);
    const r = /rtt min\/avg\/max\/mdev = ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(text);
    return {
        transmitted: Number(s[1]),
        received: Number(s[2]),
        errors: Number(s[3] ?? 0),
        lossPercent: Number(s[4]),
        timeMs: Number(s[5]),
        ...(r ? { rtt: { min: Number(r[1]), avg: Number(r[2]), max: Number(r[3]), mdev: Number(r[4]) } } : {}),
    };
}
