// Hostile and malformed input, at the layer `pulumi preview` uses: the provider's check() for
// resource arguments (on top of the same valid base the engine fixture declares), and the stack
// config parser. Each case must be refused with a failure that names its property and says why;
// the engine run of a subset is test/engine/bad-inputs.engine.test.ts.
import { strict as assert } from "node:assert";
import { MemoryLogger } from "../../providers/runtime/log";
import { handlers } from "../../providers/resources/index";
import { NetbedProvider } from "../../providers/runtime/provider";
import { parseStackConfig } from "../../schema/testbed-config";
import { BAD_CASES, type BadCase, type BadType, HOSTILE_CASES, MEGABYTE, SENTINEL_DIR } from "../fixtures/bad-inputs/cases";
import { CHECK_CASES } from "../helpers/corpus";

const H = { kind: "netns", name: "h", namespace: "nbt-pv" };
/** What the base host's probe lists: the SDK passes it to MacvtapLink. */
const INTERFACES = ["lo", "br0", "wa0", "wb0"];
const urn = (type: string, name: string) => `urn:pulumi:bad::netbed-test-bad-inputs::netbed:index:${type}::${name}`;

/** A case's SDK-level arguments as check() receives them (the SDK resolves hosts to placements). */
function providerInputs(type: BadType, args: Record<string, any>): Record<string, unknown> {
    const end = (e: any) => (e.host === "h" ? { ...e, host: H, kind: "host" } : e);
    switch (type) {
        case "Host":
            return args;
        case "VethPair":
            return { ...args, a: { ...args.a, host: H }, b: { ...args.b, host: H } };
        case "MacvtapLink":
            return { host: H, hostInterfaces: INTERFACES, ...args };
        case "BenchmarkRun":
            return { ...args, pairs: args.pairs.map((p: any) => ({ ...p, client: end(p.client), server: end(p.server) })) };
        default:
            return { host: H, ...args };
    }
}

async function failuresOf(c: BadCase) {
    const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
    const base: [string, string, Record<string, unknown>][] = [
        ["Host", "h", { kind: "netns", namespace: "nbt-pv" }],
        ["Bridge", "base-br", { host: H, name: "br0", addresses: ["10.9.0.1/24"] }],
        ["VethPair", "base-wire", { a: { host: H, name: "wa0" }, b: { host: H, name: "wb0" } }],
    ];
    for (const [type, name, inputs] of base) assert.equal((await p.check(urn(type, name), {}, inputs)).failures, undefined, `base ${name}`);
    const out = [];
    for (const [type, name, args] of c.resources) out.push(...((await p.check(urn(type, name), {}, providerInputs(type, args))).failures ?? []));
    return out;
}

const ALL = [...BAD_CASES, ...HOSTILE_CASES, ...CHECK_CASES];

describe("hostile and malformed resource arguments, through check()", () => {
    for (const c of ALL) {
        const title = `${c.resources.map((r) => r[0]).join("+")}: ${c.name} -> ${c.property || "(the resource)"}`;
        it(title, async () => {
            const f = await failuresOf(c);
            assert.ok(f.length > 0, `'${c.name}' passed check()`);
            const hit = f.find((x) => x.property === c.property);
            assert.ok(hit, `'${c.name}': no failure names ${c.property}: ${JSON.stringify(f).slice(0, 500)}`);
            assert.match(hit!.reason, c.says);
            // A huge value is not echoed back whole (errors end up in logs and terminals).
            for (const x of f) assert.ok(x.reason.length < 2000, `'${c.name}': a ${x.reason.length}-character reason for ${x.property}`);
        });
    }

    it("covers every resource type and at least 50 inputs", () => {
        const types = new Set(ALL.flatMap((c) => c.resources.map((r) => r[0])));
        assert.deepEqual(
            [...types].sort(),
            Object.keys(handlers)
                .map((t) => t.split(":").pop())
                .sort(),
        );
        assert.ok(ALL.length >= 50, `${ALL.length} cases`);
        assert.equal(new Set(ALL.map((c) => c.name)).size, ALL.length, "case names are unique (the engine test picks cases by name)");
        // Paths that would be written point under the sentinel directory the engine test watches.
        for (const c of HOSTILE_CASES)
            for (const [, , a] of c.resources)
                for (const k of ["cacheDir", "resultsDir"])
                    if (typeof a[k] === "string") assert.ok((a[k] as string).startsWith(SENTINEL_DIR), `${c.name}: ${k}`);
    });
});

// A valid config (the local stack's shape) that each case breaks in one place.
function baseConfig(): Record<string, any> {
    return {
        hosts: { server: { kind: "netns" }, client: { kind: "netns" } },
        fabric: {
            wires: { client: { a: { host: "server", name: "cli0" }, b: { host: "client", name: "eth0", addresses: ["10.77.1.2/24"] } } },
            bridges: { br0: { host: "server", addresses: ["10.77.1.1/24"], members: ["cli0"] } },
            taps: { tap0: { host: "server", bridge: "br0" } },
        },
        guests: {
            kernel: { source: { kind: "build" } },
            vms: { vm1: { host: "server", nics: [{ backend: "virtio", tap: "tap0", address: "10.77.1.10/24" }] } },
        },
        benchmark: { pairs: [{ label: "virtio", client: { host: "client" }, server: { vm: "vm1" } }] },
    };
}

interface ConfigCase {
    name: string;
    change: (c: Record<string, any>) => void;
    /** The config key the error must name (as `testbed:<key>: `), and what it must say. */
    key: string;
    says: RegExp;
}

