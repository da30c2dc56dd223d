// `netbed export`: a results document as the tables a notebook reads. The CSV is read back with an
// RFC 4180 reader written here (no CSV parser among the dependencies) and checked against the document.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cellRows, exportFiles, repetitionRows, toCsv } from "../../../../core/bench/export";
import { type ResultsDoc, ResultsDocSchema } from "../../../../core/bench/results";
import { main as exportMain } from "../../../../scripts/export";

const FIXTURE = path.join(__dirname, "..", "..", "..", "fixtures", "report", "results.json");
const doc: ResultsDoc = ResultsDocSchema.parse(JSON.parse(fs.readFileSync(FIXTURE, "utf8")));

/** RFC 4180: fields separated by commas, records by CRLF; a quoted field may hold commas, quotes ("") and line breaks. */
function readCsv(text: string): string[][] {
    const records: string[][] = [];
    let field = "";
    let record: string[] = [];
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
        const ch = text[i];
        if (quoted) {
            if (ch === '"' && text[i + 1] === '"') {
                field += '"';
                i++;
            } else if (ch === '"') quoted = false;
            else field += ch;
        } else if (ch === '"') quoted = true;
        else if (ch === ",") {
            record.push(field);
            field = "";
        } else if (ch === "\r" && text[i + 1] === "\n") {
            record.push(field);
            records.push(record);
            record = [];
            field = "";
            i++;
        } else field += ch;
    }
    assert.equal(field + record.join(""), "", "the text ends with a record's CRLF");
    return records;
}

function asObjects(records: string[][]): Record<string, string>[] {
    const [head, ...rows] = records;
    for (const r of rows) assert.equal(r.length, head.length, `a row of ${r.length} fields under ${head.length} columns`);
    return rows.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
}

describe("netbed export", () => {
    it("writes one CSV row per repetition and metric, every dimension a column, read back equal to the document", () => {
        const rows = asObjects(readCsv(exportFiles(doc, "csv")["repetitions.csv"]));
        const expected = doc.cells.reduce((n, c) => n + c.repetitions.reduce((m, r) => m + Object.keys(r.metrics).length, 0), 0);
        assert.equal(rows.length, expected);
        const cell = doc.cells.find((c) => c.pair === "virtio" && c.cell === "tcp-1")!;
        const second = rows.find((r) => r.pair === "virtio" && r.cell === "tcp-1" && r.repetition === "1" && r.metric === "gbps")!;
        assert.equal(Number(second.value), cell.repetitions.find((r) => r.index === 1)!.metrics.gbps);
        assert.deepEqual(
            [second.topology, second.backend, second.test, second.streams, second.reverse, second.unit, second.direction],
            [cell.dimensions.topology, "virtio", "tcp", "1", "false", "Gbit/s", "higher"],
        );
        for (const col of ["size", "pinning", "security", "notification"]) assert.ok(col in second, col);
        assert.equal(rows.find((r) => r.metric === "p99us")?.direction, "lower");
    });

    it("writes the cells file with each cell's summary, a failed cell with its error", () => {
        const rows = asObjects(readCsv(exportFiles(doc, "csv")["cells.csv"]));
        const tcp = rows.find((r) => r.pair === "bare-metal" && r.cell === "tcp-1" && r.metric === "gbps")!;
        assert.equal(Number(tcp.median), doc.cells.find((c) => c.pair === "bare-metal" && c.cell === "tcp-1")!.metrics.gbps.median);
        const failed = rows.find((r) => r.status === "failed")!;
        // The error is a command line with commas and quotes: one field, read back whole.
        assert.equal(failed.error, doc.cells.find((c) => c.status === "failed")!.error);
        assert.equal(cellRows(doc).columns.length, Object.keys(failed).length);
    });

    it("quotes what RFC 4180 asks to, and JSON Lines carry the same rows", () => {
        const t = {
            columns: ["a", "b"],
            rows: [
                ["x,y", 'say "hi"'],
                ["line\nbreak", null],
            ],
        };
        assert.equal(toCsv(t), 'a,b\r\n"x,y","say ""hi"""\r\n"line\nbreak",\r\n');
        assert.deepEqual(readCsv(toCsv(t)), [
            ["a", "b"],
            ["x,y", 'say "hi"'],
            ["line\nbreak", ""],
        ]);
        const jsonl = exportFiles(doc, "jsonl")
            ["repetitions.jsonl"].trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        assert.equal(jsonl.length, repetitionRows(doc).rows.length);
        assert.equal(typeof jsonl[0].value, "number");
    });

    it("the command writes both files beside the document", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "s11u-export-"));
        try {
            const file = path.join(dir, "bench-2026-12-07T10-00-00-000Z.json");
            fs.copyFileSync(FIXTURE, file);
            assert.equal(await exportMain([file, "--format", "jsonl"]), 0);
            assert.deepEqual(fs.readdirSync(path.join(dir, "bench-2026-12-07T10-00-00-000Z-export")).sort(), ["cells.jsonl", "repetitions.jsonl"]);
            assert.equal(await exportMain([file, "--format", "xml"]), 2);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
