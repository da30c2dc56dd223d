// What netbed's Node.js language host passes to @pulumi/pulumi's program runner (cmd/run): the
// runner's flags, the environment the Pulumi SDK reads its config from, and the Pulumi.yaml
// `runtime.options`. Pure: the host (langhost/) does the I/O.

/** The subset of a RunRequest the runner needs. */
export interface RunSpec {
    monitorAddress: string;
    engineAddress: string;
    organization: string;
    project: string;
    stack: string;
    rootDirectory: string;
    programDirectory: string;
    /** The entry point relative to the program directory ("." when Pulumi.yaml has no `main:`). */
    entryPoint: string;
    dryRun: boolean;
    parallel: number;
    tracing: string;
    args: string[];
    /** Config as the engine sends it: "<namespace>:<name>" -> value. */
    config: Record<string, string>;
    configSecretKeys: string[];
}

export interface RuntimeOptions {
    typescript: boolean;
    tsconfig?: string;
    nodeargs: string[];
}

/** Pulumi.yaml `runtime.options` for nodejs, checked (typescript defaults to true, as in Pulumi). */
export function parseRuntimeOptions(options: Record<string, unknown>): RuntimeOptions {
    const { typescript = true, tsconfig, nodeargs = "" } = options;
    if (typeof typescript !== "boolean") throw new Error(`runtime.options.typescript must be a boolean, not ${JSON.stringify(typescript)}`);
    if (tsconfig !== undefined && typeof tsconfig !== "string")
        throw new Error(`runtime.options.tsconfig must be a path (string), not ${JSON.stringify(tsconfig)}`);
    if (typeof nodeargs !== "string") throw new Error(`runtime.options.nodeargs must be a string of arguments, not ${JSON.stringify(nodeargs)}`);
    return { typescript, tsconfig, nodeargs: splitWords(nodeargs) };
}

/** Splits a string into words the way a POSIX shell does for quotes and backslashes (no expansion). */
export function splitWords(s: string): string[] {
    const words: string[] = [];
    let cur = "";
    let inWord = false;
    let quote: "'" | '"' | undefined;
    for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (quote === "'") {
            if (c === "'") quote = undefined;
            else cur += c;
        } else if (quote === '"') {
            if (c === '"') quote = undefined;
            else if (c === "\\" && i + 1 < s.length && '"\\$`'.includes(s[i + 1])) cur += s[++i];
            else cur += c;
        } else if (c === "'" || c === '"') {
            quote = c;
            inWord = true;
        } else if (c === "\\" && i + 1 < s.length) {
            cur += s[++i];
            inWord = true;
        } else if (/\s/.test(c)) {
            if (inWord) words.push(cur);
            cur = "";
            inWord = false;
        } else {
            cur += c;
            inWord = true;
        }
    }
    if (quote) throw new Error(`unterminated ${quote} quote in ${JSON.stringify(s)}`);
    if (inWord) words.push(cur);
    return words;
}

/**
 * The key form the runner's environment carries: "<namespace>:config:<name>". The engine sends
 * "<namespace>:<name>"; the SDK reads both, and Pulumi's host passes the long form.
 */
export function runnerConfigKey(key: string): string {
    const parts = key.split(":");
    if (parts.length === 2 && parts[0] && parts[1]) return `${parts[0]}:config:${parts[1]}`;
    if (parts.length === 3 && parts[1] === "config" && parts[0] && parts[2]) return key;
    throw new Error(`config key '${key}' is not of the form <namespace>:<name>`);
}

/** The runner's argv after the node executable: [runPath, flags..., entry point, program args...]. */
export function runnerArgv(runPath: string, spec: RunSpec): string[] {
    const argv = [runPath];
    const flag = (name: string, value: string) => {
        if (value !== "") argv.push(`--${name}`, value);
    };
    flag("monitor", spec.monitorAddress);
    flag("engine", spec.engineAddress);
    flag("organization", spec.organization);
    flag("project", spec.project);
    flag("root-directory", spec.rootDirectory);
    flag("stack", spec.stack);
    flag("pwd", spec.programDirectory);
    if (spec.dryRun) argv.push("--dry-run");
    flag("parallel", String(spec.parallel));
    flag("tracing", spec.tracing);
    argv.push(spec.entryPoint || ".", ...spec.args);
    return argv;
}

/** The variables the runner and the Pulumi SDK read, added to the host's own environment. */
export function runnerEnv(spec: RunSpec, opts: RuntimeOptions): Record<string, string> {
    const config = Object.fromEntries(Object.entries(spec.config).map(([k, v]) => [runnerConfigKey(k), v]));
    const env: Record<string, string> = {
        PULUMI_CONFIG: JSON.stringify(config),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(spec.configSecretKeys),
    };
    if (opts.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
    if (opts.tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = opts.tsconfig;
    return env;
}

/** Exit code with which cmd/run says it has already shown the user an actionable error. */
const RUNNER_REPORTED_EXIT = 32;

/** The RunResponse for a runner that ended with `code` (or was killed by `signal`). */
export function runOutcome(code: number | null, signal: NodeJS.Signals | null): { error: string; bail: boolean } {
    if (code === 0) return { error: "", bail: false };
    if (code === RUNNER_REPORTED_EXIT) return { error: "", bail: true };
    if (code !== null) return { error: `Program exited with non-zero exit code: ${code}`, bail: false };
    return { error: `Program exited unexpectedly: killed by ${signal}`, bail: false };
}
