// Nat on real namespaces: a client namespace reaches an external one through a router namespace
// whose netbed-owned nftables table masquerades it (the external side sees the router's address)
// and forwards a port back to it; refresh reads the rules back (drift), a table netbed did not
// create is never written over or deleted.
import { strict as assert } from "node:assert";
import { NFT_TABLE_KEYWORDS, renderNatRuleset } from "../../../../core/nat";
import { natHandler, nftMissingHere } from "../../../../providers/resources/nat";
import { NatArgsSchema } from "../../../../schema/nat";
import { dropNetns, must, netnsList, sh, uniq } from "../../../helpers";
import { handlerCtx } from "../../../helpers/ctx";

describe("Nat", function () {
    this.timeout(120_000);

    it("nft here takes none of the keywords check refuses as a table name, bare or quoted, and takes the names it allows", function () {
        const masquerade = [{ outInterface: "veth0" }];
        if (nftMissingHere()) this.skip();
        const ns = `natkw-${uniq()}`;
        must(["ip", "netns", "add", ns]);
        try {
            const nft = (...argv: string[]) => sh(["ip", "netns", "exec", ns, "nft", ...argv]).stderr;
            const script = (text: string) => sh(["ip", "netns", "exec", ns, "nft", "-c", "-f", "-"], text).stderr;
            const refused = (table: string) => /syntax error/.test(script(`create table ip ${table}\n`) + nft("list", "table", "ip", table));
            assert.deepEqual(
                [...NFT_TABLE_KEYWORDS].filter((w) => !refused(w)),
                [],
            );
            for (const w of ["filter", "nat", "netbed_fwd"]) assert.ok(!refused(w), w);
            assert.match(script(renderNatRuleset('"fwd"', "c", { masquerade, forwards: [] })), /syntax error, unexpected quoted string/);
            assert.match(nft("list", "table", "ip", '"fwd"'), /syntax error, unexpected quoted string/);
        } finally {
            dropNetns(ns);
        }
    });

    it("masquerades and forwards between real namespaces, reads drift back, owns only its table", async () => {
        const u = uniq();
        const [client, router, ext] = ["c", "r", "e"].map((r) => `nat20-${r}-${u}`);
        const exec = (ns: string, ...argv: string[]) => must(["ip", "netns", "exec", ns, ...argv]);
        try {
            for (const ns of [client, router, ext]) must(["ip", "netns", "add", ns]);
            // client 10.0.3.2/30 -- router 10.0.3.1/30 | router 192.0.2.1/24 -- ext 192.0.2.2/24.
            must(["ip", "link", "add", "nat20c", "netns", client, "type", "veth", "peer", "name", "nat20rc", "netns", router]);
            must(["ip", "link", "add", "nat20e", "netns", ext, "type", "veth", "peer", "name", "nat20re", "netns", router]);
            exec(client, "ip", "addr", "add", "10.0.3.2/30", "dev", "nat20c");
            exec(router, "ip", "addr", "add", "10.0.3.1/30", "dev", "nat20rc");
            exec(router, "ip", "addr", "add", "192.0.2.1/24", "dev", "nat20re");
            exec(ext, "ip", "addr", "add", "192.0.2.2/24", "dev", "nat20e");
            for (const [ns, devs] of [
                [client, ["lo", "nat20c"]],
                [router, ["lo", "nat20rc", "nat20re"]],
                [ext, ["lo", "nat20e"]],
            ] as const) {
                for (const d of devs) exec(ns, "ip", "link", "set", d, "up");
            }
            exec(client, "ip", "route", "add", "default", "via", "10.0.3.1");
            exec(router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
            // ext has no route to 10.0.3.0/30: only a translated packet can be answered.

            const host = { kind: "netns" as const, name: "router", namespace: router };
            const ctx = handlerCtx("Nat", "nat", { project: "nat20", stack: "nat" });
            const args = NatArgsSchema.parse(
                natHandler.defaults!(
                    {
                        host,
                        masquerade: [{ source: "10.0.3.0/30", outInterface: "nat20re" }],
                        forwards: [{ protocol: "tcp", port: 8080, to: "10.0.3.2", toPort: 80, inInterface: "nat20re" }],
                    },
                    "nat",
                    ctx.urn,
                    {},
                ),
            );
            // Someone else's table in the same namespace: never touched.
            must(["ip", "netns", "exec", router, "nft", "-f", "-"], "table ip other {\n chain c { type filter hook input priority 0; policy accept; }\n}\n");
            // Before the NAT exists, the client's connection cannot come back.
            const before = sh(["ip", "netns", "exec", client, "python3", "-c", probeClient("192.0.2.2", 9000, 2)]);
            assert.notEqual(before.code, 0, "no NAT yet: ext cannot answer 10.0.3.2");

            const c = await natHandler.create(ctx, args);
            assert.equal(c.outs.forwarding, true);
            assert.deepEqual(c.outs.drift, []);
            assert.deepEqual(c.outs.rules, args.rules, "read back exactly as declared");

            // Masquerade: ext sees the router's external address, not the client's.
            assert.equal(await roundTrip(ext, "0.0.0.0", 9000, client, "192.0.2.2"), "192.0.2.1");
            // Forward: ext connects to the router's 8080 and reaches the client's 80.
            assert.equal(await roundTrip(client, "0.0.0.0", 80, ext, "192.0.2.1", 8080), "192.0.2.2");

            // Drift: a rule removed and one added behind netbed's back.
            exec(router, "nft", "flush", "chain", "ip", args.table, "prerouting");
            exec(router, "nft", "add", "rule", "ip", args.table, "postrouting", "oifname", "lo", "counter");
            const r = (await natHandler.read(ctx, c.id, c.outs))!;
            const drift = (r.drift as string[]).join("\n");
            assert.match(drift, /missing: prerouting: iifname "nat20re" tcp dport 8080 dnat to 10\.0\.3\.2:80/);
            assert.match(drift, /not declared: postrouting: a rule netbed did not write/);
            assert.notDeepEqual(r.rules, args.rules, "the next up sees a diff and rewrites the table");
            const u2 = await natHandler.update(ctx, c.id, r, args);
            assert.deepEqual(u2.drift, []);
            assert.deepEqual((await natHandler.read(ctx, c.id, u2))!.drift, []);

            // Another resource (another stack, same table name) is refused, and does not delete it.
            const other = handlerCtx("Nat", "nat", { project: "nat20", stack: "otherstack" });
            await assert.rejects(
                natHandler.create(other, args),
                /table ip netbed_nat_[0-9a-f]{12} already exists and is not this resource's .*choose another `table`/,
            );
            await natHandler.delete(other, c.id, c.outs);
            assert.match(exec(router, "nft", "list", "tables"), /table ip netbed_nat/);
            assert.match(other.log.lines.join("\n"), /is no longer this resource's .*left as it is/);

            await natHandler.delete(ctx, c.id, u2);
            const tables = exec(router, "nft", "list", "tables");
            assert.doesNotMatch(tables, /netbed_nat/);
            assert.match(tables, /table ip other/, "a table netbed did not create survives");
            assert.equal(await natHandler.read(ctx, c.id, u2), undefined, "gone after delete");
            await natHandler.delete(ctx, c.id, u2); // idempotent
        } finally {
            for (const ns of [client, router, ext]) dropNetns(ns);
            assert.ok(![client, router, ext].some((ns) => netnsList().includes(ns)));
        }
    });
});

/** A python3 one-shot TCP client: connects, prints what the server says (its view of our address). */
function probeClient(addr: string, port: number, timeout: number): string {
    return `import socket,sys\ns=socket.create_connection((${JSON.stringify(addr)},${port}),timeout=${timeout})\nsys.stdout.write(s.recv(64).decode())`;
}

/**
 * A one-connection TCP server in `serverNs` that answers with the peer address it saw, and a client
 * in `clientNs`; returns what the client read. Both bounded by timeouts.
 */
async function roundTrip(serverNs: string, bind: string, port: number, clientNs: string, addr: string, connectPort = port): Promise<string> {
    const { spawn } = await import("node:child_process");
    const server = spawn("ip", [
        "netns",
        "exec",
        serverNs,
        "timeout",
        "10",
        "python3",
        "-c",
        `import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind((${JSON.stringify(bind)},${port}))\ns.listen(1)\nprint("ready",flush=True)\nc,a=s.accept()\nc.sendall(a[0].encode())\nc.close()`,
    ]);
    try {
        await new Promise<void>((resolve, reject) => {
            server.stdout.once("data", () => resolve());
            server.once("exit", (code) => reject(new Error(`server in ${serverNs} exited (${code})`)));
        });
        const r = sh(["ip", "netns", "exec", clientNs, "python3", "-c", probeClient(addr, connectPort, 5)]);
        if (r.code !== 0) throw new Error(`client in ${clientNs} -> ${addr}:${connectPort} failed: ${r.stderr}`);
        return r.stdout.trim();
    } finally {
        if (server.exitCode === null) server.kill();
    }
}
