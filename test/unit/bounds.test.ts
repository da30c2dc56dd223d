// Bounds on what a run may ask and a host may send: a run's nominal time (with the figure in the
// error), command timeouts past Node's timer limit, and captured output.
import { strict as assert } from "node:assert";
import { MAX_RUN_NOMINAL_SECONDS, runNominalSeconds } from "../../core/bench/measure";
import { VOLT_MATRIX } from "../../core/bench/spec";
import { CappedOutput, LocalTransport, MAX_OUTPUT_BYTES, MAX_TIMER_MS, commandTimeoutMs } from "../../providers/transport";
import { BenchmarkRunArgsSchema } from "../../schema/benchmark";

const host = { kind: "local", name: "h" };
const args = (tests: unknown[], settings: Record<string, unknown> = {}, pairs = 1) => ({
    pairs: Array.from({ length: pairs }, (_, k) => ({ label: `p${k}`, client: { kind: "host", host }, server: { kind: "host", host, address: "127.0.0.1" } })),
    tests,
    settings,
    resultsDir: "/tmp/x",
});

describe("a run's nominal time is bounded in the schema", () => {
    it("the Volt matrix with its defaults is far below the bound", () => {
        const s = BenchmarkRunArgsSchema.parse(args(VOLT_MATRIX)).settings;
        const total = runNominalSeconds(1, VOLT_MATRIX, s);
        assert.ok(total > 0 && total < MAX_RUN_NOMINAL_SECONDS / 10, `${total} s`);
    });

    it("an ICMP cell of 100 000 x 60 s (69 days, past Node's timers) is refused with the figure", () => {
        const r = BenchmarkRunArgsSchema.safeParse(args([{ kind: "icmp", count: 100_000, interval: 60 }], { repetitions: 1, warmup: 0 }));
        assert.ok(!r.success);
        const issue = r.error.issues.find((i) => i.path.join(".") === "settings");
        assert.match(issue?.message ?? "", /would measure for 1666\.7 h .* over the 24 h a run may take/);
    });

    it("counts every pair, repetition and warm-up: 3 pairs x 30 x 3600 s is refused, 1 pair x 20 x 3600 s passes", () => {
        const tcp = [{ kind: "tcp" }];
        assert.equal(BenchmarkRunArgsSchema.safeParse(args(tcp, { duration: 3600, repetitions: 29, warmup: 1 }, 3)).success, false);
        assert.equal(BenchmarkRunArgsSchema.safeParse(args(tcp, { duration: 3600, repetitions: 19, warmup: 1 })).success, true);
    });

    it("counts precision-driven cells at their cap, and refuses 10^12 repetitions without listing them", () => {
        const tcp = [{ kind: "tcp" }];
        const precision = { relative: 0.1, confidence: 0.95, maxRepetitions: 24 };
        assert.equal(BenchmarkRunArgsSchema.safeParse(args(tcp, { duration: 3600, repetitions: 5, warmup: 1, precision })).success, false);
        assert.equal(
            BenchmarkRunArgsSchema.safeParse(args(tcp, { duration: 3600, repetitions: 5, warmup: 1, precision: { ...precision, maxRepetitions: 19 } })).success,
            true,
        );
        const huge = BenchmarkRunArgsSchema.safeParse(args(tcp, { repetitions: 1e12 }));
        assert.ok(!huge.success && huge.error.issues.some((i) => i.path.join(".") === "settings.repetitions"));
    });
});

describe("command timeouts and output are bounded in the transports", function () {
    this.timeout(60_000);
    it("a timeout past Node's timer limit is clamped, not fired at once", async () => {
        assert.equal(commandTimeoutMs({ timeoutMs: 6e9 }), MAX_TIMER_MS);
        assert.equal(commandTimeoutMs({}), 120_000);
        // Unclamped, Node turns 6e9 ms into 1 ms and the command is killed at once.
        const r = await new LocalTransport().run(["sleep", "0.3"], { timeoutMs: 6e9 });
        assert.equal(r.code, 0);
    });

    it("output past the cap kills the command with an error naming the host, the command and the stream", async () => {
        const t = new LocalTransport("'h' (local)");
        const bytes = MAX_OUTPUT_BYTES + 2 ** 20;
        await assert.rejects(
            t.run(["head", "-c", String(bytes), "/dev/zero"], { timeoutMs: 60_000 }),
            /on host 'h' \(local\): `head -c \d+ \/dev\/zero` printed more than 419430400 bytes on stdout and was killed/,
        );
    });

    it("keeps what came before the cap and stops collecting after it", () => {
        let killed = 0;
        const o = new CappedOutput("stderr", () => killed++, 10);
        o.push(Buffer.from("12345"));
        o.push(Buffer.from("67890"));
        assert.equal(o.text(), "1234567890");
        assert.equal(o.overflowed, false);
        o.push(Buffer.from("x"));
        o.push(Buffer.from("y"));
        assert.equal(o.overflowed, true);
        assert.equal(killed, 1);
        assert.match(o.reason(), /more than 10 bytes on stderr/);
    });
});
