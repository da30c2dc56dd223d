// Reads another stack's benchmark results through a StackReference, checks them against netbed's
// published schema and recomputes the headline summary, and declares one netbed resource of its
// own (this machine as a `local` Host: nothing is created, its probe is read) through the plugin
// registered from node_modules.
import * as pulumi from "@pulumi/pulumi";
import * as netbed from "netbed";

function program() {
    const cfg = new pulumi.Config();
    // With a file (DIY) backend a stack's fully qualified name is organization/<project>/<stack>;
    // the checkout's default program is project `testbed`.
    const producer = cfg.get("producer") ?? "organization/testbed/local";
    const ref = new pulumi.StackReference(producer);
    const results = ref.requireOutput("results").apply((doc) => {
        const r = netbed.ResultsDocSchema.safeParse(doc);
        if (!r.success)
            throw new Error(
                `stack ${producer}: 'results' is not a netbed results document: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
            );
        return r.data;
    });
    const here = new netbed.Host("here", { kind: "local" });
    return {
        producer,
        results,
        summary: results.apply(netbed.summarizeResults),
        failedCells: results.apply((doc) => doc.cells.filter((c) => c.status !== "ok").map((c) => `${c.pair}/${c.cell}`)),
        readOn: here.probe.apply((p) => ({ cpu: p.cpuModel, cores: p.cores, kernel: p.kernelRelease })),
    };
}

// Pulumi's program runner calls a function the module exports as a whole (a CommonJS module's
// `default` export is not called).
export = program;
