// What a run says about its time: the benchmark's progress line estimates how long it still needs
// (per test kind from the wall time its steps took, an unseen kind at the ratio of every kind so
// far).
import { strict as assert } from "node:assert";
import { durationText, etaText, remainingSeconds } from "../../../../core/bench/eta";

describe("the time a run has left", () => {
    // TCP steps of 2 nominal seconds took 3 s each (1.5x); ICMP steps of 2 s took 5 s each (2.5x).
    const done = [
        { test: "tcp", nominal: 2, seconds: 3 },
        { test: "tcp", nominal: 2, seconds: 3 },
        { test: "icmp", nominal: 2, seconds: 5 },
    ];

    it("costs each pending step at its own kind's measured ratio", () => {
        const pending = [
            { test: "tcp", nominal: 2 },
            { test: "icmp", nominal: 2 },
            { test: "icmp", nominal: 4 },
        ];
        assert.equal(remainingSeconds(done, pending), 3 + 5 + 10);
    });

    it("costs a kind not measured yet at the ratio over every step so far", () => {
        // (3 + 3 + 5) / (2 + 2 + 2) = 11/6 of its nominal seconds.
        assert.equal(remainingSeconds(done, [{ test: "rr", nominal: 6 }]), 11);
    });

    it("has no estimate before the first step, and none left after the last", () => {
        assert.equal(remainingSeconds([], [{ test: "tcp", nominal: 2 }]), undefined);
        assert.equal(etaText([], [{ test: "tcp", nominal: 2 }]), "");
        assert.equal(remainingSeconds(done, []), 0);
    });

    it("says what a precision-driven estimate assumes", () => {
        const pending = Array.from({ length: 100 }, () => ({ test: "tcp", nominal: 2 }));
        assert.equal(etaText(done, pending), "about 5 min left");
        // 100 steps of 3 s this round, then 10 open cells for 4 more rounds: 40 steps more at most.
        const cap = { steps: Array.from({ length: 40 }, () => ({ test: "tcp", nominal: 2 })), repetitions: 15 };
        assert.equal(etaText(done, pending, cap), "about 5 min left in this round, at most 7 min if every open cell runs to 15 repetitions");
    });

    it("rounds as an estimate should", () => {
        assert.equal(durationText(2), "about 5 s");
        assert.equal(durationText(43), "about 45 s");
        assert.equal(durationText(600), "about 10 min");
        assert.equal(durationText(9000), "about 2.5 h");
    });
});
