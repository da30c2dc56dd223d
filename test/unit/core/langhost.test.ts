// netbed's Node.js language host: what it passes to @pulumi/pulumi's program runner, which plugin
// packages it reports, and the gRPC service as the engine sees it (started as the engine starts
// it: the port on stdout's first line, the engine's address as the argument).
import * as grpc from "@grpc/grpc-js";
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LanguageRuntimeClient } from "@pulumi/pulumi/proto/language_grpc_pb";
import * as lang from "@pulumi/pulumi/proto/language_pb";
import { parseRuntimeOptions, runOutcome, runnerArgv, runnerConfigKey, runnerEnv, type RunSpec, splitWords } from "../../../core/langhost";
import { pluginPackages, sdkCopies } from "../../../langhost/packages";
import { ROOT } from "../../../scripts/engine";

const SPEC: RunSpec = {
    monitorAddress: "127.0.0.1:5000",
    engineAddress: "127.0.0.1:5001",
    organization: "organization",
    project: "testbed",
    stack: "local",
    rootDirectory: "/p",
    programDirectory: "/p/stacks",
    entryPoint: "index.ts",
    dryRun: true,
    parallel: 16,
    tracing: "",
    args: ["x"],
    config: { "testbed:hosts": "{}", "netbed:level": "2" },
    configSecretKeys: ["testbed:key"],
};

describe("language host: the runner's arguments and environment", () => {
    it("passes Pulumi's flags in order, skips empty ones, and ends with the entry point and the program's arguments", () => {
        assert.deepEqual(runnerArgv("/run", SPEC), [
            "/run",
            "--monitor",
            "127.0.0.1:5000",
            "--engine",
            "127.0.0.1:5001",
            "--organization",
            "organization",
            "--project",
            "testbed",
            "--root-directory",
            "/p",
            "--stack",
            "local",
            "--pwd",
            "/p/stacks",
            "--dry-run",
            "--parallel",
            "16",
            "index.ts",
            "x",
        ]);
        assert.deepEqual(runnerArgv("/run", { ...SPEC, dryRun: false, organization: "", entryPoint: "", args: [] }).slice(-5), [
            "--pwd",
            "/p/stacks",
            "--parallel",
            "16",
            ".",
        ]);
    });

    it("puts config in the runner's key form, the secret keys, and the TypeScript options in the environment", () => {
        const env = runnerEnv(SPEC, parseRuntimeOptions({ tsconfig: "../tsconfig.json" }));
        assert.deepEqual(JSON.parse(env.PULUMI_CONFIG), { "testbed:config:hosts": "{}", "netbed:config:level": "2" });
        assert.deepEqual(JSON.parse(env.PULUMI_CONFIG_SECRET_KEYS), ["testbed:key"]);
        assert.equal(env.PULUMI_NODEJS_TYPESCRIPT, "true");
        assert.equal(env.PULUMI_NODEJS_TSCONFIG_PATH, "../tsconfig.json");
        assert.equal(runnerEnv(SPEC, parseRuntimeOptions({ typescript: false })).PULUMI_NODEJS_TYPESCRIPT, undefined);
        assert.equal(runnerConfigKey("a:config:b"), "a:config:b");
        assert.throws(() => runnerConfigKey("nonamespace"), /<namespace>:<name>/);
    });

    it("checks runtime.options and splits nodeargs as a shell would", () => {
        assert.deepEqual(parseRuntimeOptions({}), { typescript: true, tsconfig: undefined, nodeargs: [] });
        assert.throws(() => parseRuntimeOptions({ typescript: "yes" }), /typescript must be a boolean/);
        assert.throws(() => parseRuntimeOptions({ nodeargs: ["--x"] }), /nodeargs must be a string/);
        assert.deepEqual(splitWords(` --max-old-space-size=4096  --title "a b" 'c d'\\ e`), ["--max-old-space-size=4096", "--title", "a b", "c d e"]);
        assert.throws(() => splitWords(`"open`), /unterminated/);
    });

    it("maps the runner's exit to Pulumi's RunResponse: 0 ok, 32 already reported (bail), else the code or signal", () => {
        assert.deepEqual(runOutcome(0, null), { error: "", bail: false });
        assert.deepEqual(runOutcome(32, null), { error: "", bail: true });
        assert.deepEqual(runOutcome(1, null), { error: "Program exited with non-zero exit code: 1", bail: false });
        assert.match(runOutcome(null, "SIGKILL").error, /killed by SIGKILL/);
    });
});

