// netbed report: the Volt template filled in from a results document, its charts and HTML page,
// on the fixture (test/fixtures/report/, made by make-fixture.ts: three headline medians from a
// real local run, the rest synthetic) and on variants of it whose answer is known.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type ResultsDoc, ResultsDocSchema, kernelLabel, summarizeResults } from "../../core/bench/results";
import { summarize } from "../../core/bench/stats";
import { latencyCdfs } from "../../core/report/cdf";
import { type Chart, renderSvg, reportCharts } from "../../core/report/charts";
import { inline, toHtml } from "../../core/report/html";
import { cpuSecondsPerGbit, cpuUsPerPacket } from "../../core/report/model";
import { pooledPercentile } from "../../core/bench/aggregate";
import { parsePing } from "../../core/bench/parse";
import { reportView } from "../../core/report/view";
import { voltMarkdown, voltReport } from "../../core/report/volt";
import { main as reportMain } from "../../scripts/report";
import { resolveResultsDir } from "../../providers/files/report";

const FIXTURE_DIR = path.join(__dirname, "..", "fixtures", "report");
const FIXTURE = path.join(FIXTURE_DIR, "results.json");

function fixture(): ResultsDoc {
    return ResultsDocSchema.parse(JSON.parse(fs.readFileSync(FIXTURE, "utf8")));
}

const readRaw = (rel: string) => {
    try {
        return fs.readFileSync(path.join(FIXTURE_DIR, rel), "utf8");
    } catch {
        return undefined;
    }
};

/** Well-formed XML, checked by Python's expat (python3 is one of setup.sh's packages). */
function assertXml(file: string): void {
    const r = spawnSync("python3", ["-c", "import sys, xml.dom.minidom; d = xml.dom.minidom.parse(sys.argv[1]); print(d.documentElement.tagName)", file], {
        encoding: "utf8",
    });
    assert.equal(r.status, 0, `${file} is not well-formed XML: ${r.stderr}`);
    assert.equal(r.stdout.trim(), "svg");
}

/** The fixture with every cell's repetitions repeated up to n (the same values again: the test then has the power of n). */
function fixtureWithReps(n: number): ResultsDoc {
    const d = fixture();
    d.run.settings.repetitions = n;
    for (const c of d.cells) {
        const reps = c.repetitions;
        if (reps.length === 0) continue;
        c.repetitions = Array.from({ length: n }, (_, i) => ({ ...reps[i % reps.length], index: i, metrics: { ...reps[i % reps.length].metrics } }));
        for (const m of Object.keys(c.metrics)) c.metrics[m] = summarize(c.repetitions.map((r) => r.metrics[m]).filter((x) => x !== undefined));
    }
    return d;
}

/** A copy of the document with every metric of one pair multiplied (latency divided) by k. */
function boosted(doc: ResultsDoc, pair: string, k: number): ResultsDoc {
    const d: ResultsDoc = JSON.parse(JSON.stringify(doc));
    for (const c of d.cells) {
        if (c.pair !== pair) continue;
        for (const [m, st] of Object.entries(c.metrics)) {
            const f = /us|ms/.test(m) ? 1 / k : k;
            Object.assign(st, {
                median: st.median * f,
                mean: st.mean * f,
                min: st.min * f,
                max: st.max * f,
                ci: st.ci && { low: st.ci.low * f, high: st.ci.high * f, level: st.ci.level },
            });
        }
        for (const r of c.repetitions) for (const m of Object.keys(r.metrics)) r.metrics[m] *= /us|ms/.test(m) ? 1 / k : k;
    }
    return d;
}

describe("report: the fixture", () => {
    it("follows ResultsDocSchema and carries the measured medians it claims", () => {
        const doc = fixture();
        assert.match(doc.run.name, /FIXTURE/);
        const s = summarizeResults(doc);
        assert.deepEqual(
            ["bare-metal", "virtio", "macvtap"].map((p) => [s[p].tcpGbps, s[p].tcpRrTps, s[p].pps64]),
            [
                [13.34, 30610, 173800],
                [2.19, 6191, 29400],
                [2.16, 6066, 39000],
            ],
        );
        // Every repetition's raw path of a latency cell exists: the CDFs read them.
        for (const c of doc.cells.filter((x) => x.dimensions.test === "icmp" || x.dimensions.test === "latency")) {
            for (const r of c.repetitions) assert.ok(fs.existsSync(path.join(FIXTURE_DIR, r.raw)), r.raw);
        }
    });
});

