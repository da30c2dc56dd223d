// Paths on a host that netbed reads from or writes to: absolute, without '..' (a path must say
// where it points, not climb out of a directory a reviewer trusts), without control characters
// (they end up in argv, logs and generated files) and no longer than PATH_MAX.
import { z } from "zod";

export const PATH_MAX = 4096;

/** Why `p` is not an acceptable host path, or undefined when it is. Pure. */
export function hostPathProblem(p: string): string | undefined {
    if (!p.startsWith("/")) return "must be an absolute path";
    if (Buffer.byteLength(p, "utf8") > PATH_MAX) return `is longer than ${PATH_MAX} bytes (PATH_MAX)`;
    if (/[\x00-\x1f\x7f]/.test(p)) return "must not contain control characters (NUL, newline, ...)";
    if (p.split("/").includes("..")) return "must not contain '..' (give the path it stands for)";
    return undefined;
}

/** A host path (see hostPathProblem); `where` completes "must be an absolute path ...". */
export const hostPath = (where = "") =>
    z.string({ invalid_type_error: "must be a path (a string)" }).superRefine((p, ctx) => {
        const problem = hostPathProblem(p);
        if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem === "must be an absolute path" ? problem + where : problem });
    });
