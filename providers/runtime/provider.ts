// The netbed resource provider: dispatches Pulumi's CRUD calls to one handler per resource type.
import { PhaseClock, phaseOf } from "../../core/phases";
import type * as provider from "@pulumi/pulumi/provider";
import { type CheckFailure, checkWithSchema, propertyPath, withStandIns } from "../../core/check";
import { diffProperties } from "../../core/diff";
import { typeOfUrn, urnName } from "../../core/names";
import { type Path, containsUnknown, dropUndefined, unwrapSecrets, wrapSecretsAt } from "../../core/secrets";
import { HostConnectionSchema } from "../../schema/host";
import { HostFacts } from "./hostfacts";
import type { Logger } from "./log";
import { Registry } from "./registry";
import { type Ctx, type ResourceHandler, stateOf, undeclaredKeys } from "./resource";

/**
 * Every path to an SSH private key or a guest agent's key in a value: a host's connection rides in
 * the inputs of each resource placed on it (and of BenchmarkRun endpoints, which also carry their
 * guest's agent key), and must be secret there too even when the program passed it as plain text.
 */
export function keyPaths(v: unknown, at: Path = []): Path[] {
    if (Array.isArray(v)) return v.flatMap((x, i) => keyPaths(x, [...at, i]));
    if (!v || typeof v !== "object") return [];
    const isKey = (k: string) => (k === "privateKey" && at[at.length - 1] === "ssh") || (k === "key" && at[at.length - 1] === "agent");
    return Object.entries(v).flatMap(([k, x]) => (isKey(k) && typeof x === "string" ? [[...at, k]] : keyPaths(x, [...at, k])));
}

/**
 * Why a resource name cannot be used, or undefined: handlers put it in paths (a VM's run directory,
 * a benchmark's progress and results files) and in logs, so it must be one plain path segment.
 */
function resourceNameProblem(name: string): string | undefined {
    if (name === "." || name === ".." || name.includes("/"))
        return `'${name.slice(0, 80)}' must not contain '/' or be '.' or '..' (netbed uses it as a file name)`;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    if (/[\x00-\x1f\x7f]/.test(name)) return "must not contain control characters (newline, ...)";
    if (Buffer.byteLength(name, "utf8") > 200) return `is ${Buffer.byteLength(name, "utf8")} bytes long; netbed takes at most 200 (it becomes a file name)`;
    return undefined;
}

/**
 * A property bag from the engine (a gRPC Struct) with its secrets unwrapped: always an object, as
 * the engine sends no other kind for a resource's inputs or state.
 */
function plainBag(raw: unknown): { value: Record<string, unknown>; secretPaths: Path[] } {
    const { value, secretPaths } = unwrapSecrets(raw ?? {});
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`expected a property bag (an object), got ${typeof value}`);
    return { value: Object.fromEntries(Object.entries(value)), secretPaths };
}

function pick(obj: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
    return out;
}

export class NetbedProvider implements provider.Provider {
    private readonly registry = new Registry();
    private readonly facts = new HostFacts();
    /** Hosts already warned about as unreachable at check, so the warning shows once. */
    private readonly unprobed = new Set<string>();

    constructor(
        readonly version: string,
        private readonly handlers: Record<string, ResourceHandler>,
        private readonly log: Logger,
    ) {}

    /** Where this up's time went: each create and update, by phase. */
    private readonly clock = new PhaseClock();

    private handler(urn: string): ResourceHandler {
        const type = typeOfUrn(urn);
        const h = this.handlers[type];
        if (!h) throw new Error(`netbed provider ${this.version} does not know resource type '${type}'`);
        return h;
    }

    /** Every handler call's context: a name check() would refuse never reaches a handler (it becomes paths). */
    private ctx(urn: string): Ctx {
        const name = urnName(urn);
        const problem = resourceNameProblem(name);
        if (problem) throw new Error(`${typeOfUrn(urn)}: the resource name ${problem}: nothing was done`);
        return { urn, name, log: this.log, phases: () => this.clock.seconds() };
    }

    /** Inputs as the schema takes them: secrets unwrapped, Pulumi's bookkeeping keys dropped, defaults filled. */
    private plainInputs(urn: string, h: ResourceHandler, raw: unknown, olds?: unknown): { plain: Record<string, unknown>; secretPaths: Path[] } {
        const { value, secretPaths } = plainBag(raw);
        // Pulumi's own bookkeeping keys never reach the schema.
        const plain = Object.fromEntries(Object.entries(value).filter(([k]) => !k.startsWith("__")));
        if (!h.defaults) return { plain, secretPaths };
        return { plain: h.defaults(plain, urnName(urn), urn, plainBag(olds).value), secretPaths };
    }

