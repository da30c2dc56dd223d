// The shared ip batch on a host whose netlink dump is interrupted (a fake transport).
import { strict as assert } from "node:assert";
import { runIp } from "../../../../providers/hostops/ipbatch";
import type { RunResult, Transport } from "../../../../providers/transport";

const LO =
    '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK"],"mtu":65536,"qdisc":"noop","operstate":"DOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00"}]';

describe("shared ip batch: an interrupted netlink dump", () => {
    it("asks the batch's queries again (read-only), keeps the changes' results, and gives up after 3 asks", async () => {
        // A host whose ip answers a query without the address while the dump is interrupted.
        const batches: string[] = [];
        let interruptions = 1;
        const full = '[{"ifindex":4,"ifname":"br0","addr_info":[{"local":"10.0.0.1"}]}]';
        const partial = '[{"ifindex":4,"ifname":"br0","addr_info":[]}]';
        const fake: Transport = {
            label: "fake",
            async run(_argv, opts): Promise<RunResult> {
                const lines = String(opts?.stdin ?? "")
                    .trim()
                    .split("\n");
                batches.push(lines.filter((l) => l !== "addr show dev lo").join("; "));
                const interrupted = interruptions-- > 0;
                const out = lines.map((l) => (l === "addr show dev lo" ? LO : l.startsWith("addr show") ? (interrupted ? partial : full) : "")).filter(Boolean);
                return { code: 0, stdout: `${out.join("\n")}\n`, stderr: interrupted ? "Dump was interrupted and may be inconsistent.\n" : "" };
            },
            putFile: async () => undefined,
            getFile: async () => Buffer.from(""),
            close: async () => undefined,
            connectUnix: async () => {
                throw new Error("not used by ip batches");
            },
        };
        const [change, query] = await Promise.all([
            runIp(fake, ["ip", "link", "set", "dev", "br0", "up"]),
            runIp(fake, ["ip", "-json", "addr", "show", "dev", "br0"]),
        ]);
        assert.equal(change.code, 0);
        assert.equal(JSON.parse(query.stdout)[0].addr_info[0].local, "10.0.0.1");
        assert.deepEqual(batches, ["link set dev br0 up; addr show dev br0", "addr show dev br0"], "only the query is asked again");

        interruptions = 10;
        batches.length = 0;
        const stubborn = await runIp(fake, ["ip", "-json", "addr", "show", "dev", "br0"]);
        assert.equal(batches.length, 4);
        assert.equal(JSON.parse(stubborn.stdout)[0].addr_info.length, 0);
    });
});
