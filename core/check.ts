// Maps zod validation to Pulumi check() failures: {property, reason} per problem, so
// `pulumi preview` names the exact field and why it is wrong. Pure.
import { z } from "zod";
import { Path, containsUnknown, unknownAlong } from "./secrets";

export interface CheckFailure {
    property: string;
    reason: string;
}

export function propertyPath(path: Path): string {
    return path.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), "");
}

/**
 * Validates plain (secret-free) inputs. Problems under a value that is not known yet (preview of
 * a resource whose inputs come from resources not created yet) are not reported: they are
 * checked again when the values are known.
 */
export function checkWithSchema<T extends z.ZodTypeAny>(
    schema: T,
    inputs: unknown,
): { ok: true; value: z.output<T> } | { ok: false; failures: CheckFailure[]; partial: boolean } {
    const r = schema.safeParse(inputs);
    if (r.success) return { ok: true, value: r.data };
    const failures = r.error.issues
        .filter((i) => !unknownAlong(inputs, i.path))
        .flatMap((i): CheckFailure[] =>
            // Name each unknown argument itself, so a typo points at the misspelt field.
            i.code === z.ZodIssueCode.unrecognized_keys
                ? i.keys.map((k) => ({ property: propertyPath([...i.path, k]), reason: "is not a known argument here: check its spelling" }))
                : [{ property: propertyPath(i.path) || "(arguments)", reason: i.message }],
        );
    return { ok: false, failures, partial: containsUnknown(inputs) };
}
