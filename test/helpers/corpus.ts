// Bad inputs checked through the provider's check() only (test/unit/bad-inputs.test.ts), on top of
// the engine-run ones in test/fixtures/bad-inputs/cases.ts. Same format: each names the property
// its error must name and what the error must say.
import { type BadCase, MEGABYTE, SENTINEL_DIR } from "../fixtures/bad-inputs/cases";

const FP = `SHA256:${"A".repeat(43)}`;
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n";
const ssh = (extra: Record<string, unknown>) => ({ kind: "ssh", ssh: { host: "10.0.0.1", privateKey: KEY, hostKeyFingerprint: FP, ...extra } });
const PAIR = { label: "bare", client: { host: "h" }, server: { host: "h", address: "10.9.0.1" } };
const run = (extra: Record<string, unknown>) => ({ pairs: [PAIR], resultsDir: SENTINEL_DIR, ...extra });
const vm = (extra: Record<string, unknown>) => ({
    kernel: "/var/cache/netbed/kernel/vmlinuz",
    image: "/var/cache/netbed/image/initrd.gz",
    nics: [{ backend: "virtio", tap: "tap0", address: "10.9.0.10/24" }],
    ...extra,
});

export const CHECK_CASES: BadCase[] = [
    // Host
    { name: "host kind of the wrong type", resources: [["Host", "h2", { kind: 42 }]], property: "kind", says: /must be one of 'local', 'netns' or 'ssh'/ },
    {
        name: "namespace on a local host",
        resources: [["Host", "h2", { kind: "local", namespace: "nb-x" }]],
        property: "namespace",
        says: /only applies to kind 'netns'/,
    },
    {
        name: "shell in a package name",
        resources: [["Host", "h2", { kind: "local", packages: ["iperf3 && reboot"] }]],
        property: "packages[0]",
        says: /not a Debian package name/,
    },
    {
        name: "apt option as a package",
        resources: [["Host", "h2", { kind: "local", packages: ["-oAPT::Update::Pre-Invoke::=id"] }]],
        property: "packages[0]",
        says: /not a Debian package name/,
    },
    { name: "ssh port out of range", resources: [["Host", "h2", ssh({ port: 70000 })]], property: "ssh.port", says: /less than or equal to 65535/ },
    { name: "shell in an ssh user", resources: [["Host", "h2", ssh({ user: "root;id" })]], property: "ssh.user", says: /must be a plain user name/ },
    { name: "1 MB ssh host", resources: [["Host", "h2", ssh({ host: MEGABYTE })]], property: "ssh.host", says: /at most 253 characters/ },
    {
        name: "10^12 ms connect timeout",
        resources: [["Host", "h2", ssh({ connectTimeoutMs: 1e12 })]],
        property: "ssh.connectTimeoutMs",
        says: /less than or equal to 300000/,
    },
    {
        name: "key file path instead of a key",
        resources: [["Host", "h2", ssh({ privateKey: "/root/.ssh/id_ed25519" })]],
        property: "ssh.privateKey",
        says: /not a path/,
    },
    // Bridge
    { name: "bridge stp as a string", resources: [["Bridge", "b", { name: "br3", stp: "yes" }]], property: "stp", says: /Expected boolean, received string/ },
    {
        name: "ip option in an address",
        resources: [["Bridge", "b", { name: "br3", addresses: ["10.20.0.1/24 dev wa0"] }]],
        property: "addresses[0]",
        says: /not an address with a prefix length/,
    },
    {
        name: "shell in a route destination",
        resources: [["Bridge", "b", { name: "br3", routes: [{ to: "default;reboot" }] }]],
        property: "routes[0].to",
        says: /'default;reboot'/,
    },
    {
        name: "route metric past 2^32",
        resources: [["Bridge", "b", { name: "br3", routes: [{ to: "10.30.0.0/16", metric: 2 ** 32 }] }]],
        property: "routes[0].metric",
        says: /less than or equal to 4294967295/,
    },
    {
        name: "bridge named like a veth end",
        resources: [["Bridge", "b", { name: "wa0" }]],
        property: "name",
        says: /'wa0' is already declared by base-wire \(end a\)/,
    },
    // Tap
    { name: "tap owner past 32 bits", resources: [["Tap", "t", { name: "tapo", owner: 1e12 }]], property: "owner", says: /must be a uid/ },
    {
        name: "tap queues as a string",
        resources: [["Tap", "t", { name: "tapq", multiQueue: true, queues: "4" }]],
        property: "queues",
        says: /Expected number, received string/,
    },
    { name: "fractional MTU", resources: [["Tap", "t", { name: "tapm", mtu: 1500.5 }]], property: "mtu", says: /must be a whole number of bytes/ },
    {
        name: "tap bridge that reads as an option",
        resources: [["Tap", "t", { name: "tapb", bridge: "-br0" }]],
        property: "bridge",
        says: /must not start with '-'/,
    },
    { name: "shell after a MAC", resources: [["Tap", "t", { name: "tapx", mac: "02:00:00:00:00:01;reboot" }]], property: "mac", says: /not a MAC address/ },
    { name: "1 MB link name", resources: [["Tap", "t", { name: MEGABYTE }]], property: "name", says: /1048576 bytes long/ },
    {
        name: "two taps with one name",
        resources: [
            ["Tap", "t1", { name: "tapd" }],
            ["Tap", "t2", { name: "tapd" }],
        ],
        property: "name",
        says: /'tapd' is already declared by t1/,
    },
    // MacvtapLink
    {
        name: "macvtap mode in capitals",
        resources: [["MacvtapLink", "m", { name: "mv1", parent: "wa0", mode: "BRIDGE" }]],
        property: "mode",
        says: /must be one of bridge, vepa, private, passthru/,
    },
    {
        name: "macvtap parent that reads as an option",
        resources: [["MacvtapLink", "m", { name: "mv1", parent: "-wa0" }]],
        property: "parent",
        says: /must not start with '-'/,
    },
    {
        name: "macvtap MAC of a tap",
        resources: [
            ["Tap", "t", { name: "tapm", mac: "02:00:00:aa:bb:02" }],
            ["MacvtapLink", "m", { name: "mv1", parent: "wa0", mac: "02:00:00:aa:bb:02" }],
        ],
        property: "mac",
        says: /already used by t \(mac\)/,
    },
    // VethPair
    {
        name: "veth ends on overlapping subnets",
        resources: [["VethPair", "v", { a: { name: "va0", addresses: ["10.20.0.1/24"] }, b: { name: "vb0", addresses: ["10.20.0.2/16"] } }]],
        property: "b.addresses[0]",
        says: /overlaps '10\.20\.0\.1\/24'/,
    },
    {
        name: "backquotes in a veth end",
        resources: [["VethPair", "v", { a: { name: "`id`" }, b: { name: "vb0" } }]],
        property: "a.name",
        says: /may only use letters/,
    },
    { name: "10^12 veth MTU", resources: [["VethPair", "v", { a: { name: "va0" }, b: { name: "vb0" }, mtu: 1e12 }]], property: "mtu", says: /at most 65535/ },
    {
        name: "veth end named like the base bridge",
        resources: [["VethPair", "v", { a: { name: "br0" }, b: { name: "vb0" } }]],
        property: "a.name",
        says: /'br0' is already declared by base-br/,
    },
    {
        name: "veth end on the base bridge's subnet",
        resources: [["VethPair", "v", { a: { name: "va0", addresses: ["10.9.0.7/24"] }, b: { name: "vb0" } }]],
        property: "a.addresses[0]",
        says: /overlaps '10\.9\.0\.1\/24' of base-br/,
    },
    // Kernel
    {
        name: "10^6 minute kernel build",
        resources: [["Kernel", "k", { source: { kind: "build", timeoutMinutes: 1e6 } }]],
        property: "source.timeoutMinutes",
        says: /less than or equal to 1440/,
    },
    {
        name: "shell line in a kernel config fragment",
        resources: [["Kernel", "k", { source: { kind: "build", fragments: ["CONFIG_X=y\nrm -rf /"] } }]],
        property: "source.fragments[0]",
        says: /not a kernel config line/,
    },
    {
        name: "make function in a kernel config string",
        resources: [["Kernel", "k", { source: { kind: "build", fragments: ['CONFIG_INITRAMFS_SOURCE="$(shell touch /tmp/pwned)"'] } }]],
        property: "source.fragments[0]",
        says: /must not contain '\$' or '`'/,
    },
    {
        name: "relative base config",
        resources: [["Kernel", "k", { source: { kind: "build", base: "configs/my.config" } }]],
        property: "source.base",
        says: /must be an absolute path on the host/,
    },
    {
        name: "kernel modules dir with '..'",
        resources: [["Kernel", "k", { source: { kind: "file", path: "/boot/vmlinuz", modulesDir: "/lib/modules/../../etc" } }]],
        property: "source.modulesDir",
        says: /must not contain '\.\.'/,
    },
    {
        name: "1 MB kernel path",
        resources: [["Kernel", "k", { source: { kind: "file", path: `/${MEGABYTE}` } }]],
        property: "source.path",
        says: /longer than 4096 bytes/,
    },
    {
        name: "1 MB kernel package",
        resources: [["Kernel", "k", { source: { kind: "debian", package: MEGABYTE } }]],
        property: "source.package",
        says: /at most 200 characters/,
    },
    {
        name: "newline in a kernel path",
        resources: [["Kernel", "k", { source: { kind: "file", path: "/boot/vmlinuz\n--kernel-args" } }]],
        property: "source.path",
        says: /control characters/,
    },
    // GuestImage
    {
        name: "relative guest file",
        resources: [["GuestImage", "i", { extraFiles: { "etc/motd": "hi" }, cacheDir: SENTINEL_DIR }]],
        property: "extraFiles.etc/motd",
        says: /must be an absolute path/,
    },
    {
        name: "guest file replacing init",
        resources: [["GuestImage", "i", { extraFiles: { "/init": "#!/bin/sh" }, cacheDir: SENTINEL_DIR }]],
        property: "extraFiles./init",
        says: /must not be \/init/,
    },
    { name: "relative image cache dir", resources: [["GuestImage", "i", { cacheDir: "cache" }]], property: "cacheDir", says: /must be an absolute path/ },
    {
        name: "image modules dir with '..'",
        resources: [["GuestImage", "i", { modulesDir: "/var/cache/netbed/../../../root", cacheDir: SENTINEL_DIR }]],
        property: "modulesDir",
        says: /must not contain '\.\.'/,
    },
    {
        name: "guest tool with arguments",
        resources: [["GuestImage", "i", { tools: ["iperf3 -s"], cacheDir: SENTINEL_DIR }]],
        property: "tools[0]",
        says: /must be one of/,
    },
    // SecurityProfile
    {
        name: "unknown seccomp preset",
        resources: [["SecurityProfile", "s", { seccomp: { preset: "permissive" }, cacheDir: SENTINEL_DIR }]],
        property: "seccomp.preset",
        says: /must be one of/,
    },
    {
        name: "shell in a syscall name",
        resources: [["SecurityProfile", "s", { seccomp: { extraAllow: ["execve;id"] }, cacheDir: SENTINEL_DIR }]],
        property: "seccomp.extraAllow[0]",
        says: /execve;id/,
    },
    {
        name: "uid past 32 bits",
        resources: [["SecurityProfile", "s", { user: 2 ** 32, group: 0, cacheDir: SENTINEL_DIR }]],
        property: "user",
        says: /less than or equal to 4294967294/,
    },
    {
        name: "Landlock port 0",
        resources: [["SecurityProfile", "s", { landlock: { bindPorts: [0] }, cacheDir: SENTINEL_DIR }]],
        property: "landlock.bindPorts[0]",
        says: /TCP port in 1\.\.65535/,
    },
    {
        name: "profile cache dir with '..'",
        resources: [["SecurityProfile", "s", { cacheDir: `${SENTINEL_DIR}/../../etc` }]],
        property: "cacheDir",
        says: /must not contain '\.\.'/,
    },
    {
        name: "10^12 open files",
        resources: [["SecurityProfile", "s", { rlimits: { nofile: 1e12 }, cacheDir: SENTINEL_DIR }]],
        property: "rlimits.nofile",
        says: /less than or equal to 1048576/,
    },
    {
        name: "relative Landlock exec path",
        resources: [["SecurityProfile", "s", { landlock: { exec: ["bin"] }, cacheDir: SENTINEL_DIR }]],
        property: "landlock.exec[0]",
        says: /must be an absolute path/,
    },
    {
        name: "unknown Landlock scope",
        resources: [["SecurityProfile", "s", { landlock: { scopes: ["everything"] }, cacheDir: SENTINEL_DIR }]],
        property: "landlock.scopes[0]",
        says: /must be one of/,
    },
    // BenchmarkRun
    {
        name: "pair label climbing out of the results dir",
        resources: [["BenchmarkRun", "r", run({ pairs: [{ ...PAIR, label: "../x" }] })]],
        property: "pairs[0].label",
        says: /it names a results directory/,
    },
    {
        name: "two pairs with one label",
        resources: [["BenchmarkRun", "r", run({ pairs: [PAIR, PAIR] })]],
        property: "pairs[1].label",
        says: /'bare' is also pairs\[0\]'s label/,
    },
    {
        name: "command substitution in a topology",
        resources: [["BenchmarkRun", "r", run({ pairs: [{ ...PAIR, topology: "$(id)" }] })]],
        property: "pairs[0].topology",
        says: /it names a results directory/,
    },
    {
        name: "10^12 repetitions",
        resources: [["BenchmarkRun", "r", run({ settings: { repetitions: 1e12 } })]],
        property: "settings.repetitions",
        says: /less than or equal to 1000/,
    },
    {
        name: "streams as a string",
        resources: [["BenchmarkRun", "r", run({ tests: [{ kind: "tcp", streams: "8" }] })]],
        property: "tests[0].streams",
        says: /Expected number, received string/,
    },
    {
        name: "one test twice",
        resources: [["BenchmarkRun", "r", run({ tests: [{ kind: "tcp" }, { kind: "tcp" }] })]],
        property: "tests",
        says: /give each test once/,
    },
    { name: "no pairs", resources: [["BenchmarkRun", "r", run({ pairs: [] })]], property: "pairs", says: /give at least one client\/server pair/ },
    {
        name: "relative results dir",
        resources: [["BenchmarkRun", "r", run({ resultsDir: "results" })]],
        property: "resultsDir",
        says: /must be an absolute path/,
    },
    {
        name: "unknown netperf test",
        resources: [["BenchmarkRun", "r", run({ tests: [{ kind: "rr", test: "SCTP_RR" }] })]],
        property: "tests[0].test",
        says: /TCP_RR/,
    },
    {
        name: "VM named to climb out of its run directory",
        resources: [["MicroVm", "../../../../etc/cron.d", vm({})]],
        property: "",
        says: /the resource name .* must not contain '\/'/,
    },
    {
        name: "newline in a resource name",
        resources: [["Tap", "t\nreboot", { name: "tapn" }]],
        property: "",
        says: /the resource name must not contain control characters/,
    },
    // HostTuning
    { name: "unknown governor", resources: [["HostTuning", "tu", { governor: "turbo" }]], property: "governor", says: /must be one of performance, powersave/ },
    {
        name: "sysctl key as a path out of /proc/sys",
        resources: [["HostTuning", "tu", { sysctls: { "net/../../../etc/passwd": "x" } }]],
        property: "sysctls.net/../../../etc/passwd",
        says: /is not a sysctl key/,
    },
    {
        name: "second line in a sysctl value",
        resources: [["HostTuning", "tu", { sysctls: { "net.core.rmem_max": "4194304\nkernel.core_pattern=|/tmp/x" } }]],
        property: "sysctls.net.core.rmem_max",
        says: /must be one line/,
    },
    {
        name: "1 MB sysctl value",
        resources: [["HostTuning", "tu", { sysctls: { "net.core.rmem_max": MEGABYTE } }]],
        property: "sysctls.net.core.rmem_max",
        says: /at most 4096 characters/,
    },
    { name: "boost as a string", resources: [["HostTuning", "tu", { boost: "off" }]], property: "boost", says: /Expected boolean, received string/ },
    {
        name: "10^12 as an IRQ CPU",
        resources: [["HostTuning", "tu", { irqAffinity: [{ match: "eth0", cpus: [1e12] }] }]],
        property: "irqAffinity[0].cpus[0]",
        says: /must be a CPU number/,
    },
    // MicroVm
    { name: "10^12 vCPUs", resources: [["MicroVm", "vm", vm({ vcpus: 1e12 })]], property: "vcpus", says: /less than or equal to 64/ },
    { name: "memory as a string", resources: [["MicroVm", "vm", vm({ memoryMiB: "lots" })]], property: "memoryMiB", says: /Expected number, received string/ },
    { name: "unknown accelerator", resources: [["MicroVm", "vm", vm({ accel: "hvf" })]], property: "accel", says: /Invalid enum value/ },
    {
        name: "unknown NIC backend",
        resources: [["MicroVm", "vm", vm({ nics: [{ backend: "e1000", tap: "tap0", address: "10.9.0.10/24" }] })]],
        property: "nics[0].backend",
        says: /must be one of virtio, vhost-net, macvtap/,
    },
    { name: "relative kernel path", resources: [["MicroVm", "vm", vm({ kernel: "vmlinuz" })]], property: "kernel", says: /must be an absolute path/ },
    {
        name: "NIC tap that reads as an option",
        resources: [["MicroVm", "vm", vm({ nics: [{ backend: "virtio", tap: "-tap0", address: "10.9.0.10/24" }] })]],
        property: "nics[0].tap",
        says: /must not start with '-'/,
    },
    {
        name: "two NICs with one MAC",
        resources: [
            [
                "MicroVm",
                "vm",
                vm({
                    nics: [
                        { backend: "virtio", tap: "tap0", address: "10.9.0.10/24", mac: "02:00:00:00:00:09" },
                        { backend: "virtio", tap: "tap1", address: "10.9.1.10/24", mac: "02:00:00:00:00:09" },
                    ],
                }),
            ],
        ],
        property: "nics[1].mac",
        says: /is also nics\[0\]'s/,
    },
    {
        name: "10^12 s boot timeout",
        resources: [["MicroVm", "vm", vm({ bootTimeoutSeconds: 1e12 })]],
        property: "bootTimeoutSeconds",
        says: /less than or equal to 3600/,
    },
    {
        name: "custom VMM argv without a driver",
        resources: [["MicroVm", "vm", vm({ custom: { argv: ["/bin/sh", "-c", "id"] } })]],
        property: "custom",
        says: /only applies to driver 'custom'/,
    },
    {
        name: "kernel path with '..'",
        resources: [["MicroVm", "vm", vm({ kernel: "/var/cache/netbed/../../../etc/shadow" })]],
        property: "kernel",
        says: /must not contain '\.\.'/,
    },
    {
        name: "image path with '..'",
        resources: [["MicroVm", "vm", vm({ image: "/var/cache/netbed/../../../root/initrd" })]],
        property: "image",
        says: /must not contain '\.\.'/,
    },
    {
        name: "VMM binary path with '..'",
        resources: [["MicroVm", "vm", vm({ binary: "/usr/bin/../../tmp/qemu" })]],
        property: "binary",
        says: /must not contain '\.\.'/,
    },
    { name: "1 MB kernel command line word", resources: [["MicroVm", "vm", vm({ cmdline: [MEGABYTE] })]], property: "cmdline[0]", says: /at most/ },
    {
        name: "10^12 as a CPU to pin to",
        resources: [["MicroVm", "vm", vm({ pinning: { other: [1e12] } })]],
        property: "pinning.other[0]",
        says: /less than or equal to 8191/,
    },
];
