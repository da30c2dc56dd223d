// The Host's resource graph with Pulumi mocks: arguments reach the provider as given, and the
// outputs the SDK class declares are the ones the provider returns.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";

const created: { type: string; name: string; inputs: any }[] = [];

pulumi.runtime.setMocks(
    {
        newResource(args) {
            created.push({ type: args.type, name: args.name, inputs: args.inputs });
            return {
                id: `netns:${args.inputs.namespace ?? "x"}`,
                state: { ...args.inputs, connection: { kind: "netns", name: args.name, namespace: args.inputs.namespace }, probe: { cores: 2 } },
            };
        },
        call: () => ({}),
    },
    "netbed",
    "mock",
    false,
);

function value<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

describe("Host resource graph (mocks)", () => {
    it("registers netbed:index:Host with the given args and exposes the provider's outputs", async () => {
        const { Host } = await import("../sdk/host");
        const h = new Host("server", { kind: "netns", namespace: "nb-server", packages: ["iperf3"] });
        assert.deepEqual(await value(h.connection), { kind: "netns", name: "server", namespace: "nb-server" });
        assert.equal((await value(h.probe)).cores, 2);
        assert.equal(await value(h.id), "netns:nb-server");
        const reg = created.find((c) => c.name === "server")!;
        assert.equal(reg.type, "netbed:index:Host");
        assert.deepEqual(reg.inputs.packages, ["iperf3"]);
    });
});
