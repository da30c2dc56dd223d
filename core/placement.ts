// Which machine and which network stack a host is: the one answer every resource uses (link
// ownership, address checks, veth ends, a VM and its security profile, CPU accounting).

/** The fields of a host connection that say where it is. */
export type Placement = { kind: "local" } | { kind: "netns"; namespace: string } | { kind: "ssh"; ssh: { host: string; port?: number; user?: string } };

/**
 * The machine: this one (the provider's, with its namespaces) or an SSH machine by address and
 * port. The login user is not part of it: root@m and bench@m are one machine.
 */
export function machineOf(p: Placement): string {
    return p.kind === "ssh" ? `ssh:${p.ssh.host}:${p.ssh.port ?? 22}` : "local";
}

/** The machine as a person reads it in an error. */
export function machineLabel(p: Placement): string {
    return p.kind === "ssh" ? `ssh ${p.ssh.user ?? "root"}@${p.ssh.host}:${p.ssh.port ?? 22}` : "the provider's machine";
}

/**
 * The network stack a host's links live in: this machine's init namespace, one of its network
 * namespaces, or an SSH machine's init namespace.
 */
export function networkStackOf(p: Placement): string {
    switch (p.kind) {
        case "local":
            return "init";
        case "netns":
            return `netns-${p.namespace}`;
        case "ssh":
            return `ssh-${p.ssh.host}-${p.ssh.port ?? 22}`;
    }
}
