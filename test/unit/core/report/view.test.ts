// The report's one view model (core/report/view.ts): the markdown tables and the charts show the
// same columns and medians from it, its ranking speaks of its own columns, and a row or column of
// another view is refused rather than recomputed.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { ResultsDocSchema } from "../../../../core/bench/results";
import type { Block } from "../../../../core/report/blocks";
import { reportCharts } from "../../../../core/report/charts";
import { reportView, valueAt } from "../../../../core/report/view";
import { voltReport } from "../../../../core/report/volt";

const doc = ResultsDocSchema.parse(JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "..", "fixtures", "report", "results.json"), "utf8")));

/** Every table of the report, nested columns included. */
function tables(blocks: readonly Block[]): (Block & { kind: "table" })[] {
    return blocks.flatMap((b) => (b.kind === "table" ? [b] : b.kind === "columns" ? b.columns.flatMap(tables) : []));
}

describe("report view (core/report/view.ts)", () => {
    const view = reportView(doc);

    it("the throughput table and chart show the view's columns and medians", () => {
        const table = tables(voltReport(view)).find((t) => t.head[0] === "Test")!;
        assert.deepEqual(
            table.head.slice(1),
            view.cols.map((c) => c.title),
        );
        const chart = reportCharts(view, []).find((c) => c.name === "throughput")!;
        const bars = (chart.spec as { data: { values: { backend: string; v: number }[] } }).data.values;
        const row = view.rows.throughput[0];
        for (const col of view.cols) {
            const v = valueAt(view, row, col);
            if (!v.ok) continue;
            assert.ok(table.rows[0][view.cols.indexOf(col) + 1].startsWith(row.format(v.median)), `${col.title} in the table`);
            assert.ok(
                bars.some((b) => b.backend === col.title && b.v === v.median),
                `${col.title} in the chart`,
            );
        }
    });

    it("its ranking is made once, over the view's own guest columns", () => {
        assert.equal(view.ranking, view.ranking);
        assert.ok(view.ranking.guests.every((g, i) => g === view.guests[i]));
        assert.ok(view.ranking.outcomes.every((o) => view.guests.includes(o.a) && view.guests.includes(o.b)));
    });

    it("refuses a row or column of another view", () => {
        const other = reportView(doc);
        assert.throws(() => valueAt(view, other.rows.throughput[0], view.cols[0]), /no value for row 'TCP Single Stream' in column/);
        assert.throws(() => valueAt(view, view.rows.throughput[0], other.cols[0]), /a row or column from another view/);
    });
});
