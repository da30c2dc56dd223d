// The sim-e2288g stack derived from the xeon-e2288g file (pure: no machines needed).
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { AGENT_SOCKET, simE2288g } from "../../../core/sim";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require("js-yaml");
const xeon = yaml.load(fs.readFileSync(path.join(__dirname, "../../../stacks/Pulumi.xeon-e2288g.yaml"), "utf8")).config;
const fingerprints = { m1: "SHA256:m1", m2: "SHA256:m2" };

describe("sim-e2288g, derived from the xeon-e2288g file", () => {
    it("keeps the client's guest on m2 as a small TCG guest on the client's stand-in for enp1s0f0", () => {
        const { config } = simE2288g(xeon, fingerprints, { short: true });
        assert.equal(config["testbed:hosts"].client.ssh.agent, AGENT_SOCKET);
        assert.deepEqual(config["testbed:guests"].vms["vm-client"], {
            host: "client",
            vcpus: 1,
            memoryMiB: 256,
            accel: "tcg",
            pinning: { vcpus: [0] },
            nics: [{ backend: "macvtap", macvtap: "mvtap1", address: "10.10.1.20/24" }],
        });
        assert.deepEqual(config["testbed:fabric"].macvtaps.mvtap1, { host: "client", parent: "nic0", mode: "bridge" });
        // Its pair's two guests do not share a core (vm-virtio is on CPU 1).
        assert.deepEqual(config["testbed:guests"].vms["vm-virtio"].pinning, { vcpus: [1] });
    });

    it("keeps the cross-machine guest-to-guest pair in the short matrix, without the vhost-net one", () => {
        const { config } = simE2288g(xeon, fingerprints, { short: true });
        const pairs = config["testbed:benchmark"].pairs;
        assert.deepEqual(
            pairs.map((p: any) => p.label),
            ["bare-metal", "virtio", "macvtap", "guest-guest-remote"],
        );
        assert.deepEqual(pairs[3], {
            label: "guest-guest-remote",
            topology: "guest-guest",
            client: { vm: "vm-client", via: "server" },
            server: { vm: "vm-virtio" },
        });
    });
});
