// Every import of every .ts file under the layers' folders against the layer rules written in
// docs/architecture.md ("Layer rules"): the tables are read from the document, so the document and
// the code cannot drift apart. The checker also runs on a small in-memory tree with wrong-way
// imports planted, so a checker that finds nothing fails too.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "../..");
const FOLDERS = ["schema", "sdk", "providers", "core", "scripts", "perf", "langhost"];

interface Rules {
    /** Per layer (a folder ending in /), what it may import: folders (ending in /) or files. */
    layers: Map<string, string[]>;
    /** Node modules and packages the pure layers may import: where (a folder or a file) and which. */
    outside: { where: string[]; modules: string[] }[];
}

interface Source {
    path: string;
    text: string;
}

const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

/** The tables of the document's "## Layer rules" section: rows of ticked cells, headers left out. */
function tablesOf(doc: string): string[][][] {
    const section = doc.split(/^## /m).find((s) => s.startsWith("Layer rules"));
    if (!section) throw new Error("docs/architecture.md has no '## Layer rules' section");
    const tables: string[][][] = [];
    let rows: string[][] | undefined;
    for (const line of section.split("\n")) {
        if (!line.startsWith("|")) {
            rows = undefined;
            continue;
        }
        if (!rows) tables.push((rows = []));
        const cells = line.split("|").slice(1, -1).map(ticked);
        if (cells.length === 2 && cells.every((c) => c.length > 0)) rows.push(cells.map((c) => c.join(",")));
    }
    return tables;
}

function rulesOf(doc: string): Rules {
    const [layers, outside] = tablesOf(doc);
    if (!layers || !outside) throw new Error("the Layer rules section needs two tables: the layers, then the modules from outside");
    return {
        layers: new Map(layers.map(([layer, may]) => [layer, may.split(",")])),
        outside: outside.map(([where, modules]) => ({ where: where.split(","), modules: modules.split(",") })),
    };
}

/** What a source imports: the specifiers of its imports, exports from, import() and require(). */
function importsOf(text: string): string[] {
    return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

const covers = (entry: string, p: string) => (entry.endsWith("/") ? `${p}/`.startsWith(entry) || p.startsWith(entry) : p === entry);

function layerOf(file: string, rules: Rules): string | undefined {
    return [...rules.layers.keys()].filter((l) => file.startsWith(l)).sort((a, b) => b.length - a.length)[0];
}

/** A relative import's target as the repository path it names, with and without ".ts". */
function targetOf(file: string, spec: string): string[] {
    const t = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
    return [t, `${t}.ts`];
}

function outsideModule(spec: string): string {
    return builtinModules.includes(spec) ? `node:${spec}` : spec.startsWith("node:") || spec.startsWith("@") ? spec : spec.split("/")[0];
}

/** Where a file breaks the rules: one line per wrong import, naming the file, the import and the rule. */
function violations(files: readonly Source[], rules: Rules): string[] {
    const out: string[] = [];
    for (const f of files) {
        const layer = layerOf(f.path, rules);
        if (!layer) {
            out.push(`${f.path}: in no layer of the rules`);
            continue;
        }
        const pure = f.path.startsWith("core/") || f.path.startsWith("schema/");
        for (const spec of importsOf(f.text)) {
            if (spec.startsWith(".")) {
                const t = targetOf(f.path, spec);
                if (!rules.layers.get(layer)!.some((may) => t.some((p) => covers(may, p)))) out.push(`${f.path}: imports ${t[0]}, which ${layer} may not`);
            } else if (pure && !allowedOutside(f.path, outsideModule(spec), rules)) {
                out.push(`${f.path}: imports ${outsideModule(spec)}, which the rules do not allow it (pure layers do no I/O)`);
            }
        }
    }
    return out;
}

function allowedOutside(file: string, module: string, rules: Rules): boolean {
    return rules.outside.some((r) => r.modules.includes(module) && r.where.some((w) => covers(w, file)));
}

/** File-by-file allowances no file uses any more: the document would claim more than the code needs. */
function unusedAllowances(files: readonly Source[], rules: Rules): string[] {
    const byPath = new Map(files.map((f) => [f.path, new Set(importsOf(f.text).map(outsideModule))]));
    return rules.outside.flatMap((r) =>
        r.where.filter((w) => !w.endsWith("/")).flatMap((w) => r.modules.filter((m) => !byPath.get(w)?.has(m)).map((m) => `${w}: ${m}`)),
    );
}

function sources(dir: string): Source[] {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) return e.name === "node_modules" ? [] : sources(rel);
        return e.name.endsWith(".ts") ? [{ path: rel, text: fs.readFileSync(path.join(ROOT, rel), "utf8") }] : [];
    });
}

const DOC = fs.readFileSync(path.join(ROOT, "docs", "architecture.md"), "utf8");

describe("layer rules (docs/architecture.md) against every import", () => {
    const rules = rulesOf(DOC);
    const files = FOLDERS.flatMap(sources);

    it("reads a rule for every folder and finds the files", () => {
        for (const d of FOLDERS)
            assert.ok(
                [...rules.layers.keys()].some((l) => l.startsWith(`${d}/`)),
                `no rule for ${d}/`,
            );
        assert.ok(files.length > 150, `${files.length} files`);
    });

    it("every import follows them", () => {
        assert.deepEqual(violations(files, rules), []);
    });

    it("every file-by-file allowance is still used", () => {
        assert.deepEqual(unusedAllowances(files, rules), []);
    });

    it("the checker refuses wrong-way imports planted in a small tree, and passes the right ones", () => {
        const planted: Source[] = [
            { path: "core/a.ts", text: 'import { x } from "../providers/runtime/log";\nimport * as fs from "node:fs";\nimport { y } from "./b";' },
            { path: "core/bench/c.ts", text: 'import { spawn } from "child_process";\nimport { z } from "zod";' },
            { path: "schema/d.ts", text: 'const s = require("../sdk/microvm");\nimport { n } from "../core/net";' },
            { path: "providers/transport/e.ts", text: 'import type { T } from "../resources/tap";\nimport { t } from "../runtime/trace";' },
            { path: "providers/hostops/f.ts", text: 'export { g } from "../runtime/provider";\nimport type { Ctx } from "../runtime/resource";' },
            { path: "providers/resources/g.ts", text: 'async function f() { await import("../../sdk/tap"); }' },
            { path: "test/h.ts", text: "" },
        ];
        assert.deepEqual(violations(planted, rules), [
            "core/a.ts: imports providers/runtime/log, which core/ may not",
            "core/a.ts: imports node:fs, which the rules do not allow it (pure layers do no I/O)",
            "core/bench/c.ts: imports node:child_process, which the rules do not allow it (pure layers do no I/O)",
            "schema/d.ts: imports sdk/microvm, which schema/ may not",
            "providers/transport/e.ts: imports providers/resources/tap, which providers/transport/ may not",
            "providers/hostops/f.ts: imports providers/runtime/provider, which providers/hostops/ may not",
            "providers/resources/g.ts: imports sdk/tap, which providers/resources/ may not",
            "test/h.ts: in no layer of the rules",
        ]);
    });

    it("reads the tables from the document, so a rule dropped there fails", () => {
        const stricter = rulesOf(DOC.replace(/^\| `providers\/runtime\/` .*$/m, "| `providers/runtime/` | `providers/runtime/`, `core/` |"));
        assert.ok(violations(files, stricter).some((v) => v.startsWith("providers/runtime/main.ts: imports providers/resources/index")));
    });
});
