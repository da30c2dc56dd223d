// lguest's table from a results document: rows native / bridged / guest bridged / guest NAT /
// guest-to-host / guest-to-guest, columns loopback / client / server, each cell in the seed's
// MByte/s next to Gbit/s with its percent of the native row's cell in the same column. Pairs are
// labelled "<row>.<column>". Pure: plain data in, plain data out.
import type { ResultsDoc } from "netbed";

export const LGUEST_ROWS = ["native", "bridged", "guest-bridged", "guest-nat", "guest-to-host", "guest-to-guest"] as const;
export const LGUEST_COLUMNS = ["loopback", "client", "server"] as const;
export type LguestRowName = (typeof LGUEST_ROWS)[number];
export type LguestColumn = (typeof LGUEST_COLUMNS)[number];

/** iperf's MByte (2^20 bytes), the unit of lguest's figures. */
const MBYTE = 1024 * 1024;

export interface LguestCell {
    /** Median over repetitions. */
    gbps: number;
    /** The same in MByte/s (2^20 bytes per second, as iperf prints). */
    mbytesPerSecond: number;
    /** 100 x gbps / the native row's gbps in the same column; null where that cell is missing or failed. */
    percentOfNative: number | null;
}

export type LguestRow = { row: LguestRowName } & Record<LguestColumn, LguestCell | null>;

export function pairLabel(row: LguestRowName, column: LguestColumn): string {
    return `${row}.${column}`;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** One row per LGUEST_ROWS entry; a cell is null where its pair was not run or failed. */
export function lguestTable(doc: Pick<ResultsDoc, "cells">, cell = "tcp-1", metric = "gbps"): LguestRow[] {
    const gbps = new Map<string, number>();
    for (const c of doc.cells) if (c.cell === cell && c.status === "ok" && c.metrics[metric]) gbps.set(c.pair, c.metrics[metric].median);
    return LGUEST_ROWS.map((row) => {
        const out = { row } as LguestRow;
        for (const col of LGUEST_COLUMNS) {
            const v = gbps.get(pairLabel(row, col));
            const native = gbps.get(pairLabel("native", col));
            out[col] =
                v === undefined
                    ? null
                    : { gbps: round(v, 3), mbytesPerSecond: round((v * 1e9) / 8 / MBYTE, 1), percentOfNative: native ? round((100 * v) / native, 1) : null };
        }
        return out;
    });
}

/** The table as text in the seed's layout: MByte/s first, then Gbit/s and percent of native. */
export function renderLguestTable(rows: LguestRow[]): string[] {
    const text = (c: LguestCell | null) =>
        c ? `${c.mbytesPerSecond} MB/s ${c.gbps} Gbit/s ${c.percentOfNative === null ? "" : `${c.percentOfNative}%`}`.trim() : "-";
    const cells = rows.map((r) => [r.row, ...LGUEST_COLUMNS.map((c) => text(r[c]))]);
    const header = ["", ...LGUEST_COLUMNS];
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
    const line = (r: string[]) =>
        r
            .map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i])))
            .join("   ")
            .trimEnd();
    return [line(header), "-".repeat(line(header).length), ...cells.map(line)];
}
