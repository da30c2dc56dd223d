// core/detach.ts: the argv that starts a VMM, run here with sh standing in for the VMM.
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { detachArgv, withDeviceFds } from "../../../core/detach";

const run = (argv: string[]) => spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });

describe("core/detach: starting a VMM", () => {
    it("opens the device files as fds 3, 4, ... before the VMM runs, paths passed as data", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-detach-"));
        try {
            const odd = path.join(dir, "a $(touch pwned) b");
            fs.writeFileSync(odd, "");
            const r = run(withDeviceFds(["/dev/null", odd], ["sh", "-c", 'readlink /proc/$$/fd/3 /proc/$$/fd/4; [ -e /proc/$$/fd/5 ] || echo "no fd 5"']));
            assert.equal(r.stdout, `/dev/null\n${odd}\nno fd 5\n`, r.stderr);
            assert.ok(!fs.existsSync("pwned") && !fs.existsSync(path.join(dir, "pwned")));
            assert.deepEqual(withDeviceFds([], ["/usr/bin/qemu", "-m", "1"]), ["/usr/bin/qemu", "-m", "1"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("detaches the VMM with its pid in the run directory, its console on the FIFO and in the log", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "netbed-detach-"));
        try {
            assert.equal(run(["mkfifo", `${dir}/console.in`]).status, 0);
            assert.equal(run(detachArgv(dir, ["sh", "-c", 'echo "pid $$"; read -r line; echo "got $line"'])).status, 0);
            for (let k = 0; k < 50 && !fs.existsSync(`${dir}/pid`); k++) await new Promise((r) => setTimeout(r, 100));
            const pid = fs.readFileSync(`${dir}/pid`, "utf8").trim();
            fs.writeFileSync(`${dir}/console.in`, "poweroff\n");
            for (let k = 0; k < 50 && !fs.readFileSync(`${dir}/console.log`, "utf8").includes("got"); k++) await new Promise((r) => setTimeout(r, 100));
            assert.equal(fs.readFileSync(`${dir}/console.log`, "utf8"), `pid ${pid}\ngot poweroff\n`);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
