// The environment of every process netbed starts on this machine (commands, namespaces, the
// detached VMM): explicit and minimal, never the provider's own, which holds the stack's secrets
// passphrase, cloud tokens and the user's SSH agent socket.

/** Where programs are when the provider's PATH is unset. */
const STANDARD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Kept from the provider's environment: where programs are, and the proxy a lab reaches its package mirror through. */
const KEPT = ["PATH", "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"] as const;

/** A child's environment: PATH, HOME, the C locale (tools print what the parsers expect), the proxy, and extra. */
export function childEnv(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
    const env: Record<string, string> = { PATH: STANDARD_PATH, HOME: process.env.HOME || "/root", LANG: "C", LC_ALL: "C" };
    for (const k of KEPT) {
        const v = process.env[k];
        if (v) env[k] = v;
    }
    return { ...env, ...extra };
}
