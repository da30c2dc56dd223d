// Every input of every resource is either compared by diff() or declared not compared, with a
// reason: a new schema key left out of a hand-kept list would otherwise never be diffed. Every key
// a handler returns is declared by its inputs or outputs schema (the provider refuses any other),
// and every SDK class shows each output of its schema as a field (checked by tsc, below).
import * as assert from "node:assert";
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { TOKENS } from "../../core/tokens";
import { MemoryLogger } from "../../providers/runtime/log";
import { handlers } from "../../providers/resources/index";
import { NetbedProvider } from "../../providers/runtime/provider";
import { type ResourceHandler, inputKeys, undeclaredKeys } from "../../providers/runtime/resource";
import type { BenchmarkRunOutputs, BenchmarkRunState } from "../../schema/benchmark";
import type { BridgeOutputs, BridgeState } from "../../schema/bridge";
import type { HostOutputs, HostState } from "../../schema/host";
import type { GuestImageOutputs, GuestImageState } from "../../schema/image";
import type { KernelOutputs, KernelState } from "../../schema/kernel";
import type { MacvtapLinkOutputs, MacvtapLinkState } from "../../schema/macvtap";
import type { MicroVmOutputs, MicroVmState } from "../../schema/microvm";
import type { NatOutputs, NatState } from "../../schema/nat";
import type { SecurityProfileOutputs, SecurityProfileState } from "../../schema/security";
import type { TapOutputs, TapState } from "../../schema/tap";
import type { HostTuningOutputs, HostTuningState } from "../../schema/tuning";
import type { VethPairOutputs, VethPairState } from "../../schema/veth";
import type { BenchmarkRun } from "../../sdk/benchmark";
import type { Bridge } from "../../sdk/bridge";
import type { Host } from "../../sdk/host";
import type { GuestImage } from "../../sdk/image";
import type { Kernel } from "../../sdk/kernel";
import type { MacvtapLink } from "../../sdk/macvtap";
import type { MicroVm } from "../../sdk/microvm";
import type { Nat } from "../../sdk/nat";
import type { SecurityProfile } from "../../sdk/security";
import type { Tap } from "../../sdk/tap";
import type { HostTuning } from "../../sdk/tuning";
import type { VethPair } from "../../sdk/veth";

describe("handler tables", () => {
    for (const [type, h] of Object.entries(handlers)) {
        describe(type, () => {
            const keys = inputKeys(h.schema);
            const diffed = (k: string) => h.properties.some((p) => p === k || p.startsWith(`${k}.`));

            it("diffs each schema key or says why not", () => {
                const missing = keys.filter((k) => !diffed(k) && !(h.notDiffed && k in h.notDiffed));
                assert.deepEqual(missing, [], `${type}: inputs neither diffed nor declared not diffed`);
            });

            it("declares only real inputs not diffed, and diffs none of them", () => {
                for (const [k, why] of Object.entries(h.notDiffed ?? {})) {
                    assert.ok(keys.includes(k), `${type}: '${k}' is not an input`);
                    assert.ok(!diffed(k), `${type}: '${k}' is declared not diffed, yet diffed`);
                    assert.ok(why.length > 0, `${type}: '${k}' needs a reason`);
                }
            });

            it("replaces only on compared properties; a replace-only resource replaces on all and has no update", () => {
                for (const r of h.replaceOn)
                    assert.ok(
                        h.properties.some((p) => p === r || p.startsWith(`${r}.`)),
                        `${type}: replaceOn '${r}' is not compared`,
                    );
                if (h.replaceOnly) {
                    assert.deepEqual([...h.replaceOn].sort(), [...h.properties].sort());
                    assert.equal(h.update, undefined);
                } else assert.equal(typeof h.update, "function");
            });

            it("has an outputs schema apart from its inputs: no output is also an input", () => {
                const outs = inputKeys(h.outputs);
                assert.ok(outs.length > 0, `${type}: no outputs`);
                assert.deepEqual(
                    outs.filter((k) => keys.includes(k)),
                    [],
                    `${type}: outputs that are inputs too`,
                );
                assert.deepEqual(undeclaredKeys(h, Object.fromEntries([...keys, ...outs].map((k) => [k, 1]))), []);
            });
        });
    }

    it("registers one handler per resource type of the token table (Testbed is a component)", () => {
        const { Testbed: _, ...custom } = TOKENS;
        assert.deepEqual(Object.keys(handlers).sort(), Object.values(custom).sort());
    });
});

