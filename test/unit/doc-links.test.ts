import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

// The README is the front door and the reference lives in docs/: a moved heading or page must not leave a link
// pointing nowhere.

/** The checkout's root, found from wherever this file sits under test/. */
function checkoutRoot(dir: string): string {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${__dirname}`);
    return checkoutRoot(path.dirname(dir));
}
const root = checkoutRoot(__dirname);

function markdownFiles(): string[] {
    const inDir = (dir: string) =>
        fs
            .readdirSync(path.join(root, dir))
            .filter((f) => f.endsWith(".md"))
            .map((f) => path.join(dir, f));
    const examples = fs
        .readdirSync(path.join(root, "examples"))
        .map((e) => path.join("examples", e, "README.md"))
        .filter((f) => fs.existsSync(path.join(root, f)));
    return ["README.md", ...inDir("docs"), ...examples];
}

/** The lines outside fenced code blocks: a `#` or a link in code is neither a heading nor a link. */
function outsideFences(text: string): string[] {
    let fenced = false;
    const out: string[] = [];
    for (const line of text.split("\n")) {
        if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
        else if (!fenced) out.push(line);
    }
    return out;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(text: string): Set<string> {
    const seen = new Map<string, number>();
    const anchors = new Set<string>();
    for (const line of outsideFences(text)) {
        const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
        if (!m) continue;
        const plain = m[1].replace(/\[([^\]]*)\]\([^)]*\)/g, "$1");
        const slug = plain
            .toLowerCase()
            .replace(/[^\p{L}\p{N}\s_-]/gu, "")
            .replace(/\s/g, "-");
        const n = seen.get(slug) ?? 0;
        seen.set(slug, n + 1);
        anchors.add(n === 0 ? slug : `${slug}-${n}`);
    }
    return anchors;
}

/** Every relative link target of a markdown file, as written. */
function relativeLinks(text: string): string[] {
    const links: string[] = [];
    for (const line of outsideFences(text)) {
        for (const m of line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
            if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1])) links.push(m[1]);
        }
    }
    return links;
}

/** Why a link from `file` does not resolve, or undefined when it does. */
function brokenLink(file: string, link: string): string | undefined {
    const [target, anchor] = link.split("#", 2);
    const resolved = target === "" ? path.join(root, file) : path.join(root, path.dirname(file), decodeURIComponent(target));
    if (!fs.existsSync(resolved)) return `${file}: '${link}' names ${path.relative(root, resolved)}, which does not exist`;
    if (anchor === undefined) return undefined;
    if (!resolved.endsWith(".md")) return `${file}: '${link}' has an anchor on a file that is not markdown`;
    if (anchorsOf(fs.readFileSync(resolved, "utf8")).has(anchor)) return undefined;
    return `${file}: '${link}': ${path.relative(root, resolved)} has no heading with the anchor #${anchor}`;
}

describe("documentation links", () => {
    it("derives GitHub's anchors from headings", () => {
        const text = "# A page\n\n## MicroVm (`netbed:index:MicroVm`)\n\n```sh\n# not a heading\n```\n## What `npm run up` does\n## A page\n";
        assert.deepEqual([...anchorsOf(text)], ["a-page", "microvm-netbedindexmicrovm", "what-npm-run-up-does", "a-page-1"]);
    });

    it("finds relative links outside code, and a missing file or anchor", () => {
        const text = "[a](docs/x.md) [b](https://e.org) `[c](no.md)` ![d](docs/y.png#top)\n```\n[e](no.md)\n```\n";
        assert.deepEqual(relativeLinks(text), ["docs/x.md", "docs/y.png#top"]);
        assert.match(brokenLink("README.md", "docs/nothing-here.md")!, /does not exist/);
        assert.match(brokenLink("README.md", "docs/security.md#no-such-heading")!, /no heading with the anchor/);
    });

    it("every relative link of README.md, docs/ and the examples' READMEs resolves to a file and its anchor", () => {
        const files = markdownFiles();
        assert.ok(files.includes("docs/resources.md"), "docs/resources.md is read");
        const broken = files.flatMap((f) =>
            relativeLinks(fs.readFileSync(path.join(root, f), "utf8"))
                .map((l) => brokenLink(f, l))
                .filter((p): p is string => p !== undefined),
        );
        assert.deepEqual(broken, []);
    });
});

describe("README", () => {
    const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");

    it("starts with the two commands that CI and users run", () => {
        const lines = readme.split("\n").slice(0, 6);
        assert.deepEqual(lines.slice(0, 3), ["# netbed", "", "```sh"]);
        assert.match(lines[3], /^bash scripts\/setup\.sh && npm run up\s+#/);
        assert.match(lines[4], /^bash scripts\/setup\.sh && npm test\s+#/);
        assert.equal(lines[5], "```");
    });

    it("stays a front door: at most 200 lines, none over 200 characters, every docs page linked", () => {
        const lines = readme.trimEnd().split("\n");
        assert.ok(lines.length <= 200, `README.md has ${lines.length} lines: move reference text to docs/`);
        const long = lines.map((l, i) => [i + 1, l.length]).filter(([, n]) => n > 200);
        assert.deepEqual(long, [], "README.md lines over 200 characters ([line, length])");
        const pages = fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md"));
        const linked = new Set(relativeLinks(readme).map((l) => l.split("#")[0]));
        assert.deepEqual(
            pages.filter((p) => !linked.has(`docs/${p}`)),
            [],
            "docs pages the README does not link",
        );
    });
});
