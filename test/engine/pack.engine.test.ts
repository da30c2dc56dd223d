// netbed as a user installs it: `npm pack` of this checkout, installed into a project outside the
// checkout that has its own @pulumi/pulumi and typescript (as every Pulumi TypeScript project
// does), then the bare `pulumi` CLI and `npx netbed` run a program there.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sdkCopies } from "../../langhost/packages";
import { ROOT } from "../../scripts/engine";
import { cliEnv, command, pulumiSync, run } from "../helpers/cli";
import { dropNetns, netnsList, uniq } from "../helpers";

const PROGRAM = `// A user's program: one namespace host from netbed.
import * as pulumi from "@pulumi/pulumi";
import * as netbed from "netbed";

export = () => {
    const host = new netbed.Host("lab", { kind: "netns", namespace: new pulumi.Config().require("namespace") });
    return { namespace: host.namespace, cores: host.probe.cores };
};
`;

// The tsconfig.json a Pulumi TypeScript project starts with (\`pulumi new typescript\`).
const TSCONFIG = {
    compilerOptions: {
        strict: true,
        outDir: "bin",
        target: "es2020",
        module: "commonjs",
        moduleResolution: "node",
        sourceMap: true,
        experimentalDecorators: true,
        pretty: true,
        noFallthroughCasesInSwitch: true,
        noImplicitReturns: true,
        forceConsistentCasingInFileNames: true,
    },
    files: ["index.ts"],
};

describe("the packed package in a user's project (npm pack, npm install, bare pulumi CLI and npx netbed)", function () {
    this.timeout(900_000);
    const id = `lh16${uniq()}`;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `${id}-`));
    const project = path.join(tmp, "project");
    const env = cliEnv(path.join(tmp, "state"));
    const devDeps = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).devDependencies;
    after(() => {
        for (const ns of netnsList().filter((x) => x.startsWith(id))) dropNetns(ns);
        fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("installs from the tarball with a single @pulumi/pulumi", () => {
        fs.mkdirSync(path.join(tmp, "state"));
        const pack = spawnSync("npm", ["pack", "--pack-destination", tmp, "--ignore-scripts", "--json"], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
        assert.equal(pack.status, 0, pack.stderr);
        const tarball = path.join(tmp, JSON.parse(pack.stdout)[0].filename);
        fs.mkdirSync(project);
        const manifest = {
            name: "lab",
            private: true,
            dependencies: { netbed: `file:${tarball}`, "@pulumi/pulumi": devDeps["@pulumi/pulumi"], typescript: devDeps.typescript },
        };
        fs.writeFileSync(path.join(project, "package.json"), JSON.stringify(manifest, null, 2));
        fs.writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));
        fs.writeFileSync(path.join(project, "index.ts"), PROGRAM);
        fs.writeFileSync(
            path.join(project, "Pulumi.yaml"),
            [
                "name: lab",
                "runtime: nodejs",
                "main: index.ts",
                "plugins:",
                "  providers:",
                "    - name: netbed",
                "      path: ./node_modules/netbed/plugin",
                "",
            ].join("\n"),
        );
        const t0 = Date.now();
        // --prefer-offline: the cache npm ci filled has the tarballs, and the registry answers the version ranges.
        const npm = spawnSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: project, encoding: "utf8", timeout: 300_000 });
        assert.equal(npm.status, 0, `npm install in ${project}: ${npm.stderr}`);
        console.log(`      npm install of the tarball: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        assert.deepEqual(
            sdkCopies(project).map((c) => c.dir),
            [path.join(project, "node_modules", "@pulumi", "pulumi")],
            "one @pulumi/pulumi, the project's",
        );
        assert.ok(fs.existsSync(path.join(project, "node_modules", ".bin", "netbed")), "npm linked netbed's bin");
    });

    it("the bare pulumi CLI runs the project's program: up, stack output, destroy", async () => {
        const stack = "bare";
        pulumiSync(["stack", "init", stack], project, env);
        pulumiSync(["config", "set", "namespace", `${id}-b`, "--stack", stack], project, env);
        const up = await run(["pulumi", "up", "--yes", "--non-interactive", "--stack", stack], { cwd: project, env });
        assert.equal(up.code, 0, up.out);
        assert.deepEqual(
            netnsList().filter((x) => x === `${id}-b`),
            [`${id}-b`],
        );
        const out = JSON.parse(pulumiSync(["stack", "output", "--json", "--stack", stack], project, env));
        assert.equal(out.namespace, `${id}-b`);
        assert.ok(out.cores > 0);
        const down = await run(["pulumi", "destroy", "--yes", "--non-interactive", "--stack", stack], { cwd: project, env });
        assert.equal(down.code, 0, down.out);
        assert.deepEqual(
            netnsList().filter((x) => x.startsWith(id)),
            [],
        );
        console.log(`      bare CLI: up ${up.seconds.toFixed(1)} s, destroy ${down.seconds.toFixed(1)} s`);
    });

    it("npx netbed runs it through the Automation API: up, outputs, destroy", async () => {
        const stack = "npx";
        pulumiSync(["stack", "init", stack], project, env);
        pulumiSync(["config", "set", "namespace", `${id}-n`, "--stack", stack], project, env);
        const npx = (op: string) => run(["npx", "--offline", "--no-install", "netbed", op, "--stack", stack], { cwd: project, env });
        const up = await npx("up");
        assert.equal(up.code, 0, up.out);
        assert.deepEqual(
            netnsList().filter((x) => x === `${id}-n`),
            [`${id}-n`],
        );
        const out = await npx("outputs");
        assert.equal(out.code, 0, out.out);
        assert.equal(JSON.parse(out.out.slice(out.out.indexOf("{"), out.out.lastIndexOf("}") + 1)).namespace, `${id}-n`);
        const down = await npx("destroy");
        assert.equal(down.code, 0, down.out);
        assert.deepEqual(
            netnsList().filter((x) => x.startsWith(id)),
            [],
        );
        console.log(`      npx netbed: up ${up.seconds.toFixed(1)} s, destroy ${down.seconds.toFixed(1)} s`);
    });

    it("the checkout's netbed refuses the project's program (a second @pulumi/pulumi) at once instead of hanging", async () => {
        const c = command("netbed", "up", "npx", project);
        const r = await run(c.argv, { cwd: c.cwd, env, timeoutMs: 120_000 });
        assert.ok(!r.hung, r.out);
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, /two copies cannot share one program/);
        assert.deepEqual(
            netnsList().filter((x) => x.startsWith(id)),
            [],
        );
    });
});
