// The HTML report opened in a real browser: Debian's chromium, headless. It must load from a
// file:// URL with nothing else (self-contained), lay out the tables and the inline SVG charts,
// and give a screenshot that is not blank.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { ResultsDocSchema } from "../../../../core/bench/results";
import { writeReport } from "../../../../providers/files/report";

const FIXTURE = path.join(__dirname, "..", "..", "..", "fixtures", "report", "results.json");

function chromium(): string {
    for (const c of ["chromium", "chromium-browser"]) {
        const r = spawnSync("which", [c], { encoding: "utf8" });
        if (r.status === 0) return r.stdout.trim();
    }
    throw new Error("chromium is not installed (Debian package 'chromium'; scripts/setup.sh installs it)");
}

interface Png {
    width: number;
    height: number;
    /** RGBA or RGB rows, unfiltered. */
    pixels: Buffer;
    channels: number;
}

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG (what chromium writes). */
function decodePng(buf: Buffer): Png {
    assert.ok(buf.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), "not a PNG signature");
    let off = 8;
    let width = 0;
    let height = 0;
    let channels = 0;
    const idat: Buffer[] = [];
    while (off < buf.length) {
        const len = buf.readUInt32BE(off);
        const type = buf.toString("ascii", off + 4, off + 8);
        const data = buf.subarray(off + 8, off + 8 + len);
        if (type === "IHDR") {
            width = data.readUInt32BE(0);
            height = data.readUInt32BE(4);
            assert.equal(data[8], 8, "bit depth 8");
            channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
            assert.ok(channels > 0, `colour type ${data[9]} not handled`);
            assert.equal(data[12], 0, "non-interlaced");
        } else if (type === "IDAT") idat.push(data);
        off += 12 + len;
    }
    const raw = zlib.inflateSync(Buffer.concat(idat));
    const stride = width * channels;
    const px = Buffer.alloc(stride * height);
    for (let y = 0; y < height; y++) {
        const f = raw[y * (stride + 1)];
        const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
        for (let x = 0; x < stride; x++) {
            const a = x >= channels ? px[y * stride + x - channels] : 0;
            const b = y > 0 ? px[(y - 1) * stride + x] : 0;
            const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels] : 0;
            let pred = 0;
            if (f === 1) pred = a;
            else if (f === 2) pred = b;
            else if (f === 3) pred = (a + b) >> 1;
            else if (f === 4) {
                const p = a + b - c;
                const pa = Math.abs(p - a);
                const pb = Math.abs(p - b);
                const pc = Math.abs(p - c);
                pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
            }
            px[y * stride + x] = (line[x] + pred) & 0xff;
        }
    }
    return { width, height, pixels: px, channels };
}

describe("report: HTML in headless chromium", function () {
    this.timeout(300_000);
    let dir: string;
    let html: string;
    let profile: string;
    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-report-browser-"));
        profile = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-chromium-profile-"));
        const doc = ResultsDocSchema.parse(JSON.parse(fs.readFileSync(FIXTURE, "utf8")));
        html = (await writeReport(doc, { docFile: FIXTURE, out: dir })).html;
    });
    after(() => {
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(profile, { recursive: true, force: true });
    });
    const run = (args: string[]) => {
        const argv = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            `--user-data-dir=${profile}`,
            ...args,
            `file://${html}`,
        ];
        const r = spawnSync(chromium(), argv, { encoding: "utf8", timeout: 120_000, maxBuffer: 64 << 20 });
        assert.equal(r.status, 0, `chromium ${argv.join(" ")} exited ${r.status ?? r.signal}: ${r.stderr.slice(-1500)}`);
        return r;
    };

    it("parses the page: the template's headings, the tables and all six charts as SVG elements", () => {
        const dom = run(["--dump-dom"]).stdout;
        assert.match(dom, /<h1>Network Benchmark Results<\/h1>/);
        assert.match(dom, /<h2>Test Environment<\/h2>/);
        assert.equal((dom.match(/<svg /g) ?? []).length, 6);
        assert.equal((dom.match(/<table>/g) ?? []).length >= 8, true);
        assert.match(dom, /<td class="r">2\.19 \(16\.4%\)<\/td>/);
    });
    it("renders a first screen that is not blank", () => {
        const png = path.join(dir, "first-screen.png");
        run([`--screenshot=${png}`, "--window-size=1280,1000"]);
        const img = decodePng(fs.readFileSync(png));
        assert.deepEqual([img.width, img.height], [1280, 1000]);
        // Count pixels clearly darker than the white page: text, table rules, headings.
        let ink = 0;
        for (let i = 0; i < img.pixels.length; i += img.channels) if (img.pixels[i] + img.pixels[i + 1] + img.pixels[i + 2] < 600) ink++;
        const share = ink / (img.width * img.height);
        assert.ok(share > 0.01 && share < 0.6, `ink covers ${(share * 100).toFixed(1)}% of the first screen`);
        if (process.env.NETBED_REPORT_SCREENSHOT) fs.copyFileSync(png, process.env.NETBED_REPORT_SCREENSHOT);
    });
});
