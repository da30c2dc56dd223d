// Where a test file may sit, so that a module's test is found from its path and the tier that needs
// root is a folder: test/unit/ (pure, no root), test/real/ (root, real kernel objects and processes),
// test/engine/ (the pulumi CLI), test/helpers/ (shared), test/fixtures/. Beneath unit/ and real/, a
// file in a subfolder mirrors its module (<source path>[.<aspect>].test.ts); a file directly in the
// tier tests a behaviour across modules. The checker also runs on planted misplacements.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const FOLDERS = ["unit", "real", "engine", "helpers", "fixtures"];
/** Helpers that create real objects or drive the engine: a unit test needs none of them. */
const REAL_HELPERS = ["boot", "sshd", "engine", "cli", "up-child"];
const REAL_NAMES = ["dropNetns", "netnsList", "freeSubnet", "tempBackend", "writeDefaultProject"];
const REAL_PROGRAMS = /\b(?:spawn|spawnSync|execFile|execFileSync|must|sh)\(\s*\[?\s*"(ip|nft|tc|sshd|unshare|nsenter|qemu-system-[\w-]+)"/;
/** What a module's source may be called beside its path: TypeScript, or C for the native launcher. */
const SOURCE_EXTENSIONS = { unit: [".ts"], real: [".ts", ".c"] };

interface TestFile {
    /** Path under test/. */
    path: string;
    text: string;
}

function placementProblem(p: string, exists: (repoPath: string) => boolean): string | undefined {
    const [folder, ...rest] = p.split("/");
    const inner = rest.join("/");
    if (!FOLDERS.includes(folder)) return `test/${p}: outside test/${FOLDERS.join(", test/")}`;
    if (folder === "fixtures") return undefined;
    if (p.endsWith(".engine.test.ts") !== (folder === "engine")) return `test/${p}: engine tests, and only they, go directly in test/engine/`;
    if (folder === "helpers") return p.endsWith(".test.ts") ? `test/${p}: a test among the helpers` : undefined;
    if (!p.endsWith(".test.ts")) return `test/${p}: not a test; shared code goes in test/helpers/`;
    if (folder === "engine") return rest.length === 1 ? undefined : `test/${p}: engine tests go directly in test/engine/`;
    if (rest.length === 1) return undefined;
    const stem = path.posix.join(path.posix.dirname(inner), path.posix.basename(inner).split(".")[0]);
    const exts = SOURCE_EXTENSIONS[folder as "unit" | "real"];
    if (exts.some((e) => exists(stem + e))) return undefined;
    return `test/${p}: no ${stem}${exts[0]} to mirror; name it after its module's path, or put a test across modules directly in test/${folder}/`;
}

function realUses(text: string): string[] {
    const found: string[] = [];
    for (const m of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"((?:\.\.?\/)+helpers(?:\/[\w-]+)?)"/g)) {
        const file = m[2].endsWith("/helpers") ? "index" : m[2].split("/").pop()!;
        if (REAL_HELPERS.includes(file)) found.push(`imports test/helpers/${file}.ts`);
        const names = m[1].split(",").map(
            (n) =>
                n
                    .trim()
                    .replace(/^type\s+/, "")
                    .split(/\s+as\s+/)[0],
        );
        for (const n of names.filter((n) => REAL_NAMES.includes(n))) found.push(`imports ${n}`);
    }
    const program = REAL_PROGRAMS.exec(text);
    if (program) found.push(`runs ${program[1]}`);
    return found;
}

/** Every misplaced file and every unit test that reaches for real objects, one line each. */
function layoutProblems(files: TestFile[], exists: (repoPath: string) => boolean): string[] {
    const problems: string[] = [];
    for (const f of files) {
        const placed = placementProblem(f.path, exists);
        if (placed) problems.push(placed);
        else if (f.path.startsWith("unit/")) {
            for (const use of realUses(f.text)) problems.push(`test/${f.path}: ${use}: a test needing root and real objects goes in test/real/`);
        }
    }
    return problems;
}

function testTree(dir = path.join(ROOT, "test")): TestFile[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
        const full = path.join(dir, e.name);
        const rel = path.relative(path.join(ROOT, "test"), full);
        if (e.isDirectory()) return rel === "fixtures" ? [] : testTree(full);
        return e.name.endsWith(".ts") ? [{ path: rel, text: fs.readFileSync(full, "utf8") }] : [];
    });
}

describe("test layout: tiers, and unit tests beside their module's path", () => {
    it("every test file is where a rule puts it", () => {
        const files = testTree();
        assert.ok(files.filter((f) => f.path.startsWith("unit/")).length > 30, "the tree was read");
        assert.deepEqual(
            layoutProblems(files, (p) => fs.existsSync(path.join(ROOT, p))),
            [],
        );
    });

    it("refuses planted misplacements and real-object use in a unit test, and passes the right ones", () => {
        // Built from parts, so that this file's own text holds no such import or command.
        const imp = (names: string, from: string) => `import { ${names} } from "${from}";\n`;
        const run = (fn: string, program: string) => `${fn}(["${program}", "link"]);\n`;
        const sources = new Set(["core/qemu.ts", "core/bench/gate.ts", "native/netbed-confine.c"]);
        const planted: TestFile[] = [
            { path: "unit/core/qemu.test.ts", text: imp("sh", "../../helpers") },
            { path: "unit/core/bench/gate.holm.test.ts", text: "" },
            { path: "unit/across-modules.test.ts", text: "" },
            { path: "real/native/netbed-confine.test.ts", text: imp("dropNetns", "../../helpers") },
            { path: "engine/up.engine.test.ts", text: "" },
            { path: "helpers/boot.ts", text: "" },
            { path: "qemu.test.ts", text: "" },
            { path: "unit/core/qmp.test.ts", text: "" },
            { path: "unit/core/net.engine.test.ts", text: "" },
            { path: "engine/sub/x.engine.test.ts", text: "" },
            { path: "real/core/gone.test.ts", text: "" },
            { path: "unit/core/bench/gate.test.ts", text: imp("boot", "../../../helpers/boot") },
            { path: "unit/probe.test.ts", text: imp("must, dropNetns as drop", "../helpers") + run("must", "ip") },
            { path: "unit/helper.ts", text: "" },
            { path: "helpers/x.test.ts", text: "" },
        ];
        assert.deepEqual(
            layoutProblems(planted, (p) => sources.has(p)),
            [
                "test/qemu.test.ts: outside test/unit, test/real, test/engine, test/helpers, test/fixtures",
                "test/unit/core/qmp.test.ts: no core/qmp.ts to mirror; name it after its module's path, or put a test across modules directly in test/unit/",
                "test/unit/core/net.engine.test.ts: engine tests, and only they, go directly in test/engine/",
                "test/engine/sub/x.engine.test.ts: engine tests go directly in test/engine/",
                "test/real/core/gone.test.ts: no core/gone.ts to mirror; name it after its module's path, or put a test across modules directly in test/real/",
                "test/unit/core/bench/gate.test.ts: imports test/helpers/boot.ts: a test needing root and real objects goes in test/real/",
                "test/unit/probe.test.ts: imports dropNetns: a test needing root and real objects goes in test/real/",
                "test/unit/probe.test.ts: runs ip: a test needing root and real objects goes in test/real/",
                "test/unit/helper.ts: not a test; shared code goes in test/helpers/",
                "test/helpers/x.test.ts: a test among the helpers",
            ],
        );
    });
});
