// The cold path, phase by phase: a fresh clone of this checkout's HEAD with every cache of its own
// and empty (npm's, Go's module and build caches, the engine, the kernel and image cache, the
// state), then the README's main job, `bash scripts/setup.sh && npm run up`, on the local stack's
// testbed (its own namespaces, so a local stack already up is left alone), then destroy.
// What it cannot make cold: the Debian packages installed on this machine (setup's apt step finds
// them installed; on a fresh machine it runs while the engine builds).
// Run: npm run bench -- cold, or cold-cli for the path of a user who has Pulumi's released CLI on
// PATH (this machine's own engine build stands in for the release: setup then builds nothing).
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline";
import { engineBinDir, ROOT } from "../scripts/engine";
import { dropNetns } from "../test/helpers";
import { machine } from "./machine";
import { PHASES } from "./phases";

const yaml = require("js-yaml") as { load(s: string): any; dump(o: unknown): string };

type Line = { at: number; text: string };

/** Runs argv in cwd, keeping every output line with the second it arrived; rejects on a non-zero exit. */
function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv, t0: number): Promise<Line[]> {
    return new Promise((resolve, reject) => {
        const p = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        const lines: Line[] = [];
        for (const s of [p.stdout, p.stderr]) readline.createInterface({ input: s }).on("line", (text) => lines.push({ at: (Date.now() - t0) / 1000, text }));
        p.on("error", reject);
        p.on("close", (code) => {
            if (code === 0) return resolve(lines);
            const errors = lines.filter((l) => /error|failed/i.test(l.text)).slice(0, 20);
            const shown = [...errors, ...lines.slice(-40)].map((l) => l.text).join("\n");
            reject(new Error(`${argv.join(" ")} exited ${code} in ${cwd}:\n${shown}`));
        });
    });
}

/** The second at which the first line matching re arrived. */
function when(lines: Line[], re: RegExp): number | undefined {
    return lines.find((l) => re.test(l.text))?.at;
}

