// Power of compare's rule under the realistic noise model (core/ab/power.ts).
import { strict as assert } from "node:assert";
import { power, repetitionsFor } from "../../../../core/ab/power";

describe("power of the A/B rule (core/ab/power)", () => {
    it("never falls when a repetition is added: a 10% change at CV 5%, threshold 5%, alpha 0.01", () => {
        const ns = [5, 6, 8, 10, 15, 20];
        const p = ns.map((n) => power(n, 0.05, 0.1, { trials: 300, seed: 5 }));
        for (let i = 1; i < ns.length; i++) assert.ok(p[i] >= p[i - 1], `n ${ns[i - 1]} -> ${ns[i]}: ${p[i - 1]} -> ${p[i]}`);
        assert.ok(p[0] < 0.5 && p[ns.length - 1] > 0.85, p.join(", "));
    });

    it("bad repetitions and drift cost power that normal noise would not show; below 5 repetitions nothing is called", () => {
        const clean = power(5, 0.02, 0.1, { trials: 300, noise: { bad: 0, badFactor: 2, drift: 0 } });
        const real = power(5, 0.02, 0.1, { trials: 300 });
        assert.ok(clean > 0.9, `clean ${clean}`);
        assert.ok(real < clean - 0.1, `realistic ${real} vs clean ${clean}`);
        assert.equal(power(4, 0.001, 0.5, { trials: 50 }), 0);
    });

    it("recommends the fewest repetitions that reach the target under the realistic noise", () => {
        const n = repetitionsFor(0.05, 0.1, { trials: 300 });
        assert.ok(n !== null && n > 5, `${n}`);
        assert.ok(power(n, 0.05, 0.1, { trials: 300 }) >= 0.8);
        assert.ok(power(n - 1, 0.05, 0.1, { trials: 300 }) < 0.8);
        assert.equal(repetitionsFor(0.02, 0.05, { trials: 200, maxN: 12 }), null, "a true change equal to the threshold is called about half the time");
    });
});
