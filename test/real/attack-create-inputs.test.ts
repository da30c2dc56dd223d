// Attack: a local user calls the provider's Create and Update directly (its gRPC port on 127.0.0.1
// takes calls without authentication, Pulumi's design) with inputs check() would refuse. The
// provider checks them again: the field is named and nothing is created or changed on the host.
import { strict as assert } from "node:assert";
import { MemoryLogger } from "../../providers/runtime/log";
import { handlers } from "../../providers/resources/index";
import { NetbedProvider } from "../../providers/runtime/provider";
import { dropNetns, must, uniq } from "../helpers";

const natUrn = (name: string) => `urn:pulumi:attack::inputs::netbed:index:Nat::${name}`;
/** Every input a handler reads, as check() would have returned them: the attacker's best chance. */
const nat = (host: unknown, table: string, forwards: unknown[] = []) => ({ host, table, masquerade: [{ outInterface: "lo" }], forwards, rules: [] });

describe("attack: create and update with inputs that never went through check", function () {
    this.timeout(60_000);
    const ns = `s11n-inp-${uniq()}`;
    const host = { kind: "netns", name: "router", namespace: ns };
    const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
    const tables = () => must(["ip", "netns", "exec", ns, "nft", "list", "tables"]);

    before(() => {
        must(["ip", "netns", "add", ns]);
        // Someone else's table in the same network stack.
        must(["ip", "netns", "exec", ns, "nft", "add", "table", "ip", "other"]);
    });
    after(() => dropNetns(ns));

    it("create: an nft command smuggled in the table name is refused, naming the field; no table is touched", async () => {
        const table = "x\nflush ruleset\ntable ip x";
        await assert.rejects(
            p.create(natUrn("nat"), nat(host, table)),
            /Nat 'nat': invalid inputs, nothing was done: table: '.*' must be an nftables table name/s,
        );
        assert.equal(tables().trim(), "table ip other");
    });

    it("create: a resource name check() refuses (it becomes paths) is refused; nothing is created", async () => {
        await assert.rejects(p.create(natUrn("../n"), nat(host, "n")), /the resource name '\.\.\/n' must not contain '\/'/);
        assert.equal(tables().trim(), "table ip other");
    });

    it("create: a forward of an SSH host's management port is refused before the host is contacted", async () => {
        const ssh = {
            host: "192.0.2.1",
            port: 22,
            user: "root",
            agent: true,
            hostKeyFingerprint: `SHA256:${"B".repeat(43)}`,
            connectTimeoutMs: 10_000,
            dialRetries: 3,
            keepaliveIntervalMs: 15_000,
        };
        await assert.rejects(
            p.create(natUrn("ssh"), nat({ kind: "ssh", name: "lab", ssh }, "t", [{ protocol: "tcp", port: 22, to: "10.0.3.2", toPort: 22 }])),
            /invalid inputs, nothing was done: forwards\[0\]\.port: tcp port 22 is the port netbed manages host 'lab' through/,
        );
    });

    it("update: inputs the schema's refinements refuse are refused; the table keeps its rules", async () => {
        const urn = natUrn("fwd");
        const inputs = nat(host, "fwd_t", [{ protocol: "tcp", port: 80, to: "10.0.3.2", toPort: 80 }]);
        const made = await p.create(urn, inputs);
        const before = must(["ip", "netns", "exec", ns, "nft", "list", "table", "ip", "fwd_t"]);
        const twice = { ...inputs, forwards: [...inputs.forwards, { protocol: "tcp", port: 80, to: "10.0.3.3", toPort: 80 }] };
        await assert.rejects(
            p.update(made.id, urn, made.outs, twice),
            /invalid inputs, nothing was done: forwards\[1\]\.port: tcp port 80 is already forwarded by forwards\[0\]/,
        );
        assert.equal(must(["ip", "netns", "exec", ns, "nft", "list", "table", "ip", "fwd_t"]), before);
        await p.delete(made.id, urn, made.outs);
    });
});
