// Names that end up as kernel object names (links, namespaces) or as argv words.
// Pure: no I/O, so both the SDK (early, at construction) and the provider's check() use it.
import { sha256Hex } from "./hash";

/** Linux IFNAMSIZ is 16 including the NUL terminator. */
const MAX_IFNAME_BYTES = 15;

/**
 * Why `name` is not a valid Linux interface name, or undefined when it is.
 * The kernel refuses '/', whitespace and ':' (alias syntax), and the names '.' and '..'.
 */
export function ifnameProblem(name: string): string | undefined {
    if (name.length === 0) return "must not be empty";
    const bytes = Buffer.byteLength(name, "utf8");
    if (bytes > MAX_IFNAME_BYTES) {
        return `is ${bytes} bytes long; Linux interface names are at most ${MAX_IFNAME_BYTES} bytes`;
    }
    if (name === "." || name === "..") return `must not be '.' or '..'`;
    if (/[/\s:]/.test(name)) return "must not contain '/', ':' or whitespace";
    if (!/^[A-Za-z0-9_.@+-]+$/.test(name)) return "may only use letters, digits and _ . @ + -";
    return undefined;
}

/**
 * Why `name` is not usable as a network namespace name, or undefined when it is.
 * `ip netns` keeps namespaces as files under /run/netns, so the name must be a plain file name;
 * we also keep to a conservative character set because the name appears in argv and paths.
 */
export function netnsProblem(name: string): string | undefined {
    if (name.length === 0) return "must not be empty";
    if (Buffer.byteLength(name, "utf8") > 64) return "is longer than 64 bytes";
    if (name === "." || name === "..") return "must not be '.' or '..'";
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
        return "must start with a letter or digit and use only letters, digits and _ . -";
    }
    return undefined;
}

/** Debian package names (policy 5.6.1), optionally with an `=version` pin. */
export function debPackageProblem(spec: string): string | undefined {
    if (!/^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/.test(spec)) {
        return "is not a Debian package name (lower-case letters, digits, + . -, optionally =version)";
    }
    return undefined;
}

/**
 * A default namespace name derived from a Pulumi resource name, e.g. "server" -> "nb-server".
 * Characters outside the allowed set become '-'; the result is validated by the caller.
 */
export function defaultNetnsName(resourceName: string): string {
    return `nb-${resourceName.replace(/[^A-Za-z0-9_.-]/g, "-")}`;
}

/**
 * A short hash of a resource's URN (stack, project, type and name): it goes into the names of the
 * host-side objects a resource names itself, so a resource of the same name in another stack or
 * program on the same machine gets objects of its own.
 */
export function urnTag(urn: string): string {
    return sha256Hex(urn).slice(0, 12);
}

/** The resource name part of a Pulumi URN (the last `::` segment). */
export function urnName(urn: string): string {
    const i = urn.lastIndexOf("::");
    return i < 0 ? urn : urn.slice(i + 2);
}

/** The resource's own type in a Pulumi URN, without its parents' types. */
export function typeOfUrn(urn: string): string {
    // urn:pulumi:<stack>::<project>::<parent$type>::<name>
    const parts = urn.split("::");
    const qualified = parts[parts.length - 2] ?? "";
    return qualified.slice(qualified.lastIndexOf("$") + 1);
}
