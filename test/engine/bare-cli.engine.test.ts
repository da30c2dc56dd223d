// `pulumi up`, literally: the bare CLI as a subprocess in this checkout (the default program from
// Pulumi.yaml: `main:`, `stackConfigDir`, `runtime.options.typescript`, the plugin path), with
// the Node.js language host scripts/install-pulumi.sh chose. The same scenarios run through
// netbed's own CLI (the Automation API, the program inline), so both paths stay supported:
// preview/up/stack output/no-op up/refresh, a consumer reading the stack through a StackReference,
// a program that throws, and SIGINT during an up.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stripVTControlCharacters } from "node:util";
import { ROOT, engineBinDir } from "../../scripts/engine";
import { cliEnv, command, type Driver, pulumiSync, run, start, summary } from "../helpers/cli";
import { dropNetns, netnsList, uniq } from "../helpers";

const THROWING = path.join(ROOT, "test", "fixtures", "throwing-program");
const CONSUMER = path.join(ROOT, "examples", "consumer");

/** The stack's resources as `pulumi stack export` has them, and whether any operation is pending. */
function exported(stack: string, dir: string, env: NodeJS.ProcessEnv): { namespaces: string[]; pending: number } {
    const d = JSON.parse(pulumiSync(["stack", "export", "--stack", stack], dir, env)).deployment;
    const namespaces = (d.resources ?? []).filter((r: any) => r.type === "netbed:index:Host").map((r: any) => r.outputs?.namespace);
    return { namespaces, pending: (d.pending_operations ?? []).length };
}

/**
 * What an up ends with: the bare CLI's Outputs block collapses the results document (a secret
 * output) and shows the summary and the paths; netbed's CLI prints no Outputs block, its summary.
 */
function assertShortEnd(driver: Driver, out: string): number {
    const plain = stripVTControlCharacters(out);
    if (driver === "pulumi") {
        // The update's block (the preview before it has one too, of unknowns).
        const at = plain.lastIndexOf("Outputs:");
        const block = plain.slice(at, plain.indexOf("Resources:", at));
        assert.match(block, /^ {4}results +: \[secret\]$/m, block);
        assert.match(block, /^ {4}reportHtml +: "file:\/\/.*\/report\.html"$/m, block);
        for (const k of ["hosts", "fabric", "guests", "artifacts", "tuning"]) assert.match(block, new RegExp(`^ {4}${k} +: \\[secret\\]$`, "m"), block);
        // 177 lines with the testbed's details shown (this stack: 2 hosts, a wire).
        const lines = block.trimEnd().split("\n").length;
        assert.ok(lines <= 40, `the Outputs block has ${lines} lines:\n${block}`);
        return lines;
    }
    assert.ok(!plain.includes("Outputs:"), plain);
    assert.match(plain, /^Phases of the up that ran it: probe \d+\.\d s, fabric \d+\.\d s, benchmark \d+\.\d s, report \d+\.\d s\.$/m, plain);
    assert.match(plain, /^Benchmark .*: 1 cell in 1 pair, 1 repetition each/m, plain);
    assert.match(plain, /^Next:$/m, plain);
    return plain.slice(plain.lastIndexOf("Duration:")).trimEnd().split("\n").length;
}

