// QMP: the query-stats reply parsed (the TCG reply recorded here from QEMU 7.2; the KVM one in the shape
// of QEMU's qapi/stats.json StatsResult, as no KVM host is at hand), and the framing of replies and events.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { KVM_EXITS_QUERY, QmpFramer, encode, parseCpusFast, parseKvmExits, replyTo } from "../../../core/qmp";

const fx = (f: string) => fs.readFileSync(path.join(__dirname, "..", "..", "fixtures", "qmp", f), "utf8");

describe("QMP: KVM exits from query-stats (core/qmp)", () => {
    it("parses query-stats: the vCPUs' exit counters summed; none under TCG", () => {
        assert.deepEqual(KVM_EXITS_QUERY.arguments, { target: "vcpu", providers: [{ provider: "kvm", names: ["exits"] }] });
        assert.equal(parseKvmExits(JSON.parse(fx("query-stats-kvm.json")).return), 1843211 + 920114);
        const tcg = fx("query-stats-tcg.jsonl")
            .trim()
            .split("\n")
            .map((l) => JSON.parse(l));
        assert.equal(tcg[0].QMP.version.qemu.major, 7);
        assert.equal(parseKvmExits(tcg[1].return), undefined);
        assert.throws(() => parseKvmExits({}), /query-stats: expected a list/);
    });
});

describe("QMP framing (core/qmp)", () => {
    it("QMP: frames split across reads, events skipped, errors carry QEMU's class and text", () => {
        const f = new QmpFramer();
        assert.deepEqual(f.push('{"QMP": {"version": {}}}\n{"ret'), [{ QMP: { version: {} } }]);
        const msgs = f.push(
            'urn": {}, "id": "a"}\n{"event": "NIC_RX_FILTER_CHANGED"}\n{"return": [{"cpu-index": 1, "thread-id": 4321, "qom-path": "/machine/unattached/device[1]"}, {"cpu-index": 0, "thread-id": 4320}], "id": "b"}\n',
        );
        assert.deepEqual(replyTo("a", "qmp_capabilities", msgs), { done: true, value: {} });
        assert.deepEqual(parseCpusFast(replyTo("b", "query-cpus-fast", msgs).value), [
            { index: 1, thread: 4321 },
            { index: 0, thread: 4320 },
        ]);
        assert.deepEqual(replyTo("c", "x", msgs), { done: false });
        assert.throws(
            () => replyTo("e", "query-foo", [{ id: "e", error: { class: "CommandNotFound", desc: "The command query-foo has not been found" } }]),
            /QMP query-foo failed: CommandNotFound: The command query-foo has not been found/,
        );
        assert.throws(() => parseCpusFast([{ "cpu-index": 0 }]), /lacks cpu-index or thread-id/);
        assert.equal(encode({ execute: "query-cpus-fast", id: "x" }), '{"execute":"query-cpus-fast","id":"x"}\n');
    });
});
