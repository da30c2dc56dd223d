import * as pulumi from "@pulumi/pulumi";
import * as path from "node:path";
import { type EndpointConfig, type ParsedConfig, parseStackConfig } from "../schema/testbed-config";
import { BenchmarkRun, type EndpointArgs } from "./benchmark";
import { Bridge } from "./bridge";
import { Host } from "./host";
import { GuestImage } from "./image";
import { Kernel } from "./kernel";
import { MacvtapLink } from "./macvtap";
import { MicroVm, type NicArgs } from "./microvm";
import { SecurityProfile } from "./security";
import { Tap } from "./tap";
import { HostTuning } from "./tuning";
import { VethPair } from "./veth";
import { TOKENS } from "../core/tokens";

export interface TestbedArgs {
    /**
     * The hardware profile (hosts and how to reach them, fabric, host tuning, CPU sets in the VMs'
     * pinning) and the benchmark plan, in the stack config's shape (stacks/Pulumi.local.yaml):
     * `{ hosts, fabric?, tuning?, guests?, benchmark? }`. Validated as a whole before anything is
     * declared; errors name the key (`testbed:<key>`) and the fix.
     */
    config: Record<string, unknown>;
    /**
     * Extra setup steps netbed does not model, e.g. @pulumi/command `local.Command` or
     * `remote.Command` resources: given the testbed's hosts and VMs, returns resources the benchmarks
     * wait for. Declare them with `parent` set to the testbed passed in, so they go with it.
     */
    setup?: (tb: Testbed) => pulumi.Resource[];
}

/**
 * A whole testbed from one declarative description: hosts, fabric, host tuning, kernels, images,
 * security profiles, microVMs and the BenchmarkRun, children named after the testbed. Everything it
 * makes can be built by hand from the same resources.
 */
export class Testbed extends pulumi.ComponentResource {
    public readonly config: ParsedConfig;
    public readonly hosts: Record<string, Host> = {};
    public readonly wires: Record<string, VethPair> = {};
    /** Links by "<host>/<interface>". */
    public readonly bridges: Record<string, Bridge> = {};
    public readonly taps: Record<string, Tap> = {};
    public readonly macvtaps: Record<string, MacvtapLink> = {};
    public readonly tuning: Record<string, HostTuning> = {};
    /** One kernel, image and security profile per host that runs VMs. */
    public readonly artifacts: Record<string, { kernel: Kernel; image: GuestImage; security?: SecurityProfile }> = {};
    public readonly vms: Record<string, MicroVm> = {};
    public readonly setupSteps: pulumi.Resource[];
    public readonly benchmark?: BenchmarkRun;

