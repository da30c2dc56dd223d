import * as pulumi from "@pulumi/pulumi";

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

/** Adds a dependency on the host a resource is placed on (its placement is computed, not an output). */
export function withHost(opts: pulumi.CustomResourceOptions | undefined, host: pulumi.Resource): pulumi.CustomResourceOptions {
    const deps = opts?.dependsOn;
    const list = deps === undefined ? [] : Array.isArray(deps) ? deps : [deps];
    return { ...opts, dependsOn: [...(list as pulumi.Input<pulumi.Resource>[]), host] };
}
