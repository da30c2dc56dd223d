// What `netbed up` prints at its end: the summary of the run's results document (a table of the
// headline metrics per pair, the warnings that matter, the report's path, the next commands)
// instead of every output as JSON. On the report fixture (3 pairs, TCG guests, one failed cell).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { type ResultsDoc, ResultsDocSchema, summarizeResults } from "../../../../core/bench/results";
import { terminalSummary } from "../../../../core/report/summary";
import { upSummary } from "../../../../scripts/netbed";

const FIXTURE = path.join(__dirname, "..", "..", "..", "fixtures", "report", "results.json");
const doc: ResultsDoc = ResultsDocSchema.parse(JSON.parse(fs.readFileSync(FIXTURE, "utf8")));
const REPORT = "/var/lib/netbed results/runs/bench-2026-report/report.md";
const outputs = { results: doc, summary: summarizeResults(doc), resultsPath: "/r/runs/bench-2026.json", reportPath: REPORT, hosts: { a: {} } };

describe("the end of netbed up", () => {
    const lines = upSummary(outputs, "local");
    const text = lines.join("\n");

    it("fits on a screen, where the outputs as JSON ran to thousands of lines", () => {
        const json = JSON.stringify(outputs, null, 2).split("\n").length;
        assert.ok(json > 2000, `the JSON has ${json} lines`);
        assert.ok(lines.length <= 40, `${lines.length} lines:\n${text}`);
    });

    it("has one table of pairs x headline metrics: median, interval or n, percent of bare metal", () => {
        const header = lines.find((l) => /^\s+bare-metal\s+virtio\s+macvtap$/.test(l));
        assert.ok(header, text);
        // The fixture's TCP single stream: 13.34 on bare metal, 2.19 on virtio (16.4% of it); 3 repetitions give no interval.
        assert.match(text, /^TCP Single Stream \(Gbit\/s\)\s+13\.34 \(n=3\)\s+2\.19 \(n=3\) \(16\.4%\)\s+2\.16 \(n=3\) \(16\.2%\)$/m);
        assert.match(text, /^TCP_CRR \(trans\/s\)\s+9870 \(n=3\)\s+1412 \(n=3\) \(14\.3%\)\s+failed$/m);
        assert.match(text, /\(%\): of bare metal \(bare-metal\)/);
    });

    it("gives an interval where the cells have enough repetitions", () => {
        const five = structuredClone(doc);
        const c = five.cells.find((x) => x.pair === "virtio" && x.cell === "tcp-1")!;
        c.metrics.gbps.ci = { low: 2.1, high: 2.3, level: 0.9375 };
        // max(2.3 - 2.19, 2.19 - 2.1) / 2.19 = 5.0%
        assert.match(
            terminalSummary(five, { cli: "netbed", stack: "local" }).join("\n"),
            /^TCP Single Stream \(Gbit\/s\)\s+13\.34 \(n=3\)\s+2\.19 ±5\.0% \(16\.4%\)/m,
        );
    });

    it("says the guests ran under TCG, which cells are noisy and which failed", () => {
        assert.match(text, /vm1, vm2 ran under TCG \(software emulation\)/);
        assert.match(text, /cell\(s\) vary by more than 10% between repetitions/);
        assert.match(text, /^ {2}macvtap\/tcp_crr-1 failed: /m);
    });

    it("ends with the report (and report.html as a file:// link) and the next commands", () => {
        assert.ok(lines.includes(`Report:  ${REPORT}`), text);
        assert.ok(lines.includes("         file:///var/lib/netbed%20results/runs/bench-2026-report/report.html"), text);
        for (const cmd of ["compare /r/runs/bench-2026.json", "export /r/runs/bench-2026.json", "report /r/runs/bench-2026.json", "destroy"])
            assert.ok(
                lines.some((l) => l.includes(cmd)),
                `${cmd}:\n${text}`,
            );
        assert.match(lines[lines.length - 1], /^ {2}Tear the testbed down:\s+npm run netbed -- destroy$/);
    });

    it("the next commands carry the stack and project directory the up ran with, quoted for a shell", () => {
        const dir = "/home/u/my testbed";
        const next = upSummary(outputs, "lab", dir).slice(-4).join("\n");
        assert.match(
            next,
            /^ {2}A\/B test against another run:\s+npm run netbed -- compare \/r\/runs\/bench-2026\.json <other run> --dir '\/home\/u\/my testbed'$/m,
        );
        assert.match(next, /^ {2}CSV for pandas, R, a spreadsheet:\s+npm run netbed -- export \/r\/runs\/bench-2026\.json --dir '\/home\/u\/my testbed'$/m);
        assert.match(next, /^ {2}The report again:\s+npm run netbed -- report \/r\/runs\/bench-2026\.json --stack lab --dir '\/home\/u\/my testbed'$/m);
        assert.match(next, /^ {2}Tear the testbed down:\s+npm run netbed -- destroy --stack lab --dir '\/home\/u\/my testbed'$/m);
        // Without the document's path, the stack's results output is read, from the same project.
        const byStack = upSummary({ ...outputs, resultsPath: undefined }, "lab", dir).join("\n");
        assert.match(byStack, /npm run netbed -- export stack:lab --dir '\/home\/u\/my testbed'$/m);
        assert.deepEqual(upSummary({ a: 1 }, "lab", dir), [
            "Stack lab is up. Outputs: a (`npm run netbed -- outputs --stack lab --dir '/home/u/my testbed'` prints them).",
        ]);
    });

    it("says where the up that ran the benchmark spent its time, where the document has it", () => {
        assert.ok(!text.includes("Phases of the up"), "the fixture predates phases");
        const timed = structuredClone(doc);
        timed.run.phases = { boot: 24.04, probe: 1.2, benchmark: 560, report: 6.5 };
        assert.equal(
            terminalSummary(timed, { cli: "netbed", stack: "local" })[1],
            "Phases of the up that ran it: probe 1.2 s, boot 24.0 s, benchmark 560.0 s, report 6.5 s.",
        );
    });

    it("a program without a results document: its outputs' names and how to print them", () => {
        assert.deepEqual(upSummary({ a: 1, b: { c: 2 } }, "dev"), ["Stack dev is up. Outputs: a, b (`npm run netbed -- outputs --stack dev` prints them)."]);
    });
});
