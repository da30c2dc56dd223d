// A run's files under resultsDir: each written atomically, so a killed run leaves whole files or none.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { type OverheadReport, overheadPath } from "../../core/bench/overhead";
import type { ResultsDoc } from "../../core/bench/results";
import { writeBelow } from "../files/nofollow";
import { writeReport } from "../files/report";
import type { Ctx } from "../runtime/resource";

/** Writes a file below the results folder atomically, following no link below it (providers/files/nofollow.ts). */
export async function writeFileSafe(resultsDir: string, file: string, data: string): Promise<void> {
    writeBelow(resultsDir, file, data);
}

export async function readJson(file: string): Promise<unknown> {
    try {
        return JSON.parse(await fs.readFile(file, "utf8"));
    } catch {
        return undefined;
    }
}

export interface Outputs {
    resultsPath: string;
    reportPath: string;
    overhead: OverheadReport;
}

/**
 * The results document, its overhead breakdown, and the report beside them (also for a partial run:
 * it lists the failed cells). A report that cannot be rendered costs a warning, never the measurements.
 */
export async function writeOutputs(ctx: Ctx, doc: ResultsDoc, timestamp: string, overhead: OverheadReport): Promise<Outputs> {
    const resultsPath = path.join(doc.run.resultsDir, "runs", `${ctx.name}-${timestamp}.json`);
    const root = doc.run.resultsDir;
    await writeFileSafe(root, resultsPath, JSON.stringify(doc, null, 1));
    await writeFileSafe(root, overheadPath(resultsPath), JSON.stringify(overhead, null, 1));
    let reportPath = "";
    const t0 = Date.now();
    try {
        reportPath = (await writeReport(doc, { docFile: resultsPath, out: resultsPath.replace(/\.json$/, "-report"), root })).markdown;
        ctx.log.info(ctx.urn, `report: ${reportPath} (and report.html, SVG charts)`);
    } catch (e) {
        ctx.log.warn(ctx.urn, `the report could not be written (${(e as Error).message}); the results are in ${resultsPath}`);
    }
    if (doc.run.phases) {
        // The document was written before the report, so a report that fails costs no measurement.
        doc.run.phases.report = (Date.now() - t0) / 1000;
        await writeFileSafe(root, resultsPath, JSON.stringify(doc, null, 1));
    }
    return { resultsPath, reportPath, overhead };
}