describe("language host: plugin packages under node_modules", () => {
    let dir = "";
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "lh16-pkgs-"));
        const pkg = (rel: string, manifest: object) => {
            fs.mkdirSync(path.join(dir, rel), { recursive: true });
            fs.writeFileSync(path.join(dir, rel, "package.json"), JSON.stringify(manifest));
        };
        pkg("node_modules/@pulumi/command", { name: "@pulumi/command", version: "4.5.0", pulumi: { resource: true } });
        pkg("node_modules/@acme/thing", { name: "@acme/thing", version: "v1.2.3", pulumi: { resource: true, server: "https://example.invalid" } });
        pkg("node_modules/plain", { name: "plain", version: "1.0.0" });
        pkg("node_modules/plain/node_modules/@pulumi/pulumi", { name: "@pulumi/pulumi", version: "3.1.0" });
        pkg("node_modules/@pulumi/pulumi", { name: "@pulumi/pulumi", version: "3.248.0" });
        // A symlink loop must not hang the walk.
        fs.symlinkSync(path.join(dir, "node_modules"), path.join(dir, "node_modules", "plain", "node_modules", "loop"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reports each resource plugin with Pulumi's name and a v-prefixed version, deeply, once", () => {
        assert.deepEqual(
            pluginPackages(dir).sort((a, b) => a.name.localeCompare(b.name)),
            [
                { name: "acme/thing", version: "v1.2.3", server: "https://example.invalid", parameterization: undefined },
                { name: "command", version: "v4.5.0", server: undefined, parameterization: undefined },
            ],
        );
        assert.deepEqual(
            sdkCopies(dir)
                .map((c) => c.version)
                .sort(),
            ["3.1.0", "3.248.0"],
        );
    });
});

describe("language host: the gRPC service", function () {
    this.timeout(60_000);
    let host: ChildProcess;
    let client: InstanceType<typeof LanguageRuntimeClient>;
    before(async () => {
        host = spawn(path.join(ROOT, "langhost", "pulumi-language-nodejs"), ["127.0.0.1:1"], { stdio: ["pipe", "pipe", "inherit"] });
        const port = await new Promise<string>((resolve, reject) => {
            let out = "";
            host.stdout!.on("data", (b) => {
                out += b;
                if (out.includes("\n")) resolve(out.split("\n")[0]);
            });
            host.on("exit", (code) => reject(new Error(`the language host exited (${code}) before announcing its port`)));
        });
        assert.match(port, /^\d+$/);
        client = new LanguageRuntimeClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    });
    after(() => {
        client?.close();
        host?.kill();
    });

    it("answers an RPC it does not implement with UNIMPLEMENTED and what to use instead", async () => {
        const err = await new Promise<grpc.ServiceError>((resolve) =>
            client
                .installDependencies(new lang.InstallDependenciesRequest())
                .on("error", resolve)
                .on("data", () => undefined),
        );
        assert.equal(err.code, grpc.status.UNIMPLEMENTED);
        assert.match(err.details, /InstallDependencies is not implemented by netbed's Node.js language host.*pulumi-language-nodejs/);
    });

    it("reports the checkout's plugin packages (GetRequiredPackages) and fails a Run whose program has no Pulumi SDK, naming the directory", async () => {
        const info = new lang.ProgramInfo().setRootDirectory(ROOT).setProgramDirectory(ROOT).setEntryPoint(".");
        const pkgs = await new Promise<lang.GetRequiredPackagesResponse>((resolve, reject) =>
            client.getRequiredPackages(new lang.GetRequiredPackagesRequest().setInfo(info), (e, r) => (e ? reject(e) : resolve(r!))),
        );
        assert.ok(
            pkgs.getPackagesList().some((p) => p.getName() === "command" && p.getVersion().startsWith("v")),
            "@pulumi/command declares its plugin",
        );
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "lh16-nosdk-"));
        try {
            const req = new lang.RunRequest()
                .setInfo(new lang.ProgramInfo().setRootDirectory(empty).setProgramDirectory(empty).setEntryPoint("."))
                .setMonitorAddress("127.0.0.1:1");
            const res = await new Promise<lang.RunResponse>((resolve, reject) => client.run(req, (e, r) => (e ? reject(e) : resolve(r!))));
            assert.match(res.getError(), new RegExp(`could not find @pulumi/pulumi/cmd/run from ${empty}.*npm install`));
        } finally {
            fs.rmSync(empty, { recursive: true, force: true });
        }
    });

    it("exits when the engine closes its stdin (the engine is gone)", async () => {
        const code = await new Promise<number | null>((resolve) => {
            host.on("exit", resolve);
            host.stdin!.end();
        });
        assert.equal(code, 0);
    });
});
