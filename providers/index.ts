// The resource types this provider implements, by type name (netbed:index:<Type>).
import { hostHandler } from "./host";
import { ResourceHandler } from "./resource";

export const handlers: Record<string, ResourceHandler> = {
    "netbed:index:Host": hostHandler,
};
