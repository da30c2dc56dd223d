// Drives the real Pulumi engine (the `pulumi` CLI) through the Automation API. The program runs
// in this Node.js process (an "inline" program), so no language host is involved; the project
// directory's Pulumi.yaml still supplies the stack config dir and the provider plugin. (A bare
// `pulumi up` runs the same programs through a language host: docs/engine-and-cli.md, "The Pulumi engine".)
import { LocalWorkspace, type Stack } from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as path from "node:path";

/** The netbed package: this file runs from scripts/ (ts-node) or dist/scripts/ (compiled, `npx netbed`). */
export const ROOT = [path.resolve(__dirname, ".."), path.resolve(__dirname, "..", "..")].find((d) => fs.existsSync(path.join(d, "package.json")))!;

/** The project netbed serves: the checkout itself, or the project that has netbed in its node_modules. */
export const HOME = path.basename(path.dirname(ROOT)) === "node_modules" ? path.dirname(path.dirname(ROOT)) : ROOT;

/** Where scripts/install-pulumi.sh keeps the engine for the pinned @pulumi/pulumi version. */
export function engineBinDir(): string {
    const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).devDependencies["@pulumi/pulumi"];
    const cache = process.env.NETBED_CACHE ?? path.join(process.env.HOME ?? "/root", ".cache", "netbed");
    return path.join(cache, "pulumi", `v${version}`, "bin");
}

/** Where stacks live unless PULUMI_BACKEND_URL says otherwise. */
export function defaultStateDir(): string {
    return path.join(HOME, ".netbed", "state");
}

/**
 * A file backend that writes no metadata sidecars. By default the file backend writes a
 * `<checkpoint>.attrs` file beside each checkpoint by truncating it and then writing it: a CLI killed
 * in between leaves it empty, and every later operation on the stack fails with "failed to load
 * checkpoint: EOF". Pulumi reads no metadata from it. Other backends and an explicit choice are kept.
 */
export function withoutSidecars(url: string): string {
    if (!url.startsWith("file://") || /[?&]metadata=/.test(url)) return url;
    return `${url}${url.includes("?") ? "&" : "?"}metadata=skip`;
}

/** The documented passphrase of the `local` stack's secrets (it holds none that matter). */
export const LOCAL_PASSPHRASE = "netbed-local";

export type Operation = "up" | "preview" | "refresh" | "destroy" | "outputs";

export interface EngineOptions {
    /** Stack name (default "local"). */
    stack?: string;
    /** Project directory with Pulumi.yaml (default: HOME, the checkout or the user's project). */
    dir?: string;
    /** Where engine output goes (default: stdout). */
    onOutput?: (text: string) => void;
    /** Extra environment for the engine. */
    env?: Record<string, string>;
    /** `up` refreshes the state from the hosts first (finds a dead guest on an SSH host). */
    refresh?: boolean;
    /** `up` leaves out the engine's Outputs block (the caller prints its own summary of them). */
    suppressOutputs?: boolean;
}

/** The environment that keeps the engine on this machine: local state, no downloads, no update checks. */
export function engineEnv(stack: string, extra: Record<string, string> = {}): Record<string, string> {
    const bin = engineBinDir();
    if (!fs.existsSync(path.join(bin, "pulumi"))) {
        throw new Error(`the Pulumi engine is not installed at ${bin}: run 'bash scripts/setup.sh' (or scripts/install-pulumi.sh)`);
    }
    const env: Record<string, string> = {
        // The dynamic-provider shim comes with the @pulumi/pulumi that runs the program.
        PATH: `${bin}:${path.dirname(require.resolve("@pulumi/pulumi/package.json"))}:${process.env.PATH ?? ""}`,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
        PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
        PULUMI_BACKEND_URL: withoutSidecars(process.env.PULUMI_BACKEND_URL ?? `file://${defaultStateDir()}`),
        ...extra,
    };
    const hasPass = process.env.PULUMI_CONFIG_PASSPHRASE !== undefined || process.env.PULUMI_CONFIG_PASSPHRASE_FILE !== undefined;
    if (!hasPass) {
        if (stack !== "local") {
            throw new Error(
                `stack '${stack}' needs a secrets passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE ` +
                    `(only the 'local' stack has a built-in default)`,
            );
        }
        env.PULUMI_CONFIG_PASSPHRASE = LOCAL_PASSPHRASE;
    }
    if (env.PULUMI_BACKEND_URL.startsWith("file://")) {
        const dir = env.PULUMI_BACKEND_URL.slice("file://".length).split("?")[0];
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        // Pulumi writes state files world-readable (0644); they hold every output, and the local
        // stack's passphrase is documented. netbed's own state directory keeps them to its user.
        if (dir === defaultStateDir()) {
            fs.chmodSync(path.dirname(dir), 0o700);
            fs.chmodSync(dir, 0o700);
        }
    }
    return env;
}

function readMain(dir: string): string {
    const yaml = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
    const m = /^main:\s*(\S+)\s*$/m.exec(yaml);
    return path.resolve(dir, m ? m[1] : "index.ts");
}

function readProjectName(dir: string): string {
    const yaml = fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8");
    const m = /^name:\s*(\S+)\s*$/m.exec(yaml);
    if (!m) throw new Error(`${dir}/Pulumi.yaml has no 'name:'`);
    return m[1];
}

