// One measurement's command: a TCP_CRR cell counts transactions at the rate it measured last, so
// netserver does not wait out netperf's 4-s PAD_TIME after every measurement (pure, fake runner).
import { strict as assert } from "node:assert";
import { crrTransactions, measure } from "../../../../core/bench/measure";
import { RunSettingsSchema, expandCells } from "../../../../core/bench/spec";

const RESULT = "8000.00,Trans/s,50.00,50.00,125.000,125.000,usec/Tran,120.00,51,900\n";

async function argvOf(test: "TCP_RR" | "TCP_CRR", lastTps?: number): Promise<{ argv: string[]; transactions?: number }> {
    const [cell] = expandCells([{ kind: "rr", test, size: 1 }]);
    let argv: string[] = [];
    const m = await measure(
        cell,
        { address: "10.0.0.1" },
        { iperf3: 1, sockperf: 2, netserver: 3 },
        RunSettingsSchema.parse({ duration: 2 }),
        async (a) => {
            argv = a;
            return { code: 0, stdout: RESULT, stderr: "" };
        },
        lastTps,
    );
    assert.equal(m.metrics.tps, 8000);
    return { argv, transactions: m.volume?.transactions };
}

describe("netperf TCP_CRR by transaction count", () => {
    it("times a cell's first measurement, then counts its rate times the duration", async () => {
        const first = await argvOf("TCP_CRR");
        assert.equal(first.argv[first.argv.indexOf("-l") + 1], "2");
        const next = await argvOf("TCP_CRR", 4321.4);
        assert.equal(next.argv[next.argv.indexOf("-l") + 1], "-8643");
        assert.equal(next.transactions, 8643, "service demand divides by the transactions made");
    });

    it("leaves TCP_RR timed (it ends when netperf closes)", async () => {
        const rr = await argvOf("TCP_RR", 5000);
        assert.equal(rr.argv[rr.argv.indexOf("-l") + 1], "2");
        assert.equal(crrTransactions({ kind: "rr", test: "TCP_CRR", size: 1 }, 2, 0), undefined);
        assert.equal(crrTransactions({ kind: "rr", test: "TCP_CRR", size: 1 }, 2, 0.1), 1);
    });
});
