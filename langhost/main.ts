// netbed's Node.js language host for the Pulumi engine, for machines without Pulumi's
// `pulumi-language-nodejs` (scripts/install-pulumi.sh decides which one runs). The engine starts it
// as `pulumi-language-nodejs [-tracing URL] <engine address>`, reads the port of its
// LanguageRuntime gRPC server from the first line of stdout, and calls it. `Run` starts
// @pulumi/pulumi's own program runner (cmd/run), resolved from the program's directory, with the
// flags and environment Pulumi's host passes, so the program, ts-node, config, secrets and outputs
// behave as under Pulumi's host.
import * as grpc from "@grpc/grpc-js";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { LanguageRuntimeService } from "@pulumi/pulumi/proto/language_grpc_pb";
import * as lang from "@pulumi/pulumi/proto/language_pb";
import * as plugin from "@pulumi/pulumi/proto/plugin_pb";
import { parseRuntimeOptions, runOutcome, runnerArgv, runnerEnv, type RunSpec } from "../core/langhost";
import { pluginPackages, programDependencies, sdkCopies } from "./packages";

const RUN_PATH = process.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH || "@pulumi/pulumi/cmd/run";
/** How long a cancelled program has between SIGINT and SIGKILL (Pulumi's host waits 5 s too). */
const CANCEL_GRACE_MS = 5000;

const running = new Set<ChildProcess>();

/** google.protobuf.Empty from the copy the stubs check their messages against (@pulumi/pulumi's). */
const { Empty } = require(
    require.resolve("google-protobuf/google/protobuf/empty_pb", { paths: [path.dirname(require.resolve("@pulumi/pulumi/package.json"))] }),
);

/** NETBED_LANGHOST_TRACE=<file>: one line per RPC the engine calls (for the RPC list in docs/engine-and-cli.md). */
function trace(rpc: string): void {
    const file = process.env.NETBED_LANGHOST_TRACE;
    if (file) fs.appendFileSync(file, `${process.pid} ${rpc}\n`);
}

function netbedVersion(): string {
    return JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")).version;
}

function optionsOf(info: lang.ProgramInfo | undefined): Record<string, unknown> {
    const o = info?.getOptions();
    return o ? (o as unknown as { toJavaScript(): Record<string, unknown> }).toJavaScript() : {};
}

/** Stops every running program: SIGINT (the runner ends its gRPC calls), SIGKILL after the grace time. */
function cancelPrograms(): void {
    for (const child of running) {
        child.kill("SIGINT");
        setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"), CANCEL_GRACE_MS).unref();
    }
}

function runSpec(req: lang.RunRequest, engineAddress: string, tracing: string): RunSpec {
    const info = req.getInfo();
    return {
        monitorAddress: req.getMonitorAddress(),
        engineAddress,
        organization: req.getOrganization(),
        project: req.getProject(),
        stack: req.getStack(),
        rootDirectory: info?.getRootDirectory() ?? "",
        programDirectory: info?.getProgramDirectory() || req.getPwd(),
        entryPoint: info?.getEntryPoint() || req.getProgram() || ".",
        dryRun: req.getDryrun(),
        parallel: req.getParallel(),
        tracing,
        args: req.getArgsList(),
        config: Object.fromEntries(req.getConfigMap().toArray()),
        configSecretKeys: req.getConfigsecretkeysList(),
    };
}

/** Runs the program to its end; resolves with the RunResponse's error text and bail flag. */
async function runProgram(
    req: lang.RunRequest,
    engineAddress: string,
    tracing: string,
    call: grpc.ServerUnaryCall<unknown, unknown>,
): Promise<{ error: string; bail: boolean }> {
    const spec = runSpec(req, engineAddress, tracing);
    const opts = parseRuntimeOptions(optionsOf(req.getInfo()));
    let runPath: string;
    try {
        runPath = require.resolve(RUN_PATH, { paths: [spec.programDirectory] });
    } catch {
        return {
            error: `could not find ${RUN_PATH} from ${spec.programDirectory}: the Pulumi SDK is not installed there; run 'npm install' in the project`,
            bail: false,
        };
    }
    const argv = [...opts.nodeargs, "-r", path.join(__dirname, "failfast.js"), ...runnerArgv(runPath, spec)];
    const child = spawn(process.execPath, argv, {
        cwd: spec.programDirectory,
        env: { ...process.env, ...runnerEnv(spec, opts) },
        // The program's output reaches the engine through ours, as under Pulumi's host.
        stdio: ["ignore", "inherit", "inherit"],
    });
    running.add(child);
    call.on("cancelled", cancelPrograms);
    return new Promise((resolve) => {
        child.on("error", (e) => resolve({ error: `could not start the program runner (${process.execPath} ${runPath}): ${e.message}`, bail: false }));
        child.on("exit", (code, signal) => {
            running.delete(child);
            resolve(runOutcome(code, signal));
        });
    });
}

/** The handler of an RPC netbed's host does not serve: UNIMPLEMENTED, saying what to use instead. */
function unimplemented(name: string) {
    const error = {
        code: grpc.status.UNIMPLEMENTED,
        details: `${name} is not implemented by netbed's Node.js language host (it runs programs: up, preview, refresh, destroy); install Pulumi's pulumi-language-nodejs for ${name}`,
    };
    return (call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, cb?: grpc.sendUnaryData<unknown>) => {
        trace(name);
        // Streaming RPCs (InstallDependencies, RunPlugin) have no callback: the error ends the stream.
        if (cb) cb(error);
        else call.emit("error", error);
    };
}

