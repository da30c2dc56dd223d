// Hostile input on the real engine: each case of HOSTILE_CASES (every resource type but MicroVm,
// whose kernel path is unknown in a preview) fails `pulumi preview` naming its property, and no
// namespace, link or file appears: not in the base host's namespace, not in the root namespace,
// not in netbed's records under /run/netbed, not under the directory the cases point paths at.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { openStack } from "../../scripts/engine";
import { HOSTILE_CASES, SENTINEL_DIR } from "../fixtures/bad-inputs/cases";
import { dropNetns, must, netnsList, tempBackend, uniq } from "../helpers";

const links = (ns?: string): string[] => (JSON.parse(must(["ip", ...(ns ? ["-n", ns] : []), "-json", "link", "show"])) as any[]).map((l) => l.ifname).sort();

/** netbed's records for a namespace host: owned links, macvtap device nodes, VMs. */
function records(ns: string): string[] {
    const out: string[] = [];
    const walk = (p: string) => {
        if (!fs.existsSync(p)) return;
        out.push(p);
        if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    };
    for (const d of ["owned", "owned/links", "dev", "vms"]) walk(`/run/netbed/${d}/netns-${ns}`);
    return out.sort();
}

/** Every string in a case's arguments (link names, namespaces, paths) that could name something created. */
function namesIn(v: unknown): string[] {
    if (typeof v === "string") return v.length <= 64 ? [v] : [];
    if (Array.isArray(v)) return v.flatMap(namesIn);
    if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => [k, ...namesIn(x)]);
    return [];
}

describe("hostile input on the real engine", function () {
    this.timeout(900_000);
    tempBackend();
    const log: string[] = [];
    const onOutput = (s: string) => log.push(s);

    it(`${HOSTILE_CASES.length} hostile inputs each fail in preview, naming the field, and create no namespace, link or file`, async () => {
        const id = uniq();
        const ns = `nbt-hostile-${id}`;
        const dir = path.join(__dirname, "..", "fixtures", "bad-inputs");
        const stackName = `hostile${id}`;
        const stack = await openStack({ stack: stackName, dir });
        assert.ok(!fs.existsSync(SENTINEL_DIR), `${SENTINEL_DIR} exists before the test: remove it`);
        try {
            await stack.setConfig("namespace", { value: ns });
            // The base exists, as on a real testbed, so checks see the host's probe.
            await stack.up({ onOutput, color: "never" });
            const base = { ns: links(ns), records: records(ns) };
            const rejected: string[] = [];
            for (const c of HOSTILE_CASES) {
                const before = { netns: netnsList(), root: links() };
                await stack.setConfig("case", { value: c.name });
                const t0 = Date.now();
                const err = await stack.preview({ onOutput, color: "never" }).then(
                    () => undefined,
                    (e) => String(e),
                );
                assert.ok(err, `case '${c.name}' passed preview`);
                const tail = err!.length > 3000 ? `${err!.slice(0, 1500)} ... ${err!.slice(-1500)}` : err!;
                // A property's problem, or (property "") the resource's own.
                const where = c.property ? `property ${c.property} value` : `resource '${c.resources[c.resources.length - 1][1]}' has a problem: `;
                const atOther = c.orAt !== undefined && err!.includes(`property ${c.orAt.property} value`) && c.orAt.says.test(err!);
                if (!atOther) {
                    assert.ok(err!.includes(where), `case '${c.name}' does not name ${c.property || "the resource"}: ${tail}`);
                    assert.match(err!, c.says, `case '${c.name}': ${tail}`);
                }
                // Nothing appeared: links and records of the base host, namespaces and root links the case names, files.
                assert.deepEqual(links(ns), base.ns, `case '${c.name}' changed the links of ${ns}`);
                assert.deepEqual(records(ns), base.records, `case '${c.name}' changed netbed's records`);
                const named = new Set(["nb-h2", ...namesIn(c.resources)]);
                assert.deepEqual(
                    netnsList().filter((n) => !before.netns.includes(n) && named.has(n)),
                    [],
                    `case '${c.name}' created a namespace`,
                );
                assert.deepEqual(
                    links().filter((l) => !before.root.includes(l) && named.has(l)),
                    [],
                    `case '${c.name}' created a root link`,
                );
                assert.ok(!fs.existsSync(SENTINEL_DIR), `case '${c.name}' created ${SENTINEL_DIR}`);
                rejected.push(`${c.name} (${Date.now() - t0} ms)`);
            }
            assert.equal(rejected.length, HOSTILE_CASES.length);
            console.log(`      ${rejected.length} hostile inputs rejected in preview: ${rejected.join(", ")}`);
            await stack.setConfig("case", { value: "none" });
            await stack.destroy({ onOutput, color: "never" });
            assert.ok(!netnsList().includes(ns), "the base namespace is left behind");
            assert.deepEqual(records(ns), [], "netbed's records of the base host are left behind");
            await stack.workspace.removeStack(stackName);
        } finally {
            dropNetns(ns);
            fs.rmSync(path.join(dir, `Pulumi.${stackName}.yaml`), { force: true });
        }
    });
});
