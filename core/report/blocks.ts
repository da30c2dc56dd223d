// A report as a list of blocks, rendered to markdown here and to HTML in html.ts, so the two
// never drift apart. Text may hold **bold** and `code` spans (the only inline markup). Pure.

export type Block =
    | { kind: "heading"; level: 1 | 2 | 3 | 4; text: string }
    | { kind: "paragraph"; text: string }
    | { kind: "table"; head: string[]; rows: string[][] /** Per column; default left. */; align?: ("left" | "right")[] }
    | { kind: "list"; ordered?: boolean; items: ListItem[] }
    | { kind: "code"; lang: string; text: string }
    /** A chart: `name` is its file's base name (name.svg). */
    | { kind: "chart"; name: string; title: string }
    | { kind: "rule" }
    /** Side by side where there is room (HTML); one after the other in markdown. */
    | { kind: "columns"; columns: Block[][] };

export type ListItem = string | { text: string; items: ListItem[] };

/** Block constructors for the report's sections. */
export const B = {
    h: (level: 1 | 2 | 3 | 4, text: string): Block => ({ kind: "heading", level, text }),
    p: (text: string): Block => ({ kind: "paragraph", text }),
    list: (items: ListItem[], ordered = false): Block => ({ kind: "list", items, ordered }),
};

/** Escapes what would break a markdown table cell. */
function cell(s: string): string {
    return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function listMd(items: ListItem[], ordered: boolean, indent: string): string[] {
    const out: string[] = [];
    items.forEach((it, i) => {
        const bullet = ordered ? `${i + 1}.` : "-";
        const text = typeof it === "string" ? it : it.text;
        out.push(`${indent}${bullet} ${text}`);
        if (typeof it !== "string") out.push(...listMd(it.items, false, indent + " ".repeat(bullet.length + 1)));
    });
    return out;
}

export function toMarkdown(blocks: readonly Block[]): string {
    const parts: string[] = [];
    for (const b of blocks.flatMap((x) => (x.kind === "columns" ? x.columns.flat() : [x]))) {
        switch (b.kind) {
            case "heading":
                parts.push(`${"#".repeat(b.level)} ${b.text}`);
                break;
            case "paragraph":
                parts.push(b.text);
                break;
            case "table": {
                const align = b.head.map((_, i) => (b.align?.[i] === "right" ? "---:" : "---"));
                parts.push([b.head, align, ...b.rows].map((r) => `| ${r.map(cell).join(" | ")} |`).join("\n"));
                break;
            }
            case "list":
                parts.push(listMd(b.items, b.ordered ?? false, "").join("\n"));
                break;
            case "code":
                parts.push(`\`\`\`${b.lang}\n${b.text.replace(/\n$/, "")}\n\`\`\``);
                break;
            case "chart":
                parts.push(`![${b.title}](${b.name}.svg)`);
                break;
            case "rule":
                parts.push("---");
                break;
            case "columns":
                // Flattened above; nested columns are not produced.
                break;
        }
    }
    return `${parts.join("\n\n")}\n`;
}
