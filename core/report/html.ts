// The report as one self-contained HTML page: the same blocks as the markdown, the charts'
// SVG inline, styles inline, no script and nothing fetched. Pure.
import type { Block, ListItem } from "./blocks";

function escapeHtml(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The blocks' inline markup: `code` spans (taken literally), **bold**, and [links](to files beside the report). */
export function inline(s: string): string {
    return s
        .split(/(`[^`]*`)/)
        .map((part) =>
            part.startsWith("`") && part.endsWith("`") && part.length >= 2
                ? `<code>${escapeHtml(part.slice(1, -1))}</code>`
                : escapeHtml(part)
                      .replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>")
                      .replace(/(^|[^*])\*([^*]+)\*(?!\*)/g, "$1<em>$2</em>")
                      // Relative links only: a report links the files written beside it.
                      .replace(/\[([^\]]+)\]\(([\w.-]+)\)/g, '<a href="$2">$1</a>'),
        )
        .join("");
}

function list(items: ListItem[], ordered: boolean): string {
    const tag = ordered ? "ol" : "ul";
    const li = items.map((it) => (typeof it === "string" ? `<li>${inline(it)}</li>` : `<li>${inline(it.text)}${list(it.items, false)}</li>`));
    return `<${tag}>${li.join("")}</${tag}>`;
}

/** Strips the XML prolog a standalone SVG may carry (not allowed mid-document). */
function inlineSvg(svg: string): string {
    return svg.replace(/^<\?xml[^>]*>\s*/, "");
}

const STYLE = `
body{font:15px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;max-width:1000px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:28px;margin:0 0 4px;border-bottom:1px solid #d0d7de;padding-bottom:8px}
h2{font-size:21px;margin:32px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:17px;margin:24px 0 8px}
table{border-collapse:collapse;margin:8px 0 12px;font-size:14px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d0d7de;padding:4px 10px;overflow-wrap:anywhere}
th{background:#f6f8fa;text-align:left}
td.r,th.r{text-align:right}
tr:nth-child(even) td{background:#fbfcfd}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f4f6;padding:1px 4px;border-radius:4px}
pre{background:#f6f8fa;padding:12px;border-radius:6px;overflow-x:auto}
pre code{background:none;padding:0}
figure{margin:12px 0 20px}
figure svg{max-width:100%;height:auto}
hr{border:0;border-top:1px solid #d0d7de;margin:28px 0}
.cols{display:flex;flex-wrap:wrap;gap:0 40px;align-items:flex-start}
.cols>div{flex:1 1 420px;min-width:0}
.cols table{font-size:13px}
.cols th,.cols td{padding:2px 8px}
.cols td:first-child{white-space:nowrap}
`;

function render(blocks: readonly Block[], svgs: Readonly<Record<string, string>>): string[] {
    const body: string[] = [];
    for (const b of blocks) {
        switch (b.kind) {
            case "heading":
                body.push(`<h${b.level}>${inline(b.text)}</h${b.level}>`);
                break;
            case "paragraph":
                body.push(`<p>${inline(b.text)}</p>`);
                break;
            case "table": {
                const cls = (i: number) => (b.align?.[i] === "right" ? ' class="r"' : "");
                const head = `<tr>${b.head.map((h, i) => `<th${cls(i)}>${inline(h)}</th>`).join("")}</tr>`;
                const rows = b.rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${inline(c)}</td>`).join("")}</tr>`);
                body.push(`<table><thead>${head}</thead><tbody>${rows.join("")}</tbody></table>`);
                break;
            }
            case "list":
                body.push(list(b.items, b.ordered ?? false));
                break;
            case "code":
                body.push(`<pre><code class="language-${escapeHtml(b.lang)}">${escapeHtml(b.text)}</code></pre>`);
                break;
            case "chart": {
                const svg = svgs[b.name];
                body.push(
                    svg
                        ? `<figure id="chart-${escapeHtml(b.name)}">${inlineSvg(svg)}</figure>`
                        : `<p><em>Chart ${escapeHtml(b.title)} was not rendered.</em></p>`,
                );
                break;
            }
            case "rule":
                body.push("<hr>");
                break;
            case "columns":
                body.push(`<div class="cols">${b.columns.map((c) => `<div>${render(c, svgs).join("\n")}</div>`).join("")}</div>`);
                break;
        }
    }
    return body;
}

export function toHtml(blocks: readonly Block[], svgs: Readonly<Record<string, string>>, title: string): string {
    const body = render(blocks, svgs);
    return `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>${escapeHtml(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n${body.join("\n")}\n</body>\n</html>\n`;
}