/**
 * The program must build its requests with the @pulumi/pulumi that runs the engine here: with a
 * second copy (a project that installed its own, run from a checkout) its registrations fail to
 * serialize and the preview never ends.
 */
function checkSingleSdk(dir: string): void {
    const ours = fs.realpathSync(require.resolve("@pulumi/pulumi"));
    let theirs: string;
    try {
        theirs = fs.realpathSync(require.resolve("@pulumi/pulumi", { paths: [dir] }));
    } catch {
        return; // The program resolves ours (it has none of its own).
    }
    if (theirs !== ours) {
        throw new Error(
            `${dir} uses the @pulumi/pulumi at ${path.dirname(theirs)}, and this netbed runs the engine with the one at ${path.dirname(ours)}: ` +
                `two copies cannot share one program. Run netbed from the project's own installation ('npx netbed ...' in ${dir}) or the bare 'pulumi' CLI there`,
        );
    }
}

/** Lets `require` load a TypeScript program when netbed itself runs compiled (`npx netbed`). */
function ensureTypeScript(): void {
    if (require.extensions[".ts"]) return;
    // The ts-node and typescript Pulumi's program runner would use: the project's, else the SDK's own.
    const { tsnodeRequire, typescriptRequire } = require("@pulumi/pulumi/tsutils").typeScriptRequireStrings();
    require(tsnodeRequire).register({
        compiler: typescriptRequire,
        transpileOnly: true,
        compilerOptions: { module: "commonjs", target: "ES2020", esModuleInterop: true },
    });
}

/** Loads the project's program fresh (so two `up`s in one process each run it). */
function programOf(mainFile: string): () => Promise<Record<string, unknown> | undefined> {
    return async () => {
        if (mainFile.endsWith(".ts")) ensureTypeScript();
        const resolved = require.resolve(mainFile);
        delete require.cache[resolved];
        const mod = require(resolved);
        const fn = typeof mod.default === "function" ? mod.default : typeof mod === "function" ? mod : undefined;
        return fn ? await fn() : mod;
    };
}

export async function openStack(opts: EngineOptions = {}): Promise<Stack> {
    const stackName = opts.stack ?? "local";
    const dir = path.resolve(opts.dir ?? HOME);
    checkSingleSdk(dir);
    const envVars = engineEnv(stackName, opts.env);
    // The Automation API looks the CLI up on this process's PATH.
    process.env.PATH = envVars.PATH;
    return LocalWorkspace.createOrSelectStack({ stackName, projectName: readProjectName(dir), program: programOf(readMain(dir)) }, { workDir: dir, envVars });
}

/** The error an exception or rejection nobody handled becomes: its message and stack, whatever was thrown. */
function programError(thrown: unknown): Error {
    const text = thrown instanceof Error ? (thrown.stack ?? `${thrown.name}: ${thrown.message}`) : String(thrown);
    return new Error(`the program failed, so the engine was stopped (it finished the operations in flight and started no others):\n${text}`);
}

/**
 * Runs an engine operation whose program runs in this process, and ends it at the program's first
 * exception or unhandled rejection: the engine gets SIGINT (it cancels, finishing the operations in
 * flight and saving the state) and the operation fails with that error. Pulumi's inline language
 * server only logs such an error and waits for the program to end, which it never does when the
 * error left a resource's outputs unresolved (a bad `dependsOn`): the operation waited forever.
 */
async function failFast<T>(operation: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const abort = new AbortController();
    const thrown: unknown[] = [];
    const onError = (e: unknown) => {
        thrown.push(e);
        abort.abort();
    };
    process.on("uncaughtException", onError);
    process.on("unhandledRejection", onError);
    try {
        const result = await operation(abort.signal);
        if (thrown.length === 0) return result;
    } catch (e) {
        if (thrown.length === 0) throw e;
    } finally {
        process.off("uncaughtException", onError);
        process.off("unhandledRejection", onError);
    }
    throw programError(thrown[0]);
}

/** Runs one engine operation and returns its outputs (for up/outputs) or summary. */
export async function run(op: Operation, opts: EngineOptions = {}): Promise<Record<string, unknown>> {
    const stack = await openStack(opts);
    const onOutput = opts.onOutput ?? ((s: string) => process.stdout.write(s));
    const plain = (o: Record<string, { value: unknown }>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.value]));
    switch (op) {
        case "up":
            // The Automation API's up skips the preview; run it first so bad input (which
            // check() reports for every resource) fails before anything is created.
            await failFast((signal) => stack.preview({ onOutput, color: "never", suppressOutputs: opts.suppressOutputs, signal }));
            return plain(
                (await failFast((signal) => stack.up({ onOutput, color: "never", refresh: opts.refresh, suppressOutputs: opts.suppressOutputs, signal })))
                    .outputs,
            );
        case "preview":
            return { changes: (await failFast((signal) => stack.preview({ onOutput, color: "never", signal }))).changeSummary };
        case "refresh":
            return { changes: (await failFast((signal) => stack.refresh({ onOutput, color: "never", signal }))).summary.resourceChanges };
        case "destroy":
            return { changes: (await failFast((signal) => stack.destroy({ onOutput, color: "never", signal }))).summary.resourceChanges };
        case "outputs":
            return plain(await stack.outputs());
    }
}
