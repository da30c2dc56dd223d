// Maps zod validation to Pulumi check() failures: {property, reason} per problem, so
// `pulumi preview` names the exact field and why it is wrong. Pure.
import { z } from "zod";
import { type Path, UNKNOWN, containsUnknown, unknownAlong } from "./secrets";

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

/** What stands in for a value not known at preview: a valid value of its field, or leave the (optional) field out. */
export type StandIn = { value: unknown } | "omit" | undefined;

/**
 * A copy of inputs with each unknown value that `standIn` knows replaced (or left out), so the
 * checks that do not depend on those values still run at preview. Returns the replaced paths:
 * problems under them are not real.
 */
export function withStandIns(inputs: unknown, standIn: (path: Path) => StandIn): { value: unknown; replaced: Path[] } {
    const replaced: Path[] = [];
    const walk = (v: unknown, path: Path): unknown => {
        if (v === UNKNOWN) {
            const s = standIn(path);
            if (s === undefined) return v;
            replaced.push(path);
            return s === "omit" ? undefined : s.value;
        }
        if (Array.isArray(v)) return v.map((x, i) => walk(x, [...path, i]));
        if (v && typeof v === "object") {
            const out: Record<string, unknown> = {};
            for (const [k, x] of Object.entries(v)) {
                const w = walk(x, [...path, k]);
                if (w !== undefined) out[k] = w;
            }
            return out;
        }
        return v;
    };
    return { value: walk(inputs, []), replaced };
}