    constructor(name: string, args: TestbedArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TOKENS.Testbed, name, {}, opts);
        // Validate everything before declaring anything.
        const c = (this.config = parseStackConfig(args.config));
        const n = (s: string) => `${name}-${s}`;
        this.declareHosts(c, n);
        this.declareFabric(c, n);
        this.declareVms(c, n);
        this.setupSteps = args.setup ? args.setup(this) : [];
        if (c.benchmark) this.benchmark = this.declareBenchmark(c.benchmark, n);
        this.registerOutputs({});
    }

    /** Hosts, then their tuning: the fabric and the guests come up on a tuned host. */
    private declareHosts(c: ParsedConfig, n: (s: string) => string): void {
        const child = { parent: this };
        for (const [h, a] of Object.entries(c.hosts)) {
            const ssh = a.ssh ? { ...a.ssh, privateKey: a.ssh.privateKey === undefined ? undefined : pulumi.secret(a.ssh.privateKey) } : undefined;
            this.hosts[h] = new Host(n(h), { ...a, ssh }, child);
        }
        for (const [h, t] of Object.entries(c.tuning)) this.tuning[h] = new HostTuning(n(`${h}-tuning`), { ...withoutHost(t), host: this.hosts[h] }, child);
    }

    /** Wires first: bridge members and macvtap parents may be wire ends. */
    private declareFabric(c: ParsedConfig, n: (s: string) => string): void {
        const child = { parent: this };
        for (const [w, a] of Object.entries(c.wires)) {
            this.wires[w] = new VethPair(
                n(`wire-${w}`),
                { a: { ...withoutHost(a.args.a), host: this.hosts[a.a] }, b: { ...withoutHost(a.args.b), host: this.hosts[a.b] }, mtu: a.args.mtu },
                child,
            );
        }
        const afterWires = { ...child, dependsOn: Object.values(this.wires) };
        for (const [k, b] of Object.entries(c.bridges)) {
            this.bridges[`${b.host}/${b.args.name}`] = new Bridge(n(`${b.host}-${k}`), { ...withoutHost(b.args), host: this.hosts[b.host] }, afterWires);
        }
        for (const [k, t] of Object.entries(c.taps)) {
            const br = t.args.bridge ? this.bridges[`${t.host}/${t.args.bridge}`] : undefined;
            this.taps[`${t.host}/${t.args.name}`] = new Tap(
                n(`${t.host}-${k}`),
                { ...withoutHost(t.args), host: this.hosts[t.host], bridge: br ?? t.args.bridge },
                child,
            );
        }
        for (const [k, m] of Object.entries(c.macvtaps)) {
            this.macvtaps[`${m.host}/${m.args.name}`] = new MacvtapLink(n(`${m.host}-${k}`), { ...withoutHost(m.args), host: this.hosts[m.host] }, afterWires);
        }
    }

    /** One kernel, image and profile per host that runs VMs, then the VMs on their tuned hosts. */
    private declareVms(c: ParsedConfig, n: (s: string) => string): void {
        const child = { parent: this };
        for (const [v, vm] of Object.entries(c.vms)) {
            if (!this.artifacts[vm.host]) {
                const host = this.hosts[vm.host];
                const kernel = new Kernel(n(`${vm.host}-kernel`), { ...c.kernel!, host }, child);
                const image = new GuestImage(n(`${vm.host}-image`), { ...c.image!, host, kernel }, child);
                const security = c.security ? new SecurityProfile(n(`${vm.host}-security`), { ...(c.security as any), host }, child) : undefined;
                this.artifacts[vm.host] = { kernel, image, security };
            }
            const nics: NicArgs[] = vm.nics.map(({ tap, macvtap, ...rest }) => ({
                ...(rest as Omit<NicArgs, "tap" | "macvtap">),
                tap: tap !== undefined ? this.taps[`${vm.host}/${tap}`] : undefined,
                macvtap: macvtap !== undefined ? this.macvtaps[`${vm.host}/${macvtap}`] : undefined,
            }));
            const { host: _h, nics: _n, ...rest } = vm.args as any;
            const a = this.artifacts[vm.host];
            const tuned = this.tuning[vm.host] ? [this.tuning[vm.host]] : [];
            this.vms[v] = new MicroVm(
                n(v),
                { ...rest, host: this.hosts[vm.host], kernel: a.kernel, image: a.image, security: a.security, nics },
                { parent: this, dependsOn: tuned },
            );
        }
    }

    private declareBenchmark(b: NonNullable<ParsedConfig["benchmark"]>, n: (s: string) => string): BenchmarkRun {
        const end = (e: EndpointConfig): EndpointArgs =>
            "vm" in e
                ? { vm: this.vms[e.vm], nic: e.nic, via: e.via ? this.hosts[e.via] : undefined, address: e.address }
                : { host: this.hosts[e.host], address: e.address };
        return new BenchmarkRun(
            n("bench"),
            {
                pairs: b.pairs.map((p) => ({ label: p.label, topology: p.topology, client: end(p.client), server: end(p.server) })),
                tests: b.tests,
                settings: b.settings,
                resultsDir: path.resolve(b.resultsDir),
                allowFailedCells: b.allowFailedCells,
                triggers: b.triggers,
            },
            // Measured on the finished fabric (a host-to-host pair reaches its server over a
            // wire nothing else waits for) and the tuned hosts, after the user's setup steps.
            {
                parent: this,
                dependsOn: [...Object.values(this.wires), ...Object.values(this.bridges), ...Object.values(this.tuning), ...this.setupSteps],
            },
        );
    }
}

function withoutHost<T extends { host: unknown }>(a: T): Omit<T, "host"> {
    const { host: _h, ...rest } = a;
    return rest;
}
