// Attacks on Nat: another program creates or replaces a table of the same name between netbed's
// ownership check and its write or delete (injected deterministically by an `nft` on PATH that
// does so just before the real one runs); a port forward that would take over the SSH port netbed
// manages a host through.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MemoryLogger } from "../../providers/runtime/log";
import { natHandler } from "../../providers/resources/nat";
import { NetbedProvider } from "../../providers/runtime/provider";
import { handlers } from "../../providers/resources/index";
import { NatArgsSchema } from "../../schema/nat";
import { dropNetns, must, uniq } from "../helpers";
import { handlerCtx } from "../helpers/ctx";

const URN = "urn:pulumi:attack::nat::netbed:index:Nat::nat";
const TABLE = "netbed_nat";
/** Someone else's table of the name netbed uses, with a rule netbed would never write. */
const FOREIGN = `table ip ${TABLE} {\n comment "someone else"\n chain input { type filter hook input priority 0; policy accept; tcp dport 4242 accept; }\n}\n`;

describe("attack: Nat", function () {
    this.timeout(60_000);
    const ns = `s11n-nat-${uniq()}`;
    const savedPath = process.env.PATH;
    let shimDir = "";
    let realNft = "";
    const nft = (...argv: string[]) => must(["ip", "netns", "exec", ns, realNft, ...argv]);
    const args = NatArgsSchema.parse({ host: { kind: "netns", name: "router", namespace: ns }, table: TABLE, masquerade: [{ outInterface: "lo" }] });

    /** The next `nft <first>` netbed runs is preceded by `script` (run by the real nft in the same namespace). */
    const raceBefore = (first: string, script: string) => {
        fs.writeFileSync(path.join(shimDir, "race.nft"), script);
        fs.writeFileSync(
            path.join(shimDir, "nft"),
            `#!/bin/sh\nif [ "$1" = "${first}" ] && [ -e ${shimDir}/race.nft ]; then\n  ${realNft} -f ${shimDir}/race.nft || exit 99\n  rm ${shimDir}/race.nft\nfi\nexec ${realNft} "$@"\n`,
            { mode: 0o755 },
        );
    };
    const assertForeignIntact = () => {
        const listed = nft("list", "table", "ip", TABLE);
        assert.match(listed, /comment "someone else"/);
        assert.match(listed, /tcp dport 4242 accept/);
        assert.ok(!fs.existsSync(path.join(shimDir, "race.nft")), "the race was injected");
    };

    before(() => {
        shimDir = fs.mkdtempSync(path.join(os.tmpdir(), "s11n-nat-shim-"));
        realNft = must(["sh", "-c", "command -v nft"]).trim();
        must(["ip", "netns", "add", ns]);
        process.env.PATH = `${shimDir}:${savedPath}`;
    });
    afterEach(() => nft("flush", "ruleset"));
    after(() => {
        process.env.PATH = savedPath;
        dropNetns(ns);
        fs.rmSync(shimDir, { recursive: true, force: true });
    });

    it("create: a table of the name created after the check is refused, not deleted", async () => {
        raceBefore("-f", FOREIGN);
        await assert.rejects(
            natHandler.create(handlerCtx("Nat", "nat", { project: "nat", stack: "attack" }), args),
            /table ip netbed_nat already exists and is not this resource's \(its comment is 'someone else'\)/,
        );
        assertForeignIntact();
    });

    it("update: this resource's table replaced by another after the check is refused, not deleted", async () => {
        const c = handlerCtx("Nat", "nat", { project: "nat", stack: "attack" });
        const made = await natHandler.create(c, args);
        raceBefore("-f", `delete table ip ${TABLE}\n${FOREIGN}`);
        await assert.rejects(natHandler.update(c, made.id, made.outs, args), /is not this resource's \(its comment is 'someone else'\)/);
        assertForeignIntact();
    });

    it("delete: this resource's table replaced by another after the check is left as it is", async () => {
        const c = handlerCtx("Nat", "nat", { project: "nat", stack: "attack" });
        const made = await natHandler.create(c, args);
        raceBefore("delete", `delete table ip ${TABLE}\n${FOREIGN}`);
        await natHandler.delete(c, made.id, made.outs);
        assertForeignIntact();
        assert.match(c.log.lines.join("\n"), /was deleted or replaced by another program while netbed deleted it: left as it is/);
    });

    it("a forward of an SSH host's management port is refused at check, naming the field and the fix", async () => {
        const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
        // An address nothing answers on: the check must not need the host.
        const sshHost = (port: number) => ({
            kind: "ssh",
            name: "router",
            ssh: {
                host: "192.0.2.1",
                port,
                privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n",
                hostKeyFingerprint: `SHA256:${"B".repeat(43)}`,
            },
        });
        const check = (port: number, forward: Record<string, unknown>) =>
            p.check(URN, {}, { host: sshHost(port), hostTools: ["nft"], forwards: [{ to: "10.0.3.2", ...forward }] });
        const refused = await check(22, { protocol: "tcp", port: 22 });
        assert.deepEqual(
            refused.failures?.map((f) => f.property),
            ["forwards[0].port"],
        );
        assert.match(
            refused.failures![0].reason,
            /tcp port 22 is the port netbed manages host 'router' through \(its ssh\.port\).*forward another port instead \(e\.g\. port: 2222, toPort: 22\)/,
        );
        assert.deepEqual((await check(2222, { protocol: "tcp", port: 2222, toPort: 22 })).failures?.[0]?.property, "forwards[0].port");
        assert.equal((await check(2222, { protocol: "tcp", port: 22 })).failures, undefined, "22 is not the management port there");
        assert.equal((await check(22, { protocol: "udp", port: 22 })).failures, undefined, "SSH is TCP");
    });
});
