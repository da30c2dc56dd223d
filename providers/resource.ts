// What every netbed resource implements in the provider, and the context it runs with.
import { z } from "zod";
import type { Path } from "../core/secrets";
import type { CheckFailure, StandIn } from "../core/check";
import type { HostProbe } from "../core/probe";
import type { Logger } from "./log";
import type { Registry } from "./registry";

export interface Ctx {
    urn: string;
    /** The resource's Pulumi name (the last URN segment). */
    name: string;
    log: Logger;
}

export interface CreateOutcome {
    id: string;
    /** All outputs; they include the validated inputs so diff() can compare against state. */
    outs: Record<string, unknown>;
}

export interface ResourceHandler<I extends Record<string, unknown> = any> {
    /** The same zod schema the SDK class exposes: check() validates with it. */
    schema: z.ZodType<I, z.ZodTypeDef, unknown>;
    /** Input properties compared by diff(). */
    properties: readonly string[];
    /** Properties (or parents of dotted ones) whose change needs a new object. */
    replaceOn: readonly string[];
    /** Kernel objects with fixed names cannot exist twice: delete the old one first. */
    deleteBeforeReplace?: boolean;
    /** Paths always stored as secrets, in inputs and outputs. */
    secretPaths?: Path[];
    /** Fills defaults that depend on the resource's name or URN, before validation. Pure. */
    defaults?(inputs: Record<string, unknown>, name: string, urn: string): Record<string, unknown>;
    /**
     * An input the SDK fills from the Host's probe output (`field`, computed by `of`). When it is
     * not known yet (a first preview), check() fills it from a read-only probe of the host.
     */
    hostFacts?: { field: string; of(probe: HostProbe): unknown };
    /**
     * Valid stand-ins for inputs that are often not known at preview (paths of artifacts not built
     * yet), so the rest of the schema's checks (what the host can do) run before anything exists.
     */
    previewStandIn?(path: (string | number)[]): StandIn;
    /** Checks against the other resources of the stack (overlapping subnets, duplicate MACs). */
    crossCheck?(urn: string, inputs: I, registry: Registry): CheckFailure[];
    /**
     * Checks against this machine, for resources on hosts that are this machine (local, netns):
     * read-only (stat a path), because check() also runs for preview.
     */
    localCheck?(inputs: I): CheckFailure[];
    create(ctx: Ctx, inputs: I): Promise<CreateOutcome>;
    /**
     * Read-only, at every diff: why the object in `state` is gone (a process that died) and which
     * property to show as replaced, so the next `up` replaces it without a refresh first.
     */
    gone?(ctx: Ctx, state: Record<string, unknown>): Promise<{ property: string; reason: string } | undefined>;
    /** Observes the real thing; undefined when it no longer exists. */
    read(ctx: Ctx, id: string, state: Record<string, unknown>): Promise<Record<string, unknown> | undefined>;
    update(ctx: Ctx, id: string, olds: Record<string, unknown>, news: I): Promise<Record<string, unknown>>;
    /** Must succeed when the object is already gone. */
    delete(ctx: Ctx, id: string, state: Record<string, unknown>): Promise<void>;
}

/** The input keys of a resource schema (an object, possibly wrapped in refinements). */
export function inputKeys(schema: z.ZodTypeAny): string[] {
    let s: any = schema;
    while (s && !s.shape && s._def?.schema) s = s._def.schema;
    if (!s?.shape) throw new Error("schema is not an object schema");
    return Object.keys(s.shape);
}

/** Re-validates the inputs kept in a resource's state (its outputs include them). */
export function inputsFromState<I>(schema: z.ZodType<I, z.ZodTypeDef, unknown>, state: Record<string, unknown>): I {
    const keys = inputKeys(schema);
    return schema.parse(Object.fromEntries(keys.filter((k) => state[k] !== undefined).map((k) => [k, state[k]])));
}