const CONFIG_CASES: ConfigCase[] = [
    {
        name: "results dir climbing out of the project",
        change: (c) => (c.benchmark.resultsDir = "../../../etc/cron.d"),
        key: "benchmark.resultsDir",
        says: /must not contain '\.\.'/,
    },
    {
        name: "absolute results dir with '..'",
        change: (c) => (c.benchmark.resultsDir = "/tmp/x/../../root"),
        key: "benchmark.resultsDir",
        says: /must not contain '\.\.'/,
    },
    { name: "results dir with a newline", change: (c) => (c.benchmark.resultsDir = "results\n/etc"), key: "benchmark.resultsDir", says: /control characters/ },
    { name: "shell in a host name", change: (c) => (c.hosts["srv;reboot"] = { kind: "netns" }), key: "hosts.srv;reboot", says: /host names are lower-case/ },
    {
        name: "host kind of the wrong type",
        change: (c) => (c.hosts.server.kind = 42),
        key: "hosts.server.kind",
        says: /must be one of 'local', 'netns' or 'ssh'/,
    },
    { name: "1 MB namespace", change: (c) => (c.hosts.server.namespace = MEGABYTE), key: "hosts.server.namespace", says: /longer than 64 bytes/ },
    {
        name: "tap key that reads as an option",
        change: (c) => (c.fabric.taps["-tap1"] = { host: "server" }),
        key: "fabric.taps.-tap1",
        says: /keys are letters/,
    },
    {
        name: "wire key with '::' (breaks URNs)",
        change: (c) => (c.fabric.wires["a::b"] = { a: { host: "server", name: "x0" }, b: { host: "client", name: "x1" } }),
        key: "fabric.wires.a::b",
        says: /keys are letters/,
    },
    {
        name: "two taps with one name on one host",
        change: (c) => (c.fabric.taps.tap9 = { host: "server", name: "tap0" }),
        key: "fabric.taps.tap9.name",
        says: /'tap0' is also fabric\.taps\.tap0 on host 'server'/,
    },
    {
        name: "tap named like a wire end",
        change: (c) => (c.fabric.taps.cli0 = { host: "server" }),
        key: "fabric.wires.client.a.name",
        says: /'cli0' is also fabric\.taps\.cli0/,
    },
    { name: "unknown fabric kind", change: (c) => (c.fabric.routers = {}), key: "fabric", says: /routers/ },
    {
        name: "link on an undeclared host",
        change: (c) => (c.fabric.bridges.br0.host = "nowhere"),
        key: "fabric.bridges.br0.host",
        says: /must name one of the hosts/,
    },
    { name: "VM name in capitals", change: (c) => (c.guests.vms.VM1 = c.guests.vms.vm1), key: "guests.vms.VM1", says: /VM names are lower-case/ },
    { name: "10^12 vCPUs in config", change: (c) => (c.guests.vms.vm1.vcpus = 1e12), key: "guests.vms.vm1.vcpus", says: /less than or equal to 64/ },
    {
        name: "VM NIC on an undeclared tap",
        change: (c) => (c.guests.vms.vm1.nics[0].tap = "tap9"),
        key: "guests.vms.vm1.nics.0.tap",
        says: /'tap9' is not a tap of host 'server'/,
    },
    {
        name: "unknown kernel source kind in config",
        change: (c) => (c.guests.kernel.source = { kind: "git" }),
        key: "guests.kernel.source.kind",
        says: /kind must be 'debian', 'file' or 'build'/,
    },
    {
        name: "kernel cache dir with '..' in config",
        change: (c) => (c.guests.kernel.cacheDir = "/var/cache/netbed/../../../etc"),
        key: "guests.kernel.cacheDir",
        says: /must not contain '\.\.'/,
    },
    {
        name: "capability 'all'",
        change: (c) => (c.guests.security = { capabilities: ["all"] }),
        key: "guests.security.capabilities.0",
        says: /is not a Linux capability/,
    },
    {
        name: "guest file replacing init in config",
        change: (c) => (c.guests.image = { extraFiles: { "/init": "#!/bin/sh\nid" } }),
        key: "guests.image.extraFiles./init",
        says: /must not be \/init/,
    },
    {
        name: "pair label climbing out of the results dir in config",
        change: (c) => (c.benchmark.pairs[0].label = "../../x"),
        key: "benchmark.pairs.0.label",
        says: /names a results directory/,
    },
    {
        name: "server on an undeclared host",
        change: (c) => (c.benchmark.pairs[0].server = { host: "nowhere", address: "10.77.1.1" }),
        key: "benchmark.pairs.0.server.host",
        says: /must name one of the hosts/,
    },
    {
        name: "10^12 s duration in config",
        change: (c) => (c.benchmark.settings = { duration: 1e12 }),
        key: "benchmark.settings.duration",
        says: /at most 3600 s/,
    },
    { name: "unknown test matrix name", change: (c) => (c.benchmark.tests = "all"), key: "benchmark.tests", says: /must be 'volt' or a list of test specs/ },
    { name: "unknown top-level key", change: (c) => (c.secrets = { key: "x" }), key: "(config)", says: /Unrecognized key.*secrets/ },
];

describe("hostile and malformed stack config", () => {
    it("the base config is valid", () => {
        parseStackConfig(baseConfig());
    });
    for (const c of CONFIG_CASES) {
        it(`${c.name} -> testbed:${c.key}`, () => {
            const raw = baseConfig();
            c.change(raw);
            let err = "";
            try {
                parseStackConfig(raw);
            } catch (e) {
                err = String(e);
            }
            assert.ok(err, `'${c.name}' was accepted`);
            const line = err.split("\n").find((l) => l.trim().startsWith(`testbed:${c.key}: `));
            assert.ok(line, `'${c.name}': no problem names testbed:${c.key}: ${err.slice(0, 800)}`);
            assert.match(line!, c.says);
            assert.ok(err.length < 5000, `'${c.name}': a ${err.length}-character error`);
        });
    }
});
