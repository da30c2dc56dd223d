// Two hosts joined by a veth "wire" with an address on each end: the smallest netbed testbed.
import * as pulumi from "@pulumi/pulumi";
import * as netbed from "netbed";

function program() {
    const cfg = new pulumi.Config();
    const prefix = cfg.get("prefix") ?? "nbx";
    const subnet = cfg.get("subnet") ?? "10.99.0";
    const left = new netbed.Host("left", { kind: "netns", namespace: `${prefix}-left` });
    const right = new netbed.Host("right", { kind: "netns", namespace: `${prefix}-right` });
    const wire = new netbed.VethPair("wire", {
        a: { host: left, name: "eth0", addresses: [`${subnet}.1/24`] },
        b: { host: right, name: "eth0", addresses: [`${subnet}.2/24`] },
        mtu: 9000,
    });
    return { namespaces: [left.namespace, right.namespace], observed: wire.observed };
}

// Pulumi's program runner calls a function the module exports as a whole (a CommonJS module's
// `default` export is not called).
export = program;