for (const driver of ["pulumi", "netbed"] as Driver[]) {
    describe(`engine operations through ${driver === "pulumi" ? "the bare pulumi CLI (a language host runs the program)" : "netbed's CLI (the Automation API, the program inline)"}`, function () {
        this.timeout(900_000);
        const id = `lh16${uniq()}${driver[0]}`;
        const stack = id;
        const prefix = id;
        const n = Math.floor(Math.random() * 200) + 20;
        let backend = "";
        let env: NodeJS.ProcessEnv = {};
        const cleanup: (() => void)[] = [];
        const op = (o: Parameters<typeof command>[1], dir = ROOT, s = stack, runEnv = env) => {
            const c = command(driver, o, s, dir);
            return run(c.argv, { cwd: c.cwd, env: runEnv });
        };

        before(() => {
            assert.ok(
                fs.existsSync(path.join(engineBinDir(), "pulumi-language-nodejs")),
                "scripts/install-pulumi.sh put a Node.js language host beside the engine",
            );
            backend = fs.mkdtempSync(path.join(os.tmpdir(), `${id}-state-`));
            const results = fs.mkdtempSync(path.join(os.tmpdir(), `${id}-results-`));
            cleanup.push(
                () => fs.rmSync(backend, { recursive: true, force: true }),
                () => fs.rmSync(results, { recursive: true, force: true }),
            );
            // Pulumi's runner type-checks a TypeScript program by default (seconds a run);
            // the first preview does, the other runs only transpile, as `npm run netbed` does after
            // its tsc build (test/engine/pack.engine.test.ts type-checks a user's project throughout).
            env = cliEnv(backend, { PULUMI_NODEJS_TRANSPILE_ONLY: "true" });
            cleanup.push(() => fs.rmSync(path.join(ROOT, "stacks", `Pulumi.${stack}.yaml`), { force: true }));
            pulumiSync(["stack", "init", stack], ROOT, env);
            // The producer: two namespace hosts on a veth and one 1-second TCP cell, set the way
            // Pulumi documents structured config (`config set --path`).
            const kv: Record<string, string | number> = {
                "hosts.a.kind": "netns",
                "hosts.a.namespace": `${prefix}-a`,
                "hosts.b.kind": "netns",
                "hosts.b.namespace": `${prefix}-b`,
                "fabric.wires.w.a.host": "a",
                "fabric.wires.w.a.name": "eth0",
                "fabric.wires.w.a.addresses[0]": `10.98.${n}.1/24`,
                "fabric.wires.w.b.host": "b",
                "fabric.wires.w.b.name": "eth0",
                "fabric.wires.w.b.addresses[0]": `10.98.${n}.2/24`,
                "benchmark.tests[0].kind": "tcp",
                "benchmark.tests[0].streams": 1,
                "benchmark.settings.duration": 1,
                "benchmark.settings.repetitions": 1,
                "benchmark.settings.warmup": 0,
                "benchmark.resultsDir": results,
                "benchmark.pairs[0].label": "bare-metal",
                "benchmark.pairs[0].topology": "host-host",
                "benchmark.pairs[0].client.host": "a",
                "benchmark.pairs[0].server.host": "b",
                "benchmark.pairs[0].server.address": `10.98.${n}.2`,
            };
            pulumiSync(["config", "set-all", "--path", "--stack", stack, ...Object.entries(kv).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`])], ROOT, env);
        });
        after(() => {
            for (const ns of netnsList().filter((x) => x.startsWith(prefix))) dropNetns(ns);
            for (const f of cleanup.reverse()) f();
        });

        it("previews, brings the default program's stack up, gives its outputs, converges on a second up, refreshes", async () => {
            const pv = await op("preview", ROOT, stack, { ...env, PULUMI_NODEJS_TRANSPILE_ONLY: "" });
            assert.equal(pv.code, 0, pv.out);
            // The Stack, the Testbed, 2 hosts, the wire, the benchmark run.
            assert.equal(summary(pv.out)["to create"], 6, pv.out);
            assert.deepEqual(
                netnsList().filter((x) => x.startsWith(prefix)),
                [],
                "a preview creates nothing",
            );

            const up = await op("up");
            assert.equal(up.code, 0, up.out);
            assert.deepEqual(
                netnsList()
                    .filter((x) => x.startsWith(prefix))
                    .sort(),
                [`${prefix}-a`, `${prefix}-b`],
            );
            const endLines = assertShortEnd(driver, up.out);

            const out = await op("outputs");
            assert.equal(out.code, 0, out.out);
            const outputs = JSON.parse(out.out.slice(out.out.indexOf("{"), out.out.lastIndexOf("}") + 1));
            assert.equal(outputs.results.cells.length, 1);
            assert.equal(outputs.results.cells[0].status, "ok", JSON.stringify(outputs.results.cells[0]));
            assert.equal(outputs.hosts.a.namespace, `${prefix}-a`);

            const again = await op("up");
            assert.equal(again.code, 0, again.out);
            assert.deepEqual(summary(again.out), { unchanged: 6 }, again.out);

            const rf = await op("refresh");
            assert.equal(rf.code, 0, rf.out);
            // The backend as scripts/env.sh sets it writes no metadata sidecar a killed CLI could leave empty.
            assert.deepEqual(
                fs.readdirSync(backend, { recursive: true }).filter((f) => String(f).endsWith(".attrs")),
                [],
            );
            console.log(
                `      ${driver}: preview ${pv.seconds.toFixed(1)} s, up ${up.seconds.toFixed(1)} s, stack output ${out.seconds.toFixed(1)} s, no-op up ${again.seconds.toFixed(1)} s, refresh ${rf.seconds.toFixed(1)} s; the up ended with ${endLines} lines (${driver === "pulumi" ? "its Outputs block" : "from Duration: on"})`,
            );
        });

        it("a consumer project reads the stack's results through a StackReference", async () => {
            const modules = path.join(CONSUMER, "node_modules");
            if (!fs.existsSync(modules)) cleanup.push(() => fs.rmSync(modules, { recursive: true, force: true }));
            const npm = spawnSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock"], {
                cwd: CONSUMER,
                encoding: "utf8",
                timeout: 120_000,
            });
            assert.equal(npm.status, 0, `npm install --offline in ${CONSUMER}: ${npm.stderr}`);
            const consumer = `${id}c`;
            cleanup.push(() => fs.rmSync(path.join(CONSUMER, `Pulumi.${consumer}.yaml`), { force: true }));
            pulumiSync(["stack", "init", consumer], CONSUMER, env);
            pulumiSync(["config", "set", "producer", `organization/testbed/${stack}`, "--stack", consumer], CONSUMER, env);
            const up = await op("up", CONSUMER, consumer);
            assert.equal(up.code, 0, up.out);
            const cons = JSON.parse(pulumiSync(["stack", "output", "--json", "--show-secrets", "--stack", consumer], CONSUMER, env));
            const prod = JSON.parse(pulumiSync(["stack", "output", "--json", "--show-secrets", "--stack", stack], ROOT, env));
            assert.equal(prod.results.cells.length, 1);
            assert.deepEqual(cons.results, prod.results);
            assert.deepEqual(cons.summary, prod.summary);
            assert.ok(cons.readOn.cores > 0, "the consumer's own netbed Host was probed");
            const down = await op("destroy", CONSUMER, consumer);
            assert.equal(down.code, 0, down.out);
            pulumiSync(["stack", "rm", "--yes", consumer], CONSUMER, env);
        });

        it("a program that throws: its error and stack trace reach the user, the exit code is non-zero, nothing is half-created", async () => {
            const s = `${id}t`;
            cleanup.push(() => fs.rmSync(path.join(THROWING, `Pulumi.${s}.yaml`), { force: true }));
            pulumiSync(["stack", "init", s], THROWING, env);
            pulumiSync(["config", "set", "prefix", `${prefix}t`, "--stack", s], THROWING, env);
            const up = await op("up", THROWING, s);
            assert.ok(!up.hung, `the run ended by itself:\n${up.out}`);
            assert.notEqual(up.code, 0, up.out);
            assert.match(up.out, /deliberate failure: a wire needs two hosts, this program declares 1/);
            // The stack trace names the function and the line in the program's own source (the runner
            // prints it as Node's util.inspect does, grey around the file name on a colour terminal).
            const plain = stripVTControlCharacters(up.out);
            assert.match(plain, /at checkTopology \(.*throwing-program\/index\.ts:6:\d+\)/, up.out);
            // Whatever the engine created before the program failed is in the state, complete.
            const state = exported(s, THROWING, env);
            assert.equal(state.pending, 0, "no operation was left pending");
            assert.deepEqual(
                netnsList().filter((x) => x.startsWith(`${prefix}t`)),
                state.namespaces.filter(Boolean),
            );
            const down = await op("destroy", THROWING, s);
            assert.equal(down.code, 0, down.out);
            assert.deepEqual(
                netnsList().filter((x) => x.startsWith(`${prefix}t`)),
                [],
            );
            pulumiSync(["stack", "rm", "--yes", s], THROWING, env);
        });

        it("SIGINT during an up: the engine cancels, the run ends non-zero, and the next up converges", async () => {
            const down = await op("destroy");
            assert.equal(down.code, 0, down.out);
            const c = command(driver, "up", stack, ROOT);
            let interrupted = false;
            const up = start(c.argv, {
                cwd: c.cwd,
                env,
                timeoutMs: 300_000,
                // One Ctrl-C as soon as the engine creates the first resource (a second one tells
                // the engine to stop at once, leaving operations pending by design).
                onOutput: (s) => {
                    if (interrupted || !/netbed:index:Host\s+\S+\s+creating/.test(s)) return;
                    interrupted = true;
                    process.kill(-up.child.pid!, "SIGINT");
                },
            });
            const r = await up.done;
            assert.ok(interrupted, `the up was interrupted while creating:\n${r.out}`);
            assert.ok(!r.hung, `the interrupted up ended by itself:\n${r.out}`);
            assert.notEqual(r.code, 0, r.out);
            const state = exported(stack, ROOT, env);
            assert.equal(state.pending, 0, `the cancelled up left no pending operation:\n${r.out}`);

            const again = await op("up");
            assert.equal(again.code, 0, again.out);
            assert.deepEqual(
                netnsList()
                    .filter((x) => x.startsWith(prefix))
                    .sort(),
                [`${prefix}-a`, `${prefix}-b`],
            );
            const last = await op("destroy");
            assert.equal(last.code, 0, last.out);
            assert.deepEqual(
                netnsList().filter((x) => x.startsWith(prefix)),
                [],
                "destroy removed every namespace",
            );
            pulumiSync(["stack", "rm", "--yes", stack], ROOT, env);
        });
    });
}