describe("handler results", () => {
    const urn = "urn:pulumi:s::p::netbed:index:Echo::e";
    /** A handler that echoes its inputs with the outputs it is given. */
    const echo = (outs: Record<string, unknown>): ResourceHandler => ({
        schema: z.object({ name: z.string() }).strict(),
        outputs: z.object({ size: z.number() }).strict(),
        properties: ["name"],
        replaceOn: [],
        create: async (_ctx, i) => ({ id: "e", outs: { ...i, ...outs } }),
        read: async (_ctx, _id, state) => ({ ...state, ...outs }),
        update: async (_ctx, _id, _olds, news) => ({ ...news, ...outs }),
        delete: async () => undefined,
    });
    const provider = (outs: Record<string, unknown>) => new NetbedProvider("0.0.0-test", { "netbed:index:Echo": echo(outs) }, new MemoryLogger());

    it("a create, read or update result that carries a key neither schema declares fails, naming it", async () => {
        const p = provider({ size: 1, stray: true });
        const named = /Echo 'e' returned 'stray', which neither its inputs nor its outputs schema declares/;
        await assert.rejects(p.create(urn, { name: "e" }), named);
        await assert.rejects(p.read("e", urn, { name: "e", size: 1 }), named);
        await assert.rejects(p.update("e", urn, { name: "e", size: 1 }, { name: "f" }), named);
    });

    it("declared outputs pass, and state read back is validated against the outputs schema", async () => {
        const p = provider({ size: 1 });
        assert.deepEqual((await p.create(urn, { name: "e" })).outs, { name: "e", size: 1 });
        await assert.rejects(p.read("e", urn, { name: "e", size: "big" }), /Echo 'e': the resource's state does not match its schema/);
    });

    it("a state the schemas refuse still deletes, as recorded and with a warning: destroy is never blocked by it", async () => {
        const deleted: unknown[] = [];
        const log = new MemoryLogger();
        const h = { ...echo({ size: 1 }), delete: async (_ctx: unknown, _id: string, state: unknown) => void deleted.push(state) };
        const p = new NetbedProvider("0.0.0-test", { "netbed:index:Echo": h }, log);
        await p.delete("e", urn, { name: "e", size: "big" });
        assert.deepEqual(deleted, [{ name: "e", size: "big" }]);
        assert.deepEqual(log.lines, [
            "warn: netbed:index:Echo 'e': the resource's state does not match its schema (written by another netbed version?): size: Expected number, received string; deleting it with the state as recorded",
        ]);
        await p.delete("e", urn, { name: "e", size: 2 });
        assert.deepEqual(deleted[1], { name: "e", size: 2 });
    });
});

// The SDK classes' output fields against the schemas, checked by tsc: `missing` lists outputs a
// class does not show (besides those it keeps to the provider), `extra` fields that are no key of the
// state (besides fields the class computes itself). A class whose fields drift from its schema fails
// to compile here.
type OutputFields<C> = { [K in keyof C]-?: C[K] extends pulumi.Output<unknown> ? K : never }[keyof C];
type Shows<C, O, S, Hidden extends PropertyKey = never, Computed extends PropertyKey = never> = {
    missing: Exclude<keyof O, OutputFields<C> | Hidden>;
    extra: Exclude<OutputFields<C>, keyof S | "urn" | "id" | Computed>;
};
const exact = <T extends { missing: never; extra: never }>(): T[] => [];

describe("SDK classes", () => {
    it("show each output of their schema as a field, and no field that is not state (tsc checks the type arguments)", () => {
        const checked = [
            exact<Shows<Host, HostOutputs, HostState, never, "placement">>(),
            exact<Shows<Bridge, BridgeOutputs, BridgeState>>(),
            exact<Shows<Tap, TapOutputs, TapState>>(),
            exact<Shows<MacvtapLink, MacvtapLinkOutputs, MacvtapLinkState>>(),
            exact<Shows<VethPair, VethPairOutputs, VethPairState>>(),
            exact<Shows<Kernel, KernelOutputs, KernelState>>(),
            exact<Shows<GuestImage, GuestImageOutputs, GuestImageState>>(),
            // The VMM's start time only tells the provider that a pid is still the VMM.
            exact<Shows<MicroVm, MicroVmOutputs, MicroVmState, "startTime">>(),
            // Where the profile's files are is the provider's business.
            exact<Shows<SecurityProfile, SecurityProfileOutputs, SecurityProfileState, "profileDir", "placement">>(),
            exact<Shows<HostTuning, HostTuningOutputs, HostTuningState>>(),
            exact<Shows<Nat, NatOutputs, NatState>>(),
            exact<Shows<BenchmarkRun, BenchmarkRunOutputs, BenchmarkRunState>>(),
        ];
        assert.equal(checked.length, Object.keys(handlers).length, "a resource type without its check here");
    });
});
