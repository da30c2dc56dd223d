import type * as pulumi from "@pulumi/pulumi";

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
