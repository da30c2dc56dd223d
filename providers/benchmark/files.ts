// A run's files under resultsDir: each written atomically, so a killed run leaves whole files or none.
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { type OverheadReport, overheadPath } from "../../core/bench/overhead";
import type { ResultsDoc } from "../../core/bench/results";
import { writeReport } from "../report";
import type { Ctx } from "../resource";

/** Writes a file atomically without following a link planted at its name. */
export async function writeFileSafe(file: string, data: string): Promise<void> {
    const tmp = `${file}.tmp-${process.pid}`;
    try {
        await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
        await fs.rm(tmp, { force: true });
        await fs.writeFile(tmp, data, { flag: "wx", mode: 0o644 });
        await fs.rename(tmp, file);
    } catch (e) {
        // A full disk leaves half a temporary file: remove it, and say which file failed.
        await fs.rm(tmp, { force: true }).catch(() => undefined);
        throw new Error(`could not write ${file}: ${(e as Error).message}`);
    }
}

export async function readJson<T>(file: string): Promise<T | undefined> {
    try {
        return JSON.parse(await fs.readFile(file, "utf8")) as T;
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
    await writeFileSafe(resultsPath, JSON.stringify(doc, null, 1));
    await writeFileSafe(overheadPath(resultsPath), JSON.stringify(overhead, null, 1));
    let reportPath = "";
    try {
        reportPath = (await writeReport(doc, { docFile: resultsPath, out: resultsPath.replace(/\.json$/, "-report") })).markdown;
        ctx.log.info(ctx.urn, `report: ${reportPath} (and report.html, SVG charts)`);
    } catch (e) {
        ctx.log.warn(ctx.urn, `the report could not be written (${(e as Error).message}); the results are in ${resultsPath}`);
    }
    return { resultsPath, reportPath, overhead };
}
