// KVM exits and vhost CPU, the null path for real: a QEMU under TCG asked over its QMP socket (the
// parsers' tests are in test/unit/core/qmp.test.ts and procstat.test.ts).
import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { exitsPerSecond, probeGuestStats } from "../../../../providers/benchmark/guest-stats";
import { handlerCtx } from "../../../helpers/ctx";

describe("guest statistics: KVM exits and vhost CPU", function () {
    this.timeout(60_000);

    describe("a QEMU under TCG (real)", () => {
        let qemu: ChildProcess | undefined;
        let dir: string;
        before(async function () {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "st17-qmp-"));
            const socket = path.join(dir, "qmp.sock");
            // No kernel: SeaBIOS finds nothing to boot and idles, which is all QMP needs. Bounded by timeout.
            qemu = spawn(
                "timeout",
                [
                    "60",
                    "qemu-system-x86_64",
                    "-accel",
                    "tcg",
                    "-M",
                    "q35",
                    "-m",
                    "64",
                    "-display",
                    "none",
                    "-serial",
                    "none",
                    "-monitor",
                    "none",
                    "-qmp",
                    `unix:${socket},server=on,wait=off`,
                ],
                { stdio: "ignore" },
            );
            const deadline = Date.now() + 20_000;
            while (!fs.existsSync(socket) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
            if (!fs.existsSync(socket)) this.skip();
        });
        after(() => {
            if (qemu?.pid) qemu.kill();
            fs.rmSync(dir, { recursive: true, force: true });
        });

        it("exits per second stay null, with the reason, where the accelerator has no KVM statistics", async () => {
            const ctx = handlerCtx("BenchmarkRun", "st17", { project: "st17" });
            const gs = await probeGuestStats(ctx, [
                {
                    name: "g1",
                    host: { kind: "local", name: "me" },
                    pid: qemu!.pid!,
                    backend: "virtio",
                    accel: "tcg",
                    driver: "qemu",
                    qmpSocket: path.join(dir, "qmp.sock"),
                },
                { name: "g2", host: { kind: "local", name: "me" }, pid: qemu!.pid!, backend: "virtio", accel: "tcg", driver: "qemu" },
            ]);
            assert.equal(gs.exits.size, 0);
            assert.match(gs.unmeasured["vmExitsPerSecond:g1"], /QMP query-stats on g1 returned no KVM exit counters \(accelerator tcg: only KVM has them\)/);
            assert.match(gs.unmeasured["vmExitsPerSecond:g2"], /has no QMP socket/);
            const r = exitsPerSecond(gs, ["g1"], new Map(), new Map(), 2);
            assert.equal(r.value, null);
            assert.match(r.why!, /no KVM exit counters/);
            // With counters on both sides: the difference per second.
            assert.deepEqual(exitsPerSecond(gs, ["g1"], new Map([["g1", 100]]), new Map([["g1", 700]]), 2), { value: 300 });
        });
    });
});
