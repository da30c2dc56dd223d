// Nat's check on this machine, as preview runs it: a host without nft is refused naming the package.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { natHandler, nftMissingHere } from "../../../../providers/resources/nat";
import { NatArgsSchema } from "../../../../schema/nat";

describe("Nat check on this machine", () => {
    it("a host without nft is refused at preview, naming the package", () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "nat20-nonft-"));
        try {
            assert.equal(nftMissingHere([empty]), true);
            assert.equal(nftMissingHere(), false, "setup.sh installs nftables on this machine");
        } finally {
            fs.rmSync(empty, { recursive: true, force: true });
        }
        // The check itself, as preview runs it for a netns host on this machine (which has nft).
        const v = NatArgsSchema.parse({ host: { kind: "netns", name: "r", namespace: "x" }, table: "t", masquerade: [{ outInterface: "veth0" }] });
        assert.deepEqual(natHandler.localCheck!(v), []);
        assert.deepEqual(natHandler.localCheck!({ ...v, host: { kind: "ssh", name: "r", ssh: {} as any } }), [], "an SSH host is checked by its probe instead");
    });
});
