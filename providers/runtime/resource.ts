// What every netbed resource implements in the provider, and the context it runs with.
import { ZodError, type z } from "zod";
import type { Path } from "../../core/secrets";
import type { CheckFailure, StandIn } from "../../core/check";
import type { HostProbe } from "../../core/probe";
import type { Logger } from "./log";
import type { Registry } from "./registry";

export interface Ctx {
    urn: string;
    /** The resource's Pulumi name (the last URN segment). */
    name: string;
    log: Logger;
    /** Seconds per phase of this provider process's operations so far (core/phases.ts). */
    phases?: () => Record<string, number>;
}

interface CreateOutcome<S> {
    id: string;
    /** The state: the validated inputs (so diff() can compare against them) and the outputs. */
    outs: S;
}

/**
 * A resource's handler, typed by its inputs `I` and outputs `O` (both from its schema file): it
 * returns and receives the state `I & O`, which the provider validates once where the engine hands
 * it over (`stateOf`).
 */
interface HandlerBase<I extends Record<string, unknown>, O extends Record<string, unknown>> extends DiffTable<I> {
    /** The outputs schema: every key create, read and update return besides the inputs. */
    outputs: z.ZodType<O, z.ZodTypeDef, unknown>;
    /** Kernel objects with fixed names cannot exist twice: delete the old one first. */
    deleteBeforeReplace?: boolean;
    /** Paths always stored as secrets, in inputs and outputs. */
    secretPaths?: Path[];
    /**
     * Fills defaults that depend on the resource's name or URN, before validation; `olds` are the
     * inputs in the state (none or empty for a new resource). Pure.
     */
    defaults?(inputs: Record<string, unknown>, name: string, urn: string, olds?: Record<string, unknown>): Record<string, unknown>;
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
    /** Checks of what the resource names after itself on its host (paths with its name and URN in them). Pure. */
    namedCheck?(urn: string, inputs: I): CheckFailure[];
    create(ctx: Ctx, inputs: I): Promise<CreateOutcome<I & O>>;
    /**
     * Read-only, at every diff: why the object in `state` is gone (a process that died) and which
     * property to show as replaced, so the next `up` replaces it without a refresh first.
     */
    gone?(ctx: Ctx, state: I & O): Promise<{ property: string; reason: string } | undefined>;
    /** Observes the real thing; undefined when it no longer exists. */
    read(ctx: Ctx, id: string, state: I & O): Promise<(I & O) | undefined>;
    /** Must succeed when the object is already gone. */
    delete(ctx: Ctx, id: string, state: I & O): Promise<void>;
}

/** A resource some of whose inputs change in place. */
export interface UpdatingHandler<I extends Record<string, unknown>, O extends Record<string, unknown>> extends HandlerBase<I, O> {
    replaceOnly?: false;
    update(ctx: Ctx, id: string, olds: I & O, news: I): Promise<I & O>;
}

/** A resource every input change replaces: the engine never asks it to update in place. */
export interface ReplaceOnlyHandler<I extends Record<string, unknown>, O extends Record<string, unknown>> extends HandlerBase<I, O> {
    replaceOnly: true;
    update?: never;
}

export type ResourceHandler<I extends Record<string, unknown> = any, O extends Record<string, unknown> = any> =
    | UpdatingHandler<I, O>
    | ReplaceOnlyHandler<I, O>;

/** What diff() compares for a resource, and which changes need a new object. */
export interface DiffTable<I extends Record<string, unknown>> {
    /** The same zod schema the SDK class exposes: check() validates with it. */
    schema: z.ZodType<I, z.ZodTypeDef, unknown>;
    /** Input properties compared by diff() (dotted paths for fields of an object input). */
    properties: readonly string[];
    /** Properties (or parents of dotted ones) whose change needs a new object. */
    replaceOn: readonly string[];
    /** Input keys diff() does not compare, each with the reason. */
    notDiffed?: Readonly<Record<string, string>>;
}

/** How a diff table is derived from a schema: every input key is compared unless said otherwise. */
export interface DiffSpec {
    /** Input keys not compared, each with the reason (an input filled from the host's probe, one that follows another). */
    notDiffed?: Readonly<Record<string, string>>;
    /** Object inputs compared field by field (`key.field`), so a change names the field and can replace on some only. */
    byField?: readonly string[];
    /** Keys the schema's transform adds to its output, compared too. */
    derived?: readonly string[];
}