    /** The checks after the schema's that need no host: against the rest of the stack, this machine and the paths named after the resource. */
    private semanticFailures(urn: string, h: ResourceHandler, inputs: Record<string, unknown>): CheckFailure[] {
        return [...(h.crossCheck?.(urn, inputs, this.registry) ?? []), ...(h.localCheck?.(inputs) ?? []), ...(h.namedCheck?.(urn, inputs) ?? [])];
    }

    /**
     * The inputs of create and update, checked again as check() checks them: the provider's gRPC
     * port on 127.0.0.1 takes calls from any local user (Pulumi's design), with inputs that never
     * went through check(). Handlers get the schema's output, never the inputs as sent.
     */
    private validated(urn: string, h: ResourceHandler, raw: unknown, olds?: unknown): { value: Record<string, unknown>; secretPaths: Path[] } {
        const { plain, secretPaths } = this.plainInputs(urn, h, raw, olds);
        const r = checkWithSchema(h.schema, plain);
        const failures = r.ok ? this.semanticFailures(urn, h, r.value) : r.failures;
        if (r.ok && failures.length === 0) return { value: r.value, secretPaths };
        const what = `${typeOfUrn(urn)} '${urnName(urn)}'`;
        if (failures.length === 0)
            throw new Error(`${what}: inputs not known yet reached create or update (only a preview leaves them unknown): nothing was done`);
        throw new Error(`${what}: invalid inputs, nothing was done: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
    }

    private async timed<T>(urn: string, op: () => Promise<T>): Promise<T> {
        const phase = phaseOf(typeOfUrn(urn));
        const t0 = Date.now();
        const r = await op();
        if (phase) this.clock.record(phase, t0, Date.now());
        return r;
    }

    /**
     * A handler's result as the engine stores it, secrets wrapped. A key neither of its schemas
     * declares is refused: state that nothing types is what typed state exists to prevent.
     */
    private secretOuts(urn: string, h: ResourceHandler, outs: Record<string, unknown>, extra: Path[] = []): any {
        const undeclared = undeclaredKeys(h, outs);
        if (undeclared.length > 0)
            throw new Error(
                `netbed provider ${this.version}: ${typeOfUrn(urn)} '${urnName(urn)}' returned ${undeclared.map((k) => `'${k}'`).join(", ")}, which neither its inputs nor its outputs schema declares: add it to the outputs schema in schema/`,
            );
        return wrapSecretsAt(dropUndefined(outs), [...(h.secretPaths ?? []), ...extra, ...keyPaths(outs)]);
    }

    async check(urn: string, olds: any, news: any): Promise<provider.CheckResult> {
        const h = this.handler(urn);
        // No property: the engine then reports it as a problem of the resource itself.
        const nameProblem = resourceNameProblem(urnName(urn));
        if (nameProblem) return { inputs: news, failures: [{ property: "", reason: `the resource name ${nameProblem}` }] };
        const { plain: given, secretPaths } = this.plainInputs(urn, h, news, olds);
        const facts = await this.withHostFacts(urn, h, given);
        if ("failure" in facts) return { inputs: news, failures: [facts.failure] };
        const plain = facts.inputs;
        const r = checkWithSchema(h.schema, plain);
        if (!r.ok) {
            if (r.failures.length > 0) return { inputs: news, failures: r.failures };
            const early = this.previewFailures(urn, h, plain);
            if (early.length > 0) return { inputs: news, failures: early };
            // Only values not known yet are in the way: validated again once they are known.
            return { inputs: wrapSecretsAt(dropUndefined(plain), [...secretPaths, ...(h.secretPaths ?? []), ...keyPaths(plain)]) };
        }
        const cross = this.semanticFailures(urn, h, r.value);
        if (cross.length > 0) return { inputs: news, failures: cross };
        return { inputs: wrapSecretsAt(dropUndefined(r.value), [...secretPaths, ...(h.secretPaths ?? []), ...keyPaths(r.value)]) };
    }

    /**
     * The problems a schema finds with stand-ins for the inputs not known yet (none without
     * stand-ins), and those of the paths named after the resource, which the stand-ins leave alone.
     */
    private previewFailures(urn: string, h: ResourceHandler, plain: Record<string, unknown>) {
        if (!h.previewStandIn) return [];
        const { value, replaced } = withStandIns(plain, (p) => h.previewStandIn!(p));
        const r = checkWithSchema(h.schema, value);
        if (r.ok) return h.namedCheck?.(urn, r.value) ?? [];
        const under = replaced.map((p) => propertyPath(p));
        return r.failures.filter((f) => !under.some((u) => f.property === u || f.property.startsWith(`${u}.`) || f.property.startsWith(`${u}[`)));
    }

    /** Fills the handler's host-facts input from a read-only probe when the Host's is not known yet. */
    private async withHostFacts(
        urn: string,
        h: ResourceHandler,
        plain: Record<string, unknown>,
    ): Promise<{ inputs: Record<string, unknown> } | { failure: { property: string; reason: string } }> {
        const host = HostConnectionSchema.safeParse(plain.host);
        if (!h.hostFacts || plain[h.hostFacts.field] !== undefined || !host.success) return { inputs: plain };
        try {
            const f = await this.facts.of(host.data);
            if ("probe" in f) return { inputs: { ...plain, [h.hostFacts.field]: h.hostFacts.of(f.probe) } };
            if (!this.unprobed.has(f.unknown)) this.log.warn(urn, `${f.unknown}: what it lacks is refused when it is created instead`);
            this.unprobed.add(f.unknown);
            return { inputs: plain };
        } catch (e) {
            return { failure: { property: "host", reason: (e as Error).message } };
        }
    }

    /**
     * The typed state of a resource as the engine hands it back (a gRPC Struct): validated here, once,
     * against the handler's inputs and outputs schemas, so handlers read it without casts.
     */
    private state(urn: string, h: ResourceHandler, raw: unknown): Record<string, unknown> {
        try {
            return stateOf(h, plainBag(raw).value);
        } catch (e) {
            throw new Error(`${typeOfUrn(urn)} '${urnName(urn)}': ${(e as Error).message}`);
        }
    }

    async diff(_id: string, urn: string, olds: any, news: any): Promise<provider.DiffResult> {
        const h = this.handler(urn);
        const o = unwrapSecrets(olds ?? {}).value;
        const n = unwrapSecrets(news ?? {}).value;
        const { changed, replaces } = diffProperties(o, n, h.properties, h.replaceOn);
        // An unknown value under a replace-on property may turn out different: plan for replacement.
        for (const p of h.replaceOn) {
            if (!replaces.includes(p) && containsUnknown((n as any)[p.split(".")[0]])) replaces.push(p);
        }
        if (replaces.length === 0 && h.gone) {
            // Unreachable, unreadable, or a state that does not validate: not known to be gone, so no
            // replacement is planned.
            const gone = await Promise.resolve()
                .then(() => h.gone?.(this.ctx(urn), this.state(urn, h, olds)))
                .catch(() => undefined);
            if (gone) {
                this.log.warn(urn, `${gone.reason}: replacing it`);
                replaces.push(gone.property);
            }
        }
        return {
            changes: changed.length > 0 || replaces.length > 0,
            replaces,
            deleteBeforeReplace: replaces.length > 0 && h.deleteBeforeReplace === true,
        };
    }

    async create(urn: string, inputs: any): Promise<provider.CreateResult> {
        const h = this.handler(urn);
        const ctx = this.ctx(urn);
        const { value, secretPaths } = this.validated(urn, h, inputs);
        const r = await this.timed(urn, () => h.create(ctx, value));
        return { id: r.id, outs: this.secretOuts(urn, h, r.outs, secretPaths) };
    }

    async read(id: string, urn: string, props?: any): Promise<provider.ReadResult> {
        const h = this.handler(urn);
        const { secretPaths } = plainBag(props);
        const outs = await h.read(this.ctx(urn), id, this.state(urn, h, props));
        if (!outs) return { id: "", props: {} };
        const wrapped = this.secretOuts(urn, h, outs, secretPaths);
        return {
            id,
            props: wrapped,
            inputs: pick(
                wrapped,
                h.properties.map((p) => p.split(".")[0]),
            ),
        };
    }

    async update(id: string, urn: string, olds: any, news: any): Promise<provider.UpdateResult> {
        const h = this.handler(urn);
        // diff() plans a replacement for every change of such a resource, so the engine never gets here.
        if (h.replaceOnly)
            throw new Error(`netbed provider ${this.version}: ${typeOfUrn(urn)} '${urnName(urn)}' is replaced on any change, never updated in place`);
        const ctx = this.ctx(urn);
        const o = this.state(urn, h, olds);
        const { value, secretPaths } = this.validated(urn, h, news, olds);
        const outs = await this.timed(urn, () => h.update(ctx, id, o, value));
        return { outs: this.secretOuts(urn, h, outs, secretPaths) };
    }

    async delete(id: string, urn: string, props: any): Promise<void> {
        const h = this.handler(urn);
        await h.delete(this.ctx(urn), id, this.stateToDelete(urn, h, props));
    }

    /**
     * A state this version's schemas refuse (one an older netbed wrote, say) must not make its
     * resource impossible to destroy: delete then gets the state as recorded, with a warning.
     */
    private stateToDelete(urn: string, h: ResourceHandler, raw: unknown): Record<string, unknown> {
        try {
            return this.state(urn, h, raw);
        } catch (e) {
            this.log.warn(urn, `${(e as Error).message}; deleting it with the state as recorded`);
            return plainBag(raw).value;
        }
    }
}
