import { strict as assert } from "node:assert";
import { displayArgv, renderForSsh, shQuote } from "../../../core/argv";
import { sh } from "../../helpers";

describe("argv rendering for SSH", () => {
    const hostile = ["plain", "with space", "it's", "$(touch /tmp/pwned)", "`id`", "a;b|c&d", "\n", "", "*", "'\"'"];

    it("single-quotes every word", () => {
        assert.equal(shQuote("it's"), `'it'\\''s'`);
        assert.equal(renderForSsh(["echo", "a b"]), `'echo' 'a b'`);
        assert.equal(renderForSsh(["env"], { A: "1" }), `env 'A=1' 'env'`);
        assert.equal(renderForSsh(["pwd"], undefined, "/tmp/a b"), `cd '/tmp/a b' && 'pwd'`);
    });

    it("a real POSIX shell sees exactly the argv, whatever the words contain", () => {
        const line = renderForSsh(["printf", "%s\\0", ...hostile]);
        const r = sh(["sh", "-c", line]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.stdout.split("\0").slice(0, -1), hostile);
    });

    it("refuses bad environment names and NUL bytes", () => {
        assert.throws(() => renderForSsh(["x"], { "A;B": "1" }), /invalid environment variable name/);
        assert.throws(() => shQuote("a\0b"), /NUL/);
        assert.throws(() => renderForSsh([]), /empty/);
    });

    it("displays argv readably", () => {
        assert.equal(displayArgv(["ip", "link", "add", "a b"]), `ip link add 'a b'`);
    });
});
