import { strict as assert } from "node:assert";
import { upPhases } from "../../../perf/cold";

describe("cold-path bench: phases from `up`'s output", () => {
    it("spans each phase from its first 'creating' to its last 'created', after the preview", () => {
        const at = (s: number, text: string) => ({ at: s, text });
        const lines = [
            at(1, " +  netbed:index:Kernel local-server-kernel create "),
            at(2, "Updating (cold1):"),
            at(3, " +  netbed:index:Host local-server creating (0s) "),
            at(4, " +  netbed:index:Host local-server created (1s) host 'server': guests run under TCG"),
            at(5, " +  netbed:index:Kernel local-server-kernel creating (0s) "),
            at(6, " +  netbed:index:Tap local-server-tap0 creating (0s) "),
            at(7, " +  netbed:index:Bridge local-server-br0 created (0.11s) 'br0' on host 'server' configured"),
            at(8, " +  netbed:index:Tap local-server-tap0 created (2s) "),
            at(905, " +  netbed:index:Kernel local-server-kernel created (15m0s) built 6.1.192"),
        ];
        const p = upPhases(lines);
        assert.deepEqual(Object.keys(p).sort(), ["fabric", "kernel", "probe"]);
        assert.equal(p.kernel.seconds, 900);
        assert.equal(p.fabric.start, 6);
        assert.equal(p.fabric.seconds, 2);
        assert.equal(p.probe.seconds, 1);
    });
});
