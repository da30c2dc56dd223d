// Each phase of an up is timed from its first operation's start to its last one's end.
import { strict as assert } from "node:assert";
import { PhaseClock, phaseOf, phasesText } from "../../../core/phases";

describe("the phases of an up", () => {
    it("spans each phase over its operations, which run in parallel, in the order an up runs them", () => {
        const clock = new PhaseClock();
        clock.record(phaseOf("netbed:index:MicroVm")!, 10_000, 35_000);
        clock.record(phaseOf("netbed:index:Host")!, 0, 900);
        clock.record(phaseOf("netbed:index:Host")!, 100, 1_200);
        clock.record(phaseOf("netbed:index:VethPair")!, 1_200, 1_500);
        clock.record(phaseOf("netbed:index:MicroVm")!, 11_000, 30_000);
        assert.deepEqual(clock.seconds(), { probe: 1.2, fabric: 0.3, boot: 25 });
        assert.equal(phasesText({ benchmark: 560, ...clock.seconds() }), "probe 1.2 s, fabric 0.3 s, boot 25.0 s, benchmark 560.0 s");
        assert.equal(phaseOf("netbed:index:Testbed"), undefined, "a component has no operation of its own");
    });
});