describe("report: Volt markdown", () => {
    const doc = fixture();
    const md = voltMarkdown(doc, { resultsPath: "results/runs/x.json", resultsDir: "/srv/results" });

    it("has the template's sections in order", () => {
        const heads = md.split("\n").filter((l) => /^#{1,3} /.test(l));
        const want = [
            "## Test Environment",
            "## Test Configuration",
            "## Results",
            "### Throughput (Gbps)",
            "### Latency (microseconds)",
            "### Packets Per Second",
            "### Transaction Rates (trans/sec)",
            "## Analysis",
            "### Throughput Analysis",
            "### Latency Analysis",
            "### PPS Analysis",
            "## Conclusions",
            "### Performance Hierarchy",
            "### Recommendations",
            "### Anomalies or Issues",
            "## Raw Data",
            "## Reproducibility",
        ];
        let at = -1;
        for (const h of want) {
            const i = heads.indexOf(h);
            assert.ok(i > at, `${h} missing or out of order in ${heads.join(" / ")}`);
            at = i;
        }
    });
    it("fills one column per backend, with percent of the bare-metal pair", () => {
        assert.ok(md.includes("| Test | bare-metal | virtio | macvtap |"));
        assert.ok(md.includes("| TCP Single Stream | 13.34 | 2.19 (16.4%) | 2.16 (16.2%) |"), md);
        assert.ok(md.includes("| 64 bytes | 173.8k | 29.4k (16.9%) | 39.0k (22.4%) |"));
        assert.ok(md.includes("| TCP_RR | 30610 | 6191 (20.2%) | 6066 (19.8%) |"));
        // The failed cell is shown as failed, not as a number or a blank.
        assert.match(md, /\| TCP_CRR \| 9870 \| 1412 \(14\.3%\) \| failed \|/);
        // ICMP medians are stored in ms and shown in µs; this document has no echoes to pool (†).
        assert.match(md, /\| ICMP P50 \| 46\.0 † \| 412\.0 † \(896%\) \| 389\.0 † \(846%\) \|/);
        assert.match(md, /\| Host Kernel \| 6\.18\.44-fc-v1045 \|/);
    });
    it("analyses against the virtio baseline, calling a difference only by the compare rule", () => {
        assert.ok(md.includes("- virtio: 2.19 Gbit/s (baseline)"));
        // The fixture has 3 repetitions: the test cannot reach p <= 0.04 (q of the report's BH family) even for a 32.7% gap.
        assert.ok(
            md.includes("- macvtap: 2.16 Gbit/s (1.4% lower than virtio; no significant difference: too few repetitions for the test to reach p <= 0.04)"),
        );
        assert.ok(
            md.includes("- macvtap: 39.0k pps (32.7% higher than virtio; no significant difference: too few repetitions for the test to reach p <= 0.04)"),
        );
        const five = voltMarkdown(fixtureWithReps(5));
        assert.match(five, /- macvtap: 39\.0k pps \(32\.7% higher than virtio; significant, adjusted p 0\.016\)/);
        assert.match(md, /\*\*Jitter \(P99\/P50 ratio\):\*\*\n\n- virtio: 4\.6x\n- macvtap: 5\.9x\n- bare-metal: 2\.1x \(native reference\)/);
        assert.match(md, /Time between delivered packets: 25\.6 µs for macvtap vs 34\.0 µs for virtio/);
        assert.match(md, /knee at 5000 msg\/s/);
        assert.match(md, /bare-metal: no knee up to 20000 msg\/s/);
    });
    it("lists the anomalies: failed cell, high variance, loss, TCG, the missing Volt backend", () => {
        const an = md.slice(md.indexOf("### Anomalies or Issues"), md.indexOf("## Raw Data"));
        assert.match(an, /`macvtap\/tcp_crr-1`: `netperf -H 10\.77\.2\.10/);
        assert.match(an, /\| macvtap \| tcp-1-reverse \| gbps 13\.4% \|/);
        assert.match(an, /\*\*Packet loss:\*\* `virtio\/udp-max-1400` 38\.2%, `macvtap\/udp-max-1400` 21\.7%/);
        assert.match(an, /guest vm1 runs under TCG/);
        assert.match(an, /\*\*Not in this run:\*\* vhost-net/);
        // The provider's own CV/loss/failure warnings are not repeated verbatim.
        assert.doesNotMatch(an, /varies a lot/);
    });
    it("names the raw data directories and the commands to reproduce", () => {
        assert.ok(md.includes("- virtio: `/srv/results/ext-guest/virtio/2026-12-02T03-10-04-512Z/`"));
        assert.ok(md.includes("npm run netbed -- report results/runs/x.json"));
        assert.ok(md.includes("iperf3 -c <server-ip> -p 5201 -t 2 -J -P 8"));
        assert.ok(md.includes("netperf -H <server-ip> -p 12865 -l 2 -t TCP_CRR"));
    });
    it("ranks the conclusions from significant differences only: a virtio 1.5x faster everywhere moves to the top", () => {
        const h = reportView(doc).ranking;
        const pairs = (t: { pair: string }[][]) => t.map((tier) => tier.map((c) => c.pair));
        assert.deepEqual(pairs(h.tiers), [["virtio", "macvtap"]], "the fixture's 3 repetitions cannot reach p <= 0.04: a tie");
        assert.match(voltMarkdown(doc), /No recommendation: with 3 repetitions per cell the test cannot reach p <= 0\.04/);
        const five = fixtureWithReps(5);
        const flipped = reportView(boosted(five, "virtio", 1.5)).ranking;
        assert.deepEqual(pairs(flipped.tiers), [["virtio"], ["macvtap"]]);
        const fm = voltMarkdown(boosted(five, "virtio", 1.5));
        assert.match(fm, /1\. \*\*virtio\*\* \(beats macvtap\)/);
        assert.match(fm, /Default: `virtio` \(beats every other guest/);
    });
    it("names a best guest against bare metal only where it leads significantly; a tie gives every guest's share", () => {
        assert.doesNotMatch(md, /best guest/, "the fixture's 3 repetitions call no difference: no guest may be named best");
        assert.ok(
            md.includes(
                "- bare-metal: 13.34 Gbit/s (native reference; with no significant leader, the guests are at 16.4% (virtio) and 16.2% (macvtap) of it)",
            ),
        );
        assert.match(md, /With no significant leader, the guests are at 16\.4% \(virtio\) and 16\.2% \(macvtap\) of bare metal \(13\.34 Gbit\/s\)\./);
        assert.match(
            md,
            /the guests are at 1476% \(virtio\) and 2004% \(macvtap\) of bare metal's value \(50\.6 µs\)/,
            "latency as a percent of bare metal, as in the tables",
        );
        assert.match(md, /\(native reference; virtio is at 14\.3% of it\)/, "one guest measured (macvtap's TCP_CRR failed): named, not called best");
        const fm = voltMarkdown(boosted(fixtureWithReps(5), "virtio", 1.5));
        assert.match(fm, /\(native reference; the best guest, virtio, is at 24\.6% of it\)/);
        assert.match(fm, /The best guest, virtio, is at 24\.6% of bare metal \(13\.34 Gbit\/s\)\./);
    });
    it("without a bare-metal pair: no percentages; without virtio: the first guest is the baseline", () => {
        const d = fixture();
        d.cells = d.cells.filter((c) => c.pair !== "bare-metal" && c.pair !== "virtio");
        const m = voltMarkdown(d);
        assert.ok(m.includes("| TCP Single Stream | 2.16 |"));
        assert.doesNotMatch(m, /% of bare metal/);
        assert.match(m, /No virtio pair in this run: macvtap is the baseline/);
        assert.match(m, /- macvtap: 2\.16 Gbit\/s \(baseline\)/);
        assert.match(m, /\*\*Not in this run:\*\* virtio, vhost-net/);
    });
    it("a run without guests, or with one guest only, still reads sensibly", () => {
        const d = fixture();
        d.cells = d.cells.filter((c) => c.pair === "bare-metal");
        const m = voltMarkdown(d);
        assert.match(m, /The run has no guest pairs/);
        assert.match(m, /### Performance Hierarchy\n\nNo guest pairs in this run\./);
        const one = fixture();
        one.cells = one.cells.filter((c) => c.pair !== "macvtap");
        const m1 = voltMarkdown(one);
        assert.match(m1, /1\. \*\*virtio\*\*\n/);
        assert.match(m1, /Only `virtio` was measured: nothing to choose between/);
        assert.match(m1, /Time between delivered packets: 34\.0 µs for virtio\./);
    });
    it("a native pair is recognised by topology too (host-host), and named with its label", () => {
        const d = fixture();
        for (const c of d.cells)
            if (c.pair === "bare-metal")
                Object.assign(c, { pair: "loopback-ref" }, { dimensions: { ...c.dimensions, backend: "none", topology: "host-host" } });
        const m = voltMarkdown(d);
        assert.ok(m.includes("| Test | none (loopback-ref) | virtio | macvtap |"), m.slice(0, 3000));
        assert.ok(m.includes("| TCP Single Stream | 13.34 | 2.19 (16.4%) | 2.16 (16.2%) |"));
    });
});

describe("report: latency CDFs", () => {
    const doc = fixture();
    it("from raw files: every ping RTT pooled, sockperf's percentile table", () => {
        const cdfs = latencyCdfs(reportView(doc), readRaw);
        const icmp = cdfs.find((c) => c.cell === "icmp-56")!;
        assert.deepEqual(
            icmp.series.map((s) => [s.pair, s.source, s.points.length]),
            [
                ["bare-metal", "raw-samples", 120],
                ["virtio", "raw-samples", 120],
                ["macvtap", "raw-samples", 120],
            ],
        );
        const pts = icmp.series[1].points;
        assert.ok(
            pts.every((p, i) => i === 0 || (p.us >= pts[i - 1].us && p.p > pts[i - 1].p)),
            "non-decreasing",
        );
        assert.equal(pts[pts.length - 1].p, 1);
        const tcp = cdfs.find((c) => c.cell === "latency-tcp-64")!;
        const v = tcp.series.find((s) => s.pair === "virtio")!;
        assert.equal(v.source, "raw-percentiles");
        // min, 8 printed percentiles, max; the 99th is the document's P99 median (747.0 µs).
        assert.equal(v.points.length, 10);
        assert.ok(
            Math.abs(v.points.find((p) => p.p === 0.99)!.us - doc.cells.find((c) => c.pair === "virtio" && c.cell === "latency-tcp-64")!.metrics.p99us.median) <
                0.01,
        );
    });
    it("falls back to the document's percentiles per pair where raw files are missing", () => {
        const cdfs = latencyCdfs(reportView(doc), (rel) => (rel.includes("/macvtap/") ? undefined : readRaw(rel)));
        const icmp = cdfs.find((c) => c.cell === "icmp-56")!;
        assert.deepEqual(
            icmp.series.map((s) => s.source),
            ["raw-samples", "raw-samples", "summary"],
        );
        const m = icmp.series[2].points;
        assert.deepEqual(
            m.map((p) => p.p),
            [0, 0.5, 0.95, 0.99, 1],
        );
        assert.ok(Math.abs(m[1].us - 389) < 1e-9, "ICMP ms become µs");
        assert.ok(latencyCdfs(reportView(doc)).every((c) => c.series.every((s) => s.source === "summary")));
    });
});

describe("report: SVG charts (vega-lite rendered in Node)", function () {
    this.timeout(120_000);
    const doc = fixture();
    const view = reportView(doc);
    const charts = reportCharts(view, latencyCdfs(view, readRaw));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-report-charts-"));
    const svgs = new Map<string, string>();
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    before(async () => {
        for (const c of charts) {
            const svg = await renderSvg(c.spec);
            svgs.set(c.name, svg);
            fs.writeFileSync(path.join(dir, `${c.name}.svg`), svg);
        }
    });
    const chart = (name: string): Chart => {
        const c = charts.find((x) => x.name === name);
        assert.ok(c, `no chart ${name} among ${charts.map((x) => x.name).join(", ")}`);
        return c;
    };

    it("makes the five kinds of chart the document has data for", () => {
        assert.deepEqual(
            charts.map((c) => c.name),
            ["throughput", "latency-cdf-icmp-56", "latency-cdf-latency-tcp-64", "pps", "load-load-udp-64", "cpu-per-gbit"],
        );
    });
    it("every SVG is well-formed XML naming every backend it plots", () => {
        for (const c of charts) {
            assertXml(path.join(dir, `${c.name}.svg`));
            const svg = svgs.get(c.name)!;
            for (const s of c.series) assert.ok(svg.includes(`>${s}</text>`), `${c.name}: legend lacks ${s}`);
            assert.deepEqual(c.series, ["bare-metal", "virtio", "macvtap"], c.name);
        }
    });
    it("throughput: bars labelled with the medians, interval whiskers from the document at the level they achieve", () => {
        const svg = svgs.get("throughput")!;
        for (const v of ["13.3", "2.19", "2.16"]) assert.ok(svg.includes(`>${v}</text>`), `no label ${v}`);
        // Vega writes each mark's data into its aria-label: the whisker of virtio's TCP single stream.
        const cell = doc.cells.find((c) => c.pair === "virtio" && c.cell === "tcp-1")!;
        // 3 repetitions: [min, max] would cover the median with 75% only: no whisker, and the subtitle says so.
        assert.equal(cell.metrics.gbps.ci, null);
        assert.match(svg, /whiskers: none where n = 3 repetitions are too few for an interval of the median/);
        assert.ok(!svg.includes("backend: virtio; high:"));
    });
    it("throughput whiskers at 5 repetitions: [min, max], labelled with the 93.75% it covers", async () => {
        const d = fixtureWithReps(5);
        const view = reportView(d);
        const spec = reportCharts(view, latencyCdfs(view, readRaw)).find((c) => c.name === "throughput")!.spec;
        const svg = await renderSvg(spec);
        const cell = d.cells.find((c) => c.pair === "virtio" && c.cell === "tcp-1")!;
        const { low, high, level } = cell.metrics.gbps.ci!;
        assert.deepEqual([low, high, level], [cell.metrics.gbps.min, cell.metrics.gbps.max, 0.9375]);
        assert.match(svg, /whiskers: distribution-free interval of the median from order statistics \(93\.75% at n = 5\)/);
        const g = (v: number) => Number(v.toPrecision(12));
        assert.ok(svg.includes(`backend: virtio; high: ${g(high)}; low: ${g(low)}`), `no whisker ${low}..${high} for virtio in the SVG`);
        assert.ok(JSON.stringify(spec).includes('"errorbar"'));
        assert.ok(!JSON.stringify(chart("throughput").spec).includes('"errorbar"'), "no whiskers without intervals");
    });
    it("latency CDF, PPS vs size, latency vs load with the knee, CPU per Gbit", () => {
        assert.match(svgs.get("latency-cdf-icmp-56")!, /every echo(&#39;|&apos;|')s RTT/);
        assert.match(svgs.get("latency-cdf-icmp-56")!, />P99<\/text>/);
        assert.match(svgs.get("pps")!, />UDP payload \(bytes\)<\/text>/);
        for (const [pair, pps] of [
            ["bare-metal", 173800],
            ["virtio", 29400],
            ["macvtap", 39000],
        ])
            assert.ok(svgs.get("pps")!.includes(`UDP payload (bytes): 64; packets/s: ${pps}; backend: ${pair}`), `${pair} 64-byte point`);
        // The sockperf CDF passes through the document's P99 median at 99%.
        const p99 = doc.cells.find((c) => c.pair === "virtio" && c.cell === "latency-tcp-64")!.metrics.p99us.median;
        assert.ok(
            svgs.get("latency-cdf-latency-tcp-64")!.includes(`: ${Number(p99.toPrecision(12))}; cumulative fraction: 99%; backend: virtio`),
            `virtio P99 ${p99} on the CDF`,
        );
        const load = svgs.get("load-load-udp-64")!;
        // virtio's and macvtap's knees share one label; bare-metal has none in range.
        assert.match(load, />knee 5000 msg\/s: virtio, macvtap<\/text>/);
        assert.equal((load.match(/>knee /g) ?? []).length, 1);
        assert.match(svgs.get("cpu-per-gbit")!, />CPU-seconds per Gbit<\/text>/);
        const cpu = cpuSecondsPerGbit(doc.cells.find((c) => c.pair === "virtio" && c.cell === "tcp-1")!)!;
        assert.ok(svgs.get("cpu-per-gbit")!.includes(`>${Number(cpu.toPrecision(3))}</text>`), `virtio's TCP single-stream CPU cost label ${cpu}`);
    });
});

describe("report: HTML page", () => {
    it("is self-contained: the charts inline, nothing fetched, text escaped", () => {
        const doc = fixture();
        const blocks = voltReport(reportView(doc), { charts: [{ name: "throughput", title: "T", section: "throughput" }] });
        const html = toHtml(blocks, { throughput: '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><text>x</text></svg>' }, "a <b> title");
        assert.ok(html.startsWith("<!DOCTYPE html>"));
        assert.ok(html.includes('<figure id="chart-throughput"><svg xmlns="http://www.w3.org/2000/svg">'));
        assert.doesNotMatch(html, /<\?xml/);
        assert.doesNotMatch(html, /<(script|link|img|iframe)\b/);
        assert.doesNotMatch(html, /\b(src|href)=/);
        assert.ok(html.includes("<title>a &lt;b&gt; title</title>"));
        assert.ok(html.includes('<td class="r">failed</td>'));
        assert.equal(inline("**a** `x<y **b**` c*d"), "<strong>a</strong> <code>x&lt;y **b**</code> c*d");
    });
});

describe("report: CLI (scripts/report.ts)", function () {
    this.timeout(180_000);
    it("writes report.md, report.html and the SVGs for a results document", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-report-cli-"));
        try {
            const errors: string[] = [];
            const orig = console.error;
            console.error = (...a: unknown[]) => errors.push(a.join(" "));
            const logs: string[] = [];
            const origLog = console.log;
            console.log = (...a: unknown[]) => logs.push(a.join(" "));
            let code: number;
            try {
                code = await reportMain([FIXTURE, "--out", out]);
            } finally {
                console.error = orig;
                console.log = origLog;
            }
            assert.equal(code, 0, errors.join("\n"));
            assert.deepEqual(errors, [], "every raw file the CDFs need was read");
            const files = fs.readdirSync(out).sort();
            assert.deepEqual(files, [
                "anomalies.md",
                "cells.csv",
                "cpu-per-gbit.svg",
                "latency-cdf-icmp-56.svg",
                "latency-cdf-latency-tcp-64.svg",
                "load-load-udp-64.svg",
                "pps.svg",
                "repetitions.csv",
                "report.html",
                "report.md",
                "throughput.svg",
            ]);
            const md = fs.readFileSync(path.join(out, "report.md"), "utf8");
            assert.ok(md.includes("![Throughput per backend](throughput.svg)"));
            assert.ok(md.includes(`- virtio: \`${path.join(FIXTURE_DIR, "ext-guest/virtio/2026-12-02T03-10-04-512Z")}/\``));
            const html = fs.readFileSync(path.join(out, "report.html"), "utf8");
            assert.equal((html.match(/<svg /g) ?? []).length, 6);
            // The export beside the report, linked from both.
            assert.match(md, /\[repetitions\.csv\]\(repetitions\.csv\), \[cells\.csv\]\(cells\.csv\) beside this report/);
            assert.ok(html.includes('<a href="repetitions.csv">repetitions.csv</a>'));
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });
    it("refuses what is not a results document, naming the file and the field", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-report-bad-"));
        try {
            const f = path.join(dir, "bad.json");
            fs.writeFileSync(f, JSON.stringify({ version: 1, run: {} }));
            await assert.rejects(
                reportMain([f, "--out", dir]),
                new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not a netbed results document.*run\\.name`),
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
    it("finds raw data beside a moved results directory", () => {
        const doc = fixture();
        doc.run.resultsDir = "/nonexistent/results";
        assert.equal(resolveResultsDir(doc, "/data/copy/runs/bench-x.json"), "/data/copy");
        assert.equal(resolveResultsDir(doc, "/data/elsewhere/bench-x.json"), "/data/elsewhere");
        doc.run.resultsDir = ".";
        assert.equal(resolveResultsDir(doc, FIXTURE), FIXTURE_DIR);
    });
});

describe("report: a real run (test/fixtures/report-real: bare-metal pair between two namespaces, 1-s cells, 5 repetitions)", function () {
    this.timeout(180_000);
    const REAL = path.join(__dirname, "..", "fixtures", "report-real", "results.json");
    it("writes the report, its charts and the full anomalies list, with honest intervals and a readable environment", async () => {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "st17-report-real-"));
        try {
            const origLog = console.log;
            console.log = () => undefined;
            try {
                assert.equal(await reportMain([REAL, "--out", out]), 0);
            } finally {
                console.log = origLog;
            }
            const md = fs.readFileSync(path.join(out, "report.md"), "utf8");
            const doc = ResultsDocSchema.parse(JSON.parse(fs.readFileSync(REAL, "utf8")));
            const m = Object.values(doc.environment.machines)[0];
            assert.match(md, /## Test Environment[\s\S]*## Results[\s\S]*## Conclusions/);
            assert.ok(md.includes(`| Host CPU | ${m.cpu}, ${m.cores} cores |`));
            assert.ok(md.includes(`| Host Kernel | ${m.kernel} |`));
            assert.ok(
                md.includes(
                    `| Tools | ${Object.entries(m.tools)
                        .map(([k, v]) => `${k} ${v}`)
                        .join(", ")} |`,
                ),
            );
            // No table cell holds only punctuation (the old "Guest Kernel | ." read a release as a path).
            assert.doesNotMatch(md, /\| [./]* \|$/m);
            // Intervals at the level they achieve for 5 repetitions: [min, max], 93.75%.
            const tcp = doc.cells.find((c) => c.cell === "tcp-1")!.metrics.gbps;
            assert.deepEqual([tcp.ci!.low, tcp.ci!.high, tcp.ci!.level], [tcp.min, tcp.max, 0.9375]);
            assert.ok(md.includes(`| TCP Single Stream | ${tcp.median.toFixed(2)} [${tcp.min.toFixed(2)}–${tcp.max.toFixed(2)}] |`));
            assert.match(md, /In brackets: the distribution-free interval of the median from order statistics \(93\.75% at n = 5\)/);
            // Anomalies: one row per cell in the report, everything in the linked file.
            const an = md.slice(md.indexOf("### Anomalies or Issues"), md.indexOf("## Raw Data"));
            const noisyCells = new Set(
                doc.cells.filter((c) => Object.entries(c.metrics).some(([k, st]) => st.cv > 0.1 && !/^(loss|retransmits)/.test(k))).map((c) => c.cell),
            );
            for (const c of noisyCells) assert.equal(an.split("\n").filter((l) => l.startsWith(`| bare-metal | ${c} |`)).length, 1, c);
            assert.match(an, /\[anomalies\.md\]\(anomalies\.md\)/);
            const full = fs.readFileSync(path.join(out, "anomalies.md"), "utf8");
            for (const w of doc.warnings) assert.ok(full.includes(w), w);
            // The run's repetitions say why VM exits are null: no guest.
            assert.equal(doc.cells[0].repetitions[0].cpu!.unmeasured!.vmExitsPerSecond, "no guest in this pair");
            for (const svg of fs.readdirSync(out).filter((x) => x.endsWith(".svg"))) assertXml(path.join(out, svg));
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });

    it("names a guest kernel by its release, or by its file with the directory where the name says nothing", () => {
        assert.equal(kernelLabel("6.1.0-netbed"), "6.1.0-netbed");
        assert.equal(kernelLabel("/var/cache/netbed/kernels/3f9a1c/bzImage"), "3f9a1c/bzImage");
        assert.equal(kernelLabel("/boot/vmlinuz-6.1.0-18-amd64"), "vmlinuz-6.1.0-18-amd64");
        const d = fixture();
        d.environment.guests = { vm1: { vmm: "qemu 7.2", accel: "tcg", kernel: kernelLabel("6.1.0-netbed"), vcpus: 1, memoryMiB: 256, backend: "virtio" } };
        assert.match(voltMarkdown(d), /\| Guest Kernel \| 6\.1\.0-netbed \|/);
    });
});

describe("report: ICMP percentiles pooled over echoes", () => {
    /** The fixture with each ICMP cell's percentiles pooled from its raw ping outputs (the first `reps` repetitions). */
    function pooledDoc(reps: number): ResultsDoc {
        const d = fixture();
        for (const c of d.cells.filter((x) => x.dimensions.test === "icmp" && x.status === "ok")) {
            const echoes = c.repetitions.slice(0, reps).map((r) => parsePing(readRaw(r.raw)!).rtts.map((x) => x.ms));
            c.pooled = Object.fromEntries([50, 95, 99].map((p) => [`p${p}ms`, pooledPercentile(echoes, p / 100)]));
        }
        return d;
    }
    const row = (md: string, label: string) => md.split("\n").find((l) => l.startsWith(`| ${label} |`))!;

    it("shows each pooled percentile with its echo count and interval, and says which percentiles are whose", () => {
        const d = pooledDoc(3);
        const md = voltMarkdown(d);
        const bare = d.cells.find((c) => c.pair === "bare-metal" && c.cell === "icmp-56")!.pooled!.p99ms;
        assert.equal(bare.n, 120);
        assert.ok(row(md, "ICMP P99").startsWith(`| ICMP P99 | ${(bare.value * 1000).toFixed(1)} [`), row(md, "ICMP P99"));
        assert.match(row(md, "ICMP P99"), /n=120/);
        assert.doesNotMatch(row(md, "ICMP P99"), /†/);
        assert.match(md, /ICMP percentiles are over every echo of every repetition pooled \(n: echoes\)/);
        assert.match(md, /TCP\/UDP latency percentiles are sockperf's own, over each repetition's observations/);
    });

    it("a P99 of 40 echoes is never shown as a P99: the cell says which echoes it lies between", () => {
        const md = voltMarkdown(pooledDoc(1));
        const p99 = row(md, "ICMP P99");
        assert.equal(p99.match(/between the 2nd largest and the largest of 40 echoes: too few for a P99/g)?.length, 3, p99);
        assert.match(row(md, "ICMP P95"), /n=40/);
        assert.match(md, /100 for a P99/);
    });

    it("a document without echoes to pool marks its medians of per-repetition percentiles", () => {
        const md = voltMarkdown(fixture());
        assert.match(row(md, "ICMP P99"), /†/);
        assert.match(md, /†: a median of per-repetition percentiles/);
    });
});

describe("report: host CPU per datagram", () => {
    it("a packet-rate cell with counted datagrams gets CPU-µs per packet, not the time between packets", () => {
        const d = fixture();
        const c = d.cells.find((x) => x.pair === "virtio" && x.cell === "pps-64")!;
        c.serviceDemand = { unit: "us/packet", value: 12.5 };
        const md = voltMarkdown(d);
        const line = md.split("\n").find((l) => l.startsWith("| 64 bytes PPS (CPU-µs/packet) |"));
        assert.ok(line?.includes("| 12.50 |"), line);
        assert.equal(cpuUsPerPacket(c), 12.5);
    });
});
