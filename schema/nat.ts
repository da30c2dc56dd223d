import { z } from "zod";
import { NFT_PACKAGE, natSourceProblem, natTableProblem, ruleLines } from "../core/nat";
import { isIPv4Address } from "../core/net";
import { IfnameSchema, refineWith } from "./common";
import { HostConnectionSchema } from "./host";

const Port = z
    .number({ invalid_type_error: "must be a port number" })
    .int("must be a whole port number")
    .min(1, "must be a port (1-65535)")
    .max(65535, "must be a port (1-65535)");

const MasqueradeSchema = z
    .object({
        /** Only packets from this subnet (network address, e.g. 10.0.3.0/30). Default: every packet leaving by outInterface. */
        source: z.string().superRefine(refineWith(natSourceProblem)).optional(),
        /** The interface whose address the packets take (the host's external side). */
        outInterface: IfnameSchema,
    })
    .strict();

const PortForwardSchema = z
    .object({
        protocol: z.enum(["tcp", "udp"], { errorMap: () => ({ message: "must be 'tcp' or 'udp'" }) }),
        /** The port connections arrive on. */
        port: Port,
        /** The IPv4 address they are sent on to (a guest behind the NAT). */
        to: z.string().refine((a) => isIPv4Address(a), { message: "must be an IPv4 address (the table is of family ip)" }),
        /** The port there (default: `port`). */
        toPort: Port.optional(),
        /** Only connections arriving on this interface. Default: any. */
        inInterface: IfnameSchema.optional(),
    })
    .strict()
    .transform((f) => ({ ...f, toPort: f.toPort ?? f.port }));

/**
 * A forward of the port netbed manages an SSH host through would send every new connection to it,
 * netbed's own included, to the guest: the host could no longer be reached to undo it.
 */
function sshPortForwards(
    host: string,
    sshPort: number,
    forwards: readonly { protocol: string; port: number; to: string; toPort: number }[],
    issue: (path: (string | number)[], message: string) => void,
): void {
    forwards.forEach((f, i) => {
        if (f.protocol !== "tcp" || f.port !== sshPort) return;
        const other = sshPort === 2222 ? 2022 : 2222;
        issue(
            ["forwards", i, "port"],
            `tcp port ${sshPort} is the port netbed manages host '${host}' through (its ssh.port): forwarding it to ${f.to}:${f.toPort} would take over netbed's SSH connections to the host; forward another port instead (e.g. port: ${other}, toPort: ${f.toPort})`,
        );
    });
}

export const NatArgsSchema = z
    .object({
        /** The host whose network stack does the translation (the router in front of the guests). */
        host: HostConnectionSchema,
        /** The nftables table (family ip) netbed creates and owns. Default: "netbed_" + the resource name. */
        table: z.string().superRefine(refineWith(natTableProblem)),
        /** Source NAT (masquerade) rules, in order. Updated in place. */
        masquerade: z.array(MasqueradeSchema).default([]),
        /** Port forwards (destination NAT), in order. Updated in place. */
        forwards: z.array(PortForwardSchema).default([]),
        /** The tools the host's probe found (filled by the SDK): a host without nft is refused before anything is created. */
        hostTools: z.array(z.string()).optional(),
    })
    .strict()
    .superRefine((v, ctx) => {
        const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
        if (v.masquerade.length === 0 && v.forwards.length === 0) issue(["masquerade"], "a Nat needs at least one masquerade or forwards rule");
        if (v.hostTools && !v.hostTools.includes("nft")) {
            issue(["host"], `host '${v.host.name}' has no nft (nftables' command): install the Debian package '${NFT_PACKAGE}' there (the Host's packages)`);
        }
        if (v.host.kind === "ssh") sshPortForwards(v.host.name, v.host.ssh.port, v.forwards, issue);
        const seen = new Map<string, number>();
        v.forwards.forEach((f, i) => {
            const key = `${f.protocol} ${f.port} ${f.inInterface ?? "*"}`;
            if (seen.has(key))
                issue(
                    ["forwards", i, "port"],
                    `${f.protocol} port ${f.port} is already forwarded by forwards[${seen.get(key)}]: the second rule would never match`,
                );
            seen.set(key, i);
        });
    })
    // The table's lines as declared: diffed against what refresh reads back, so drift shows per rule.
    .transform((v) => ({ ...v, rules: ruleLines(v) }));

export type NatInputs = z.output<typeof NatArgsSchema>;

/** What create, read and update return besides the inputs. */
export const NatOutputsSchema = z
    .object({
        /** The table's lines as read back (the inputs' `rules` are the declared ones). */
        rules: z.array(z.string()),
        /** What refresh found different from the declared rules (empty when none). */
        drift: z.array(z.string()),
        /** Whether the host forwarded IPv4 when the rules were written. */
        forwarding: z.boolean(),
    })
    .strict();
export type NatOutputs = z.output<typeof NatOutputsSchema>;
export type NatState = NatInputs & NatOutputs;