/** Per phase, the span from its first resource's "creating" to its last "created" line. */
export function upPhases(lines: Line[]): Record<string, { start: number; end: number; seconds: number }> {
    const out: Record<string, { start: number; end: number; seconds: number }> = {};
    const first = lines.findIndex((l) => /^Updating \(/.test(l.text));
    for (const l of lines.slice(first < 0 ? 0 : first)) {
        const m = /^ \+ +netbed:index:(\w+) \S+ (creating|created) \(/.exec(l.text);
        const phase = m && PHASES[m[1]];
        if (!phase) continue;
        const p = (out[phase] ??= { start: l.at, end: l.at, seconds: 0 });
        p.start = Math.min(p.start, l.at);
        if (m[2] === "created") p.end = Math.max(p.end, l.at);
        p.seconds = Math.round((p.end - p.start) * 10) / 10;
    }
    return out;
}

/** The local stack's testbed on namespaces of this run, with its kernel and image cached under dir. */
function coldStack(id: string, cache: string): string {
    const doc = yaml.load(fs.readFileSync(path.join(ROOT, "stacks", "Pulumi.local.yaml"), "utf8"));
    const c = doc.config;
    for (const h of Object.keys(c["testbed:hosts"])) c["testbed:hosts"][h] = { ...c["testbed:hosts"][h], namespace: `nbcold-${id}-${h}` };
    c["testbed:guests"].kernel = { ...c["testbed:guests"].kernel, cacheDir: cache };
    c["testbed:guests"].image = { ...(c["testbed:guests"].image ?? {}), cacheDir: cache };
    // The local stack's salt is for its own passphrase: a new stack gets one for this run's.
    delete doc.encryptionsalt;
    return yaml.dump(doc);
}

/**
 * The environment of a machine that has none of netbed's caches: each under tmp, empty. With a
 * released CLI, a copy of the engine alone (no language host: netbed's own serves) is first on PATH.
 */
function coldEnv(tmp: string, releasedCli: boolean): NodeJS.ProcessEnv {
    const enginePath = /\/\.cache\/netbed\/pulumi\//;
    const release = path.join(tmp, "pulumi-release");
    if (releasedCli) {
        fs.mkdirSync(release);
        fs.copyFileSync(path.join(engineBinDir(), "pulumi"), path.join(release, "pulumi"));
        fs.chmodSync(path.join(release, "pulumi"), 0o755);
    }
    const dirs = (process.env.PATH ?? "").split(":").filter((d) => !enginePath.test(d));
    return {
        ...process.env,
        PATH: [...(releasedCli ? [release] : []), ...dirs].join(":"),
        NETBED_CACHE: path.join(tmp, "netbed-cache"),
        GOMODCACHE: path.join(tmp, "go-mod"),
        GOCACHE: path.join(tmp, "go-build"),
        npm_config_cache: path.join(tmp, "npm-cache"),
        PULUMI_CONFIG_PASSPHRASE: "bench",
    };
}

function print(r: Record<string, number | undefined>): void {
    for (const [k, v] of Object.entries(r)) console.log(`  ${k.padEnd(28)} ${v === undefined ? "-" : `${v.toFixed(1)} s`}`);
}

export async function main(opts: { releasedCli?: boolean } = {}): Promise<Record<string, unknown>> {
    console.log(machine());
    const id = process.pid.toString(36);
    const tmp = fs.mkdtempSync("/var/tmp/netbed-bench-cold-");
    const clone = path.join(tmp, "netbed");
    const env = coldEnv(tmp, opts.releasedCli ?? false);
    const stack = `cold${id}`;
    let upStarted = false;
    try {
        await run(["git", "clone", "-q", ROOT, clone], tmp, env, Date.now());
        fs.writeFileSync(path.join(clone, "stacks", `Pulumi.${stack}.yaml`), coldStack(id, path.join(tmp, "artifacts")));
        const t0 = Date.now();
        const setup = await run(["bash", "scripts/setup.sh"], clone, env, t0);
        const setupEnd = (Date.now() - t0) / 1000;
        console.log(`  setup took ${setupEnd.toFixed(1)} s:\n${setup.map((l) => `    ${l.at.toFixed(1).padStart(6)} s  ${l.text}`).join("\n")}`);
        upStarted = true;
        const up = await run(["npm", "run", "netbed", "--", "up", "--stack", stack], clone, env, t0);
        const total = (Date.now() - t0) / 1000;
        const phases = upPhases(up);
        const figures = {
            "setup (apt installed here)": setupEnd,
            "  npm ci starts": when(setup, /setup: npm ci/),
            "  engine built": when(setup, /install-pulumi: (built|using) /),
            "  tsc starts": when(setup, /setup: building \(tsc\)/),
            "up: preview and program": (phases.probe?.start ?? setupEnd) - setupEnd,
            ...Object.fromEntries(Object.entries(phases).map(([k, p]) => [`up: ${k}`, p.seconds])),
            "up: after the matrix": total - (phases.matrix?.end ?? total),
            total,
        };
        print(figures);
        return { releasedCli: opts.releasedCli ?? false, figures, phases, load: fs.readFileSync("/proc/loadavg", "utf8").trim() };
    } finally {
        // Also after a failed up: its guests run in the namespaces, which dropping would not stop.
        if (upStarted)
            await run(["npm", "run", "netbed", "--", "destroy", "--stack", stack], clone, env, Date.now()).catch((e) =>
                console.error(`destroy: ${(e as Error).message}`),
            );
        for (const h of ["server", "client", "external"]) dropNetns(`nbcold-${id}-${h}`);
        // The run's raw results outlive the clone, so a failed cell can be read afterwards.
        const results = path.join(clone, "results");
        if (fs.existsSync(results)) fs.cpSync(results, path.join(ROOT, "results", `bench-cold-${id}`), { recursive: true });
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}
