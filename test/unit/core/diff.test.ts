import { strict as assert } from "node:assert";
import { diffProperties } from "../../../core/diff";

describe("property diff", () => {
    const props = ["kind", "namespace", "ssh.host", "ssh.privateKey", "packages"];
    const replaceOn = ["kind", "namespace", "ssh.host"];
    it("updates in place for packages and keys, replaces for identity", () => {
        const a = { kind: "ssh", ssh: { host: "a", privateKey: "k1" }, packages: [] };
        assert.deepEqual(diffProperties(a, { ...a, packages: ["iperf3"] }, props, replaceOn), { changed: ["packages"], replaces: [] });
        assert.deepEqual(diffProperties(a, { ...a, ssh: { host: "a", privateKey: "k2" } }, props, replaceOn), { changed: ["ssh.privateKey"], replaces: [] });
        assert.deepEqual(diffProperties(a, { ...a, ssh: { host: "b", privateKey: "k1" } }, props, replaceOn), {
            changed: ["ssh.host"],
            replaces: ["ssh.host"],
        });
        assert.deepEqual(diffProperties(a, a, props, replaceOn), { changed: [], replaces: [] });
    });
});