/** The object schema inside optional, default and refinement wrappers, or undefined. */
function objectShape(schema: z.ZodTypeAny): Record<string, z.ZodTypeAny> | undefined {
    let s: any = schema;
    while (s && !s.shape) s = s._def?.schema ?? s._def?.innerType;
    return s?.shape;
}

/** The input keys of a resource schema (an object, possibly wrapped in refinements). */
export function inputKeys(schema: z.ZodTypeAny): string[] {
    const shape = objectShape(schema);
    if (!shape) throw new Error("schema is not an object schema");
    return Object.keys(shape);
}

function diffedProperties(schema: z.ZodTypeAny, spec: DiffSpec): string[] {
    const keys = inputKeys(schema);
    for (const k of [...Object.keys(spec.notDiffed ?? {}), ...(spec.byField ?? [])]) {
        if (!keys.includes(k)) throw new Error(`diff table names '${k}', which is not an input of the schema (${keys.join(", ")})`);
    }
    const shape = objectShape(schema)!;
    const props = keys
        .filter((k) => !(spec.notDiffed && k in spec.notDiffed))
        .flatMap((k) => {
            if (!spec.byField?.includes(k)) return [k];
            const fields = objectShape(shape[k]);
            if (!fields) throw new Error(`diff table compares '${k}' by field, but it is not an object`);
            return Object.keys(fields).map((f) => `${k}.${f}`);
        });
    return [...props, ...(spec.derived ?? [])];
}

/** A diff table whose `replaceOn` (properties, or parents of dotted ones) is a subset of what is compared. */
export function diffTable<I extends Record<string, unknown>>(
    schema: z.ZodType<I, z.ZodTypeDef, unknown>,
    spec: DiffSpec & { replaceOn: readonly string[] },
): DiffTable<I> & { replaceOnly: false } {
    const properties = diffedProperties(schema, spec);
    for (const r of spec.replaceOn) {
        if (!properties.some((p) => p === r || p.startsWith(`${r}.`)))
            throw new Error(`replaceOn names '${r}', which diff does not compare (${properties.join(", ")})`);
    }
    return { schema, properties, replaceOn: spec.replaceOn, notDiffed: spec.notDiffed, replaceOnly: false };
}

/** A diff table where every compared property replaces the object. */
export function replaceOnlyTable<I extends Record<string, unknown>>(
    schema: z.ZodType<I, z.ZodTypeDef, unknown>,
    spec: DiffSpec = {},
): DiffTable<I> & { replaceOnly: true } {
    const properties = diffedProperties(schema, spec);
    return { schema, properties, replaceOn: properties, notDiffed: spec.notDiffed, replaceOnly: true };
}

/** Re-validates the keys of one object schema (the inputs', or the outputs') kept in a resource's state. */
function keysFromState<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, state: Record<string, unknown>): T {
    const keys = inputKeys(schema);
    return schema.parse(Object.fromEntries(keys.filter((k) => state[k] !== undefined).map((k) => [k, state[k]])));
}

/** Re-validates the inputs kept in a resource's state (its outputs include them). */
export function inputsFromState<I>(schema: z.ZodType<I, z.ZodTypeDef, unknown>, state: Record<string, unknown>): I {
    return keysFromState(schema, state);
}

/** The keys of a handler's result that neither its inputs nor its outputs schema declares. */
export function undeclaredKeys(h: { schema: z.ZodTypeAny; outputs: z.ZodTypeAny }, state: object): string[] {
    const declared = new Set([...inputKeys(h.schema), ...inputKeys(h.outputs)]);
    return Object.keys(state).filter((k) => !declared.has(k));
}

/**
 * The typed state of a resource from what the engine hands back (a gRPC Struct, secrets unwrapped):
 * its inputs and outputs validated by their schemas, so no handler casts what it reads back.
 */
export function stateOf<I extends Record<string, unknown>, O extends Record<string, unknown>>(h: HandlerBase<I, O>, state: Record<string, unknown>): I & O {
    try {
        return { ...keysFromState(h.schema, state), ...keysFromState(h.outputs, state) };
    } catch (e) {
        const issues = e instanceof ZodError ? e.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") : (e as Error).message;
        throw new Error(`the resource's state does not match its schema (written by another netbed version?): ${issues}`);
    }
}