/** Wraps a handler: traced, and any exception becomes the RPC's error instead of killing the host. */
function handler<Req, Res>(name: string, fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res) {
    return (call: grpc.ServerUnaryCall<Req, Res>, cb: grpc.sendUnaryData<Res>) => {
        trace(name);
        Promise.resolve()
            .then(() => fn(call.request, call))
            .then(
                (res) => cb(null, res),
                (e: Error) => cb({ code: grpc.status.UNKNOWN, details: `${name}: ${e.message}` }),
            );
    };
}

/** GetRequiredPackages: the plugin packages the program's dependencies declare (warning of mixed SDK majors). */
function requiredPackages(req: lang.GetRequiredPackagesRequest): lang.GetRequiredPackagesResponse {
    const dir = req.getInfo()?.getProgramDirectory() ?? ".";
    const copies = sdkCopies(dir);
    const majors = new Set(copies.map((c) => c.version.split(".")[0]));
    if (majors.size > 1)
        process.stderr.write(`Found incompatible versions of @pulumi/pulumi:\n${copies.map((c) => `  ${c.version} at ${c.dir}`).join("\n")}\n`);
    const res = new lang.GetRequiredPackagesResponse();
    for (const p of pluginPackages(dir)) {
        const dep = new plugin.PackageDependency()
            .setName(p.name)
            .setKind("resource")
            .setVersion(p.version)
            .setServer(p.server ?? "");
        if (p.parameterization) {
            const { name, version, value } = p.parameterization;
            dep.setParameterization(new plugin.PackageParameterization().setName(name).setVersion(version).setValue(Buffer.from(value, "base64")));
        }
        res.addPackages(dep);
    }
    return res;
}

/** About: this Node.js, its npm, and netbed as the language host. */
function about(): lang.AboutResponse {
    const npm = spawnSync("npm", ["--version"], { encoding: "utf8", timeout: 10_000 });
    const res = new lang.AboutResponse().setExecutable(process.execPath).setVersion(process.version);
    res.getMetadataMap()
        .set("packagemanager", "npm")
        .set("packagemanagerVersion", npm.status === 0 ? npm.stdout.trim() : "");
    res.getMetadataMap().set("languagehost", `netbed ${netbedVersion()}`);
    return res;
}

function service(state: { engineAddress: string; tracing: string }): grpc.UntypedServiceImplementation {
    return {
        handshake: handler("Handshake", (req: lang.LanguageHandshakeRequest) => {
            state.engineAddress = req.getEngineAddress();
            return new lang.LanguageHandshakeResponse();
        }),
        getPluginInfo: handler("GetPluginInfo", () => new plugin.PluginInfo().setVersion(netbedVersion())),
        getRequiredPlugins: unimplemented("GetRequiredPlugins"),
        getRequiredPackages: handler("GetRequiredPackages", requiredPackages),
        run: handler("Run", async (req: lang.RunRequest, call) => {
            const { error, bail } = await runProgram(req, state.engineAddress, state.tracing, call);
            return new lang.RunResponse().setError(error).setBail(bail);
        }),
        about: handler("About", about),
        getProgramDependencies: handler("GetProgramDependencies", (req: lang.GetProgramDependenciesRequest) => {
            const deps = programDependencies(req.getInfo()?.getProgramDirectory() ?? ".", req.getTransitivedependencies());
            return new lang.GetProgramDependenciesResponse().setDependenciesList(
                deps.map((d) => new lang.DependencyInfo().setName(d.name).setVersion(d.version)),
            );
        }),
        cancel: handler("Cancel", () => {
            cancelPrograms();
            return new Empty();
        }),
        installDependencies: unimplemented("InstallDependencies"),
        runtimeOptionsPrompts: unimplemented("RuntimeOptionsPrompts"),
        template: unimplemented("Template"),
        runPlugin: unimplemented("RunPlugin"),
        generateProgram: unimplemented("GenerateProgram"),
        generateProject: unimplemented("GenerateProject"),
        generatePackage: unimplemented("GeneratePackage"),
        pack: unimplemented("Pack"),
        link: unimplemented("Link"),
    };
}

/** `-tracing URL` / `--tracing=URL`, `-version`, then the engine's address. */
function parseArgs(argv: string[]): { tracing: string; engineAddress: string; version: boolean } {
    let tracing = "";
    let version = false;
    const rest: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const m = /^--?(tracing|runtime|version)(?:=(.*))?$/.exec(argv[i]);
        if (!m) rest.push(argv[i]);
        else if (m[1] === "version") version = true;
        else {
            const value = m[2] ?? argv[++i] ?? "";
            if (m[1] === "tracing") tracing = value;
            else if (value !== "nodejs") throw new Error(`unsupported runtime '${value}': netbed's language host runs Node.js only`);
        }
    }
    return { tracing, engineAddress: rest[0] ?? "", version };
}

function main(): void {
    const args = parseArgs(process.argv.slice(2));
    if (args.version) {
        console.log(netbedVersion());
        return;
    }
    const state = { engineAddress: args.engineAddress, tracing: args.tracing };
    const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
    server.addService(LanguageRuntimeService, service(state));
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) {
            console.error(`pulumi-language-nodejs (netbed): could not start the gRPC server: ${err.message}`);
            process.exit(1);
        }
        process.stdout.write(`${port}\n`);
    });
    // The engine holds our stdin open while it lives: its end means the engine is gone, and a
    // program still running would wait forever for a monitor that no longer answers.
    const stdin = fs.fstatSync(0);
    if (stdin.isFIFO() || stdin.isSocket()) {
        process.stdin.on("end", () => {
            cancelPrograms();
            setTimeout(() => process.exit(0), running.size ? CANCEL_GRACE_MS : 0).unref();
        });
        process.stdin.resume();
    }
    process.on("SIGINT", () => {
        cancelPrograms();
        server.tryShutdown(() => process.exit(0));
    });
}

main();
