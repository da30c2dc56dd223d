import type * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";

/** Makes every level of a plain argument type accept Pulumi inputs (values or Outputs). */
export type DeepInput<T> = T extends string | number | boolean | undefined | null
    ? pulumi.Input<T>
    : T extends readonly (infer E)[]
      ? pulumi.Input<DeepInput<E>[]>
      : T extends object
        ? pulumi.Input<{ [K in keyof T]: DeepInput<T[K]> }>
        : pulumi.Input<T>;

/** The argument type of a resource: its schema's input type, with Pulumi inputs allowed inside. */
export type ArgsOf<T> = { [K in keyof T]: DeepInput<T[K]> };

/**
 * The output fields of a resource class, one per key of its state `S` (a schema's `<R>State`, or
 * the keys it shows): each a Pulumi Output of that key's type. Keys are mapped through `Extract`,
 * not `keyof` alone, so an optional key stays a field whose value may be undefined.
 */
export type Outputs<S> = { readonly [K in Extract<keyof S, string>]: pulumi.Output<S[K]> };

/**
 * The `undefined` each output needs among registerResource's properties, so the engine returns it:
 * one per key of the resource's outputs schema.
 */
export function outputSlots(outputs: z.AnyZodObject): Record<string, undefined> {
    return Object.fromEntries(Object.keys(outputs.shape).map((k) => [k, undefined]));
}

/** Adds dependencies to whatever the caller's options already depend on. */
export function withDeps(opts: pulumi.CustomResourceOptions | undefined, ...deps: pulumi.Resource[]): pulumi.CustomResourceOptions {
    const given = opts?.dependsOn;
    const list = given === undefined ? [] : Array.isArray(given) ? given : [given];
    return { ...opts, dependsOn: [...(list as pulumi.Input<pulumi.Resource>[]), ...deps] };
}

/** Adds a dependency on the host a resource is placed on (its placement is computed, not an output). */
export function withHost(opts: pulumi.CustomResourceOptions | undefined, host: pulumi.Resource): pulumi.CustomResourceOptions {
    return withDeps(opts, host);
}
