// Every input of every resource is either compared by diff() or declared not compared, with a
// reason: a new schema key left out of a hand-kept list would otherwise never be diffed.
import * as assert from "node:assert";
import { handlers } from "../providers/resources/index";
import { inputKeys } from "../providers/runtime/resource";

describe("handler tables", () => {
    for (const [type, h] of Object.entries(handlers)) {
        describe(type, () => {
            const keys = inputKeys(h.schema);
            const diffed = (k: string) => h.properties.some((p) => p === k || p.startsWith(`${k}.`));

            it("diffs each schema key or says why not", () => {
                const missing = keys.filter((k) => !diffed(k) && !(h.notDiffed && k in h.notDiffed));
                assert.deepEqual(missing, [], `${type}: inputs neither diffed nor declared not diffed`);
            });

            it("declares only real inputs not diffed, and diffs none of them", () => {
                for (const [k, why] of Object.entries(h.notDiffed ?? {})) {
                    assert.ok(keys.includes(k), `${type}: '${k}' is not an input`);
                    assert.ok(!diffed(k), `${type}: '${k}' is declared not diffed, yet diffed`);
                    assert.ok(why.length > 0, `${type}: '${k}' needs a reason`);
                }
            });

            it("replaces only on compared properties; a replace-only resource replaces on all and has no update", () => {
                for (const r of h.replaceOn)
                    assert.ok(
                        h.properties.some((p) => p === r || p.startsWith(`${r}.`)),
                        `${type}: replaceOn '${r}' is not compared`,
                    );
                if (h.replaceOnly) {
                    assert.deepEqual([...h.replaceOn].sort(), [...h.properties].sort());
                    assert.equal(h.update, undefined);
                } else assert.equal(typeof h.update, "function");
            });
        });
    }
});
