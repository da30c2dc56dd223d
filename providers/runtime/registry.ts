// Checks across resources, at check() time: the provider process sees every resource of the
// stack checked before any is created (in preview, and in the preview that `netbed up` runs
// first). Subnets must not overlap on one host's network stack; MACs must be unique in the stack.
import type { CheckFailure } from "../../core/check";
import { type Cidr, cidrsOverlap, parseCidr } from "../../core/net";
import { urnName } from "../../core/names";

interface Claim {
    urn: string;
    property: string;
    value: string;
}

export class Registry {
    private readonly subnets = new Map<string, Claim[]>(); // by network stack
    private readonly macs = new Map<string, Claim>();
    private readonly byUrn = new Map<string, { stacks: string[]; macs: string[] }>();
    private readonly links = new Map<string, Map<string, string>>(); // stack -> link name -> urn

    /**
     * Records the link names a resource declares on a network stack (for parent checks), returning
     * a failure for a name another resource already declares there (one of the two could never be
     * created). A name that fails is not recorded.
     */
    declareLinks(urn: string, stack: string, names: string[], property = "name"): CheckFailure[] {
        const m = this.links.get(stack) ?? new Map<string, string>();
        for (const [n, u] of m) if (u === urn) m.delete(n);
        const failures: CheckFailure[] = [];
        for (const n of names) {
            const other = m.get(n);
            if (other !== undefined && other !== urn) {
                failures.push({
                    property,
                    reason: `'${n}' is already declared by ${urnName(other).replace(/#([ab])$/, " (end $1)")} on the same host: give each link its own name`,
                });
            } else m.set(n, urn);
        }
        this.links.set(stack, m);
        return failures;
    }

    /** True when some resource of this stack declares a link with that name on that network stack. */
    declared(stack: string, name: string): boolean {
        return this.links.get(stack)?.has(name) ?? false;
    }

    /** Forgets what a resource claimed before (it is being checked again). */
    private release(urn: string): void {
        const prev = this.byUrn.get(urn);
        if (!prev) return;
        for (const s of prev.stacks)
            this.subnets.set(
                s,
                (this.subnets.get(s) ?? []).filter((c) => c.urn !== urn),
            );
        for (const m of prev.macs) if (this.macs.get(m)?.urn === urn) this.macs.delete(m);
        this.byUrn.delete(urn);
    }

    /**
     * Records a resource's addresses (per network stack) and MACs, returning failures for overlaps
     * with other resources. Nothing is recorded when there are failures.
     */
    claim(
        urn: string,
        addresses: { stack: string; hostName: string; property: string; cidr: string }[],
        macs: { property: string; mac: string }[],
    ): CheckFailure[] {
        this.release(urn);
        const failures: CheckFailure[] = [];
        for (const a of addresses) {
            const mine = parseCidr(a.cidr) as Cidr;
            for (const other of this.subnets.get(a.stack) ?? []) {
                if (cidrsOverlap(mine, parseCidr(other.value) as Cidr)) {
                    failures.push({
                        property: a.property,
                        reason: `'${a.cidr}' overlaps '${other.value}' of ${urnName(other.urn)} (${other.property}) on host '${a.hostName}': give each link its own subnet`,
                    });
                }
            }
        }
        for (const m of macs) {
            const other = this.macs.get(m.mac);
            if (other && other.urn !== urn) {
                failures.push({
                    property: m.property,
                    reason: `MAC ${m.mac} is already used by ${urnName(other.urn)} (${other.property}): MACs must be unique in the stack`,
                });
            }
        }
        // Two ends of one resource (a veth pair on one host) must not overlap each other either.
        for (let i = 0; i < addresses.length; i++) {
            for (let j = i + 1; j < addresses.length; j++) {
                const x = addresses[i],
                    y = addresses[j];
                if (x.stack === y.stack && x.property.split(".")[0] !== y.property.split(".")[0] && cidrsOverlap(parseCidr(x.cidr)!, parseCidr(y.cidr)!)) {
                    failures.push({ property: y.property, reason: `'${y.cidr}' overlaps '${x.cidr}' (${x.property}) on the same host '${y.hostName}'` });
                }
            }
        }
        if (failures.length > 0) return failures;
        const stacks = new Set<string>();
        for (const a of addresses) {
            const list = this.subnets.get(a.stack) ?? [];
            list.push({ urn, property: a.property, value: a.cidr });
            this.subnets.set(a.stack, list);
            stacks.add(a.stack);
        }
        for (const m of macs) this.macs.set(m.mac, { urn, property: m.property, value: m.mac });
        this.byUrn.set(urn, { stacks: [...stacks], macs: macs.map((m) => m.mac) });
        return [];
    }
}
