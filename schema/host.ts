// What a Host takes, and its connection: how the provider reaches a host, carried by every resource placed on it.
import { z } from "zod";
import { debPackageProblem, netnsProblem } from "../core/names";
import { fingerprintProblem } from "../core/fingerprint";
import type { HostProbe } from "../core/probe";
import { hostPath, observedObject, refineWith } from "./common";

export const SshSchema = z
    .object({
        /** DNS name or address of the machine. */
        host: z
            .string()
            .min(1, "set the machine's DNS name or IP address")
            .max(253, "must be at most 253 characters (a DNS name or an address)")
            .regex(/^[A-Za-z0-9:[][A-Za-z0-9.:%_[\]-]*$/, "must be a DNS name or an IP address (letters, digits, . : - _, not starting with '-')"),
        /** Default 22. */
        port: z.number().int().min(1).max(65535).default(22),
        /** Default "root": netbed creates links and namespaces, which needs root or CAP_NET_ADMIN. */
        user: z
            .string()
            .regex(/^[a-z_][a-z0-9_.-]*$/i, "must be a plain user name (letters, digits, _ . -)")
            .default("root"),
        /** The private key's contents (OpenSSH or PEM), not a path. Pass it as a Pulumi secret. Or use `agent`. */
        privateKey: z
            .string()
            .refine((k) => /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(k), {
                message:
                    "must be the contents of an OpenSSH or PEM private key (-----BEGIN ... PRIVATE KEY-----), not a path; read the file and pass it with pulumi.secret()",
            })
            .optional(),
        /**
         * Authenticate with an ssh-agent instead of a key: `true` for the agent in the provider's
         * SSH_AUTH_SOCK, or the agent socket's absolute path. No key material reaches the stack.
         */
        agent: z.union([z.literal(true), hostPath(" (the ssh-agent's socket), or true for $SSH_AUTH_SOCK")]).optional(),
        /** The host key's OpenSSH SHA256 fingerprint; any other key is refused. */
        hostKeyFingerprint: z.string().superRefine(refineWith(fingerprintProblem)),
        /** Milliseconds to wait for each connection attempt (default 10 000). */
        connectTimeoutMs: z.number().int().min(100).max(300_000).default(10_000),
        /** Extra connection attempts after the first fails (default 3), one second apart, then more. */
        dialRetries: z.number().int().min(0).max(20).default(3),
        /**
         * Milliseconds between keepalive probes on an open connection (default 15 000). After 4
         * unanswered probes the connection is declared lost at the next one: a host that goes silent
         * mid-command fails within 5 intervals instead of at the command's own timeout.
         */
        keepaliveIntervalMs: z.number().int().min(100).max(300_000).default(15_000),
    })
    .strict()
    .superRefine((v, ctx) => {
        if ((v.privateKey === undefined) === (v.agent === undefined)) {
            ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["privateKey"],
                message: "give either privateKey (the key's contents, as a secret) or agent (true, or the ssh-agent socket's path), not both or neither",
            });
        }
    });

const HOST_KINDS = ["local", "netns", "ssh"] as const;

export const HostArgsSchema = z
    .object({
        /**
         * Where the host is: `local` (this machine), `netns` (a network namespace on this machine that
         * netbed creates and removes: the embedded default), or `ssh` (an existing machine).
         */
        kind: z.enum(HOST_KINDS, {
            errorMap: () => ({ message: "must be one of 'local', 'netns' or 'ssh'" }),
        }),
        /** For `netns`: the namespace name. Default: "nb-" + the resource name. */
        namespace: z.string().optional().superRefine(refineWith(netnsProblem)),
        /** For `ssh`: how to reach the machine. */
        ssh: SshSchema.optional(),
        /** Debian packages ensured with apt-get (skipped with a message on hosts that are not Debian-like). */
        packages: z
            .array(z.string().max(200, "must be at most 200 characters").superRefine(refineWith(debPackageProblem)))
            .max(1000)
            .default([]),
    })
    .strict()
    .superRefine((v, ctx) => {
        if (v.kind === "ssh" && !v.ssh) {
            ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["ssh"],
                message: "is required when kind is 'ssh': give host, privateKey (or agent) and hostKeyFingerprint",
            });
        }
        if (v.kind !== "ssh" && v.ssh) {
            ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["ssh"],
                message: `only applies to kind 'ssh' (kind is '${v.kind}'): remove it or set kind: 'ssh'`,
            });
        }
        if (v.kind !== "netns" && v.namespace !== undefined) {
            ctx.addIssue({
                code: z.ZodIssueCode.custom,
                path: ["namespace"],
                message: `only applies to kind 'netns' (kind is '${v.kind}'): remove it or set kind: 'netns'`,
            });
        }
    });

/** The validated Host arguments, with defaults filled in. */
export type HostInputs = z.output<typeof HostArgsSchema>;

/** How the provider reaches a host; every resource placed on a host carries this. */
export const HostConnectionSchema = z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("local"), name: z.string() }).strict(),
    z.object({ kind: z.literal("netns"), name: z.string(), namespace: z.string() }).strict(),
    z.object({ kind: z.literal("ssh"), name: z.string(), ssh: SshSchema }).strict(),
]);
export type HostConnection = z.output<typeof HostConnectionSchema>;

/** What create, read and update return besides the inputs. */
export const HostOutputsSchema = z
    .object({
        /** How the provider reaches this host. */
        connection: HostConnectionSchema,
        /** What the host offers, as probed. */
        probe: observedObject<HostProbe>("the host's probe"),
        /** Why `packages` were not installed, when they were skipped. */
        packagesSkipped: z.string().optional(),
    })
    .strict();
export type HostOutputs = z.output<typeof HostOutputsSchema>;
export type HostState = HostInputs & HostOutputs;
