// The context a resource handler runs with, for tests that call handlers directly: the resource's
// URN and name, and a logger that keeps what was logged for the test to read.
import { MemoryLogger } from "../../providers/runtime/log";
import type { Ctx } from "../../providers/runtime/resource";

export type TestCtx = Ctx & { log: MemoryLogger };

/** The context of resource `name` of type netbed:index:`type`; project and stack make its URN distinct. */
export function handlerCtx(type: string, name: string, at: { project?: string; stack?: string } = {}): TestCtx {
    const { project = "test", stack = "test" } = at;
    return { urn: `urn:pulumi:${stack}::${project}::netbed:index:${type}::${name}`, name, log: new MemoryLogger() };
}
