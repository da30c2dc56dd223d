// The Volt template's closing sections: anomalies (and the full list written beside the report),
// the raw data paths, and the commands that reproduce the run. Pure.
import * as path from "node:path";
import type { CellResult, ResultsDoc } from "../bench/results";
import { iperf3Argv, netperfArgv, sockperfArgv } from "../bench/parse";
import { GUEST_PORTS } from "../bench/measure";
import { B, type Block, type ListItem, toMarkdown } from "./blocks";
import { HIGH_CV, type ReportOptions, type ReportView, uniq } from "./view";
import { pct } from "./model";

/** The backends the Volt template compares; those a run lacks are named under anomalies. */
const VOLT_BACKENDS = ["virtio", "vhost-net", "macvtap"];

/** Run warnings the anomalies already show as failed cells, noisy metrics or loss. */
const PROVIDER_WARNING = /varies a lot \(CV|% packet loss$|^cell \S+ failed: /;

/** The full anomalies list (the report links it): every noisy metric, every failure in full, every warning. */
export function anomaliesMarkdown(view: ReportView): string {
    const { doc, failed, noisy } = view;
    const out: Block[] = [B.h(1, `Anomalies of run \`${doc.run.name}\``)];
    if (failed.length > 0) out.push(B.h(2, "Failed cells"), B.list(failed.map((c) => `\`${c.pair}/${c.cell}\`: ${c.error ?? "no reason recorded"}`)));
    if (noisy.length > 0) {
        out.push(B.h(2, `Coefficient of variation above ${HIGH_CV * 100}%`));
        out.push({
            kind: "table",
            head: ["Pair", "Cell", "Metric", "CV", "n", "Median"],
            rows: noisy.map((x) => [x.pair, x.cell, x.metric, pct(x.cv * 100), String(x.n), String(Number(x.median.toPrecision(4)))]),
            align: ["left", "left", "left", "right", "right", "right"],
        });
    }
    if (doc.warnings.length > 0) out.push(B.h(2, "Run warnings"), B.list(doc.warnings));
    if (out.length === 1) out.push(B.p("None."));
    return toMarkdown(out);
}

export function anomalies(view: ReportView, opts: ReportOptions): Block[] {
    const { doc, failed, noisy } = view;
    const out: Block[] = [];
    if (failed.length > 0) {
        out.push(B.p(`**Failed cells (${failed.length}):**`));
        out.push(B.list(failed.map((c) => `\`${c.pair}/${c.cell}\`: ${(c.error ?? "no reason recorded").slice(0, 400)}`)));
    }
    if (noisy.length > 0) {
        const cells = new Map<string, typeof noisy>();
        for (const x of noisy) cells.set(`${x.pair}\u0000${x.cell}`, [...(cells.get(`${x.pair}\u0000${x.cell}`) ?? []), x]);
        const link = opts.anomaliesFile ? ` The full list, with n and medians: [${opts.anomaliesFile}](${opts.anomaliesFile}).` : "";
        out.push(
            B.p(
                `**High variance (coefficient of variation above ${HIGH_CV * 100}%):** ${noisy.length} metric(s) in ${cells.size} cell(s); add repetitions or quiet the machine before trusting these.${link}`,
            ),
        );
        const rowsOut = [...cells.values()].map((xs) => {
            const sorted = [...xs].sort((a, b) => b.cv - a.cv);
            const shown = sorted.slice(0, 3).map((x) => `${x.metric} ${pct(x.cv * 100)}`);
            return [xs[0].pair, xs[0].cell, `${shown.join(", ")}${sorted.length > 3 ? `, and ${sorted.length - 3} more` : ""}`];
        });
        out.push({ kind: "table", head: ["Pair", "Cell", "Noisiest metrics (CV)"], rows: rowsOut });
    }
    const lossy = doc.cells.filter((c) => c.status === "ok" && (c.metrics.lossPct?.median ?? 0) > 1);
    const lossOf = (c: CellResult) => `\`${c.pair}/${c.cell}\` ${pct(c.metrics.lossPct!.median)}`;
    const lossNotPps = lossy.filter((c) => c.dimensions.test !== "pps");
    const lossPps = lossy.filter((c) => c.dimensions.test === "pps");
    if (lossNotPps.length > 0) out.push(B.p(`**Packet loss:** ${lossNotPps.map(lossOf).join(", ")}.`));
    if (lossPps.length > 0)
        out.push(
            B.p(
                `**Receiver loss at maximum offered rate (PPS cells count delivered packets only, so this is saturation, not an error):** ${lossPps.map(lossOf).join(", ")}.`,
            ),
        );
    const other = doc.warnings.filter((w) => !PROVIDER_WARNING.test(w));
    if (other.length > 0) out.push(B.p("**Run warnings:**"), B.list(other));
    const present = new Set(view.cols.map((c) => c.backend));
    const missing = VOLT_BACKENDS.filter((b) => !present.has(b));
    if (missing.length > 0) out.push(B.p(`**Not in this run:** ${missing.join(", ")} (the Volt template compares ${VOLT_BACKENDS.join(", ")}).`));
    if (out.length === 0)
        out.push(B.p("None: every cell finished, no metric's coefficient of variation exceeded 10%, no loss above 1%, and the run recorded no warnings."));
    return out;
}

export function rawData(view: ReportView, opts: ReportOptions): Block[] {
    const dir = opts.resultsDir ?? view.doc.run.resultsDir;
    const items: ListItem[] = [];
    if (opts.resultsPath) items.push(`Results document: \`${opts.resultsPath}\``);
    for (const col of view.cols) {
        const dirs = uniq(view.doc.cells.filter((c) => c.pair === col.pair).map((c) => path.posix.dirname(c.rawDir)));
        for (const d of dirs) items.push(`${col.title}: \`${path.posix.join(dir, d)}/\``);
    }
    if (opts.exportFiles && opts.exportFiles.length > 0)
        items.push(
            `As tables for pandas, R or a spreadsheet: ${opts.exportFiles.map((f) => `[${f}](${f})`).join(", ")} beside this report (one row per repetition and metric, and per cell and metric; \`netbed export\` writes them for any run)`,
        );
    return [
        B.p("Full test results available in:"),
        B.list(items),
        B.p(
            "Each cell's directory holds one raw tool output per repetition (`rep-N.json` from iperf3, `rep-N.txt` from ping, sockperf and netperf) and its `.meta.json` record with the parsed metrics and CPU accounting.",
        ),
    ];
}

function clientCommands(doc: ResultsDoc): string[] {
    const seen = new Set<string>();
    const lines: string[] = [];
    const server = "<server-ip>";
    const d = doc.run.settings.duration;
    for (const c of doc.cells) {
        if (seen.has(c.cell)) continue;
        seen.add(c.cell);
        const x = c.dimensions;
        let argv: string[][] = [];
        switch (x.test) {
            case "tcp":
                argv = [iperf3Argv({ server, port: GUEST_PORTS.iperf3, duration: d, parallel: x.streams, reverse: x.reverse, bidir: x.bidir })];
                break;
            case "udp": {
                const rate = /^udp-([^-]+)-/.exec(c.cell)?.[1] ?? "max";
                argv = [iperf3Argv({ server, port: GUEST_PORTS.iperf3, duration: d, udp: true, bitrate: rate === "max" ? "0" : `${rate}M`, length: x.size })];
                break;
            }
            case "pps":
                argv = [iperf3Argv({ server, port: GUEST_PORTS.iperf3, duration: d, udp: true, bitrate: "0", length: x.size })];
                break;
            case "icmp":
                lines.push(`ping -c <count> -i <interval> -s ${x.size ?? 56} ${server}`);
                break;
            case "flood":
                lines.push(`ping -f -q -c <count> -i ${x.rate ? 1 / x.rate : "<1/rate>"} -s ${x.size ?? 56} ${server}`);
                break;
            case "latency":
                argv = [sockperfArgv({ mode: "ping-pong", server, port: GUEST_PORTS.sockperf, duration: d, tcp: x.protocol === "tcp", messageSize: x.size })];
                break;
            case "load":
                argv = (x.load ?? []).map((mps) =>
                    sockperfArgv({ mode: "under-load", server, port: GUEST_PORTS.sockperf, duration: d, tcp: x.protocol === "tcp", messageSize: x.size, mps }),
                );
                break;
            case "rr":
                if (x.protocol === "TCP_RR" || x.protocol === "TCP_CRR" || x.protocol === "UDP_RR") {
                    argv = [
                        netperfArgv({
                            server,
                            port: GUEST_PORTS.netserver,
                            test: x.protocol,
                            duration: d,
                            requestSize: x.size ?? 1,
                            responseSize: x.size ?? 1,
                        }),
                    ];
                }
                break;
        }
        for (const a of argv) lines.push(a.join(" "));
    }
    return lines;
}

export function reproduce(view: ReportView, opts: ReportOptions): Block[] {
    const stack = opts.stack ?? "local";
    const doc = opts.resultsPath ?? "<results.json>";
    const s = view.doc.run.settings;
    return [
        B.p("To reproduce these results:"),
        {
            kind: "code",
            lang: "bash",
            text: [
                `# The whole matrix (${s.precision ? `${s.repetitions} to ${s.precision.maxRepetitions} repetitions, by precision,` : `${s.repetitions} repetitions`} after ${s.warmup} warm-up, ${s.duration} s each, interleaved), from the netbed checkout`,
                `npm run netbed -- up --stack ${stack}`,
                "",
                "# This report (markdown, HTML and SVG charts)",
                `npm run netbed -- report ${doc}`,
                "",
                "# Compare with another run",
                `npm run netbed -- compare ${doc} <other-results.json>`,
            ].join("\n"),
        },
        B.p("By hand, one measurement per pair (the commands netbed runs; ports are the tools' defaults, as inside guests):"),
        {
            kind: "code",
            lang: "bash",
            text: [
                "# On the server",
                "iperf3 -s",
                "sockperf server --tcp",
                "sockperf server",
                "netserver",
                "",
                "# On the client",
                ...clientCommands(view.doc),
            ].join("\n"),
        },
    ];
}
