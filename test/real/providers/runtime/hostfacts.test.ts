// A first preview knows what its hosts can do: check() probes a host whose Host resource does not
// exist yet (read-only, bounded), so what the host lacks is refused before anything is created.
import { strict as assert } from "node:assert";
import { UNKNOWN } from "../../../../core/secrets";
import { probeHost } from "../../../../providers/hostops/probe";
import { handlers } from "../../../../providers/resources/index";
import { MemoryLogger } from "../../../../providers/runtime/log";
import { NetbedProvider } from "../../../../providers/runtime/provider";
import { LocalTransport } from "../../../../providers/transport";
import { freeSubnet, isRoot, netnsList, uniq } from "../../../helpers";
import { type Sshd, startSshd } from "../../../helpers/sshd";

const VM = "urn:pulumi:p::testbed::netbed:index:MicroVm::vm";
const NIC = { backend: "virtio", tap: "tap0", address: "10.0.0.2/24" };

function vmInputs(host: unknown, extra: Record<string, unknown> = {}) {
    // As a first preview sends them: the Host's probe (hostCaps), the kernel, image and profile are not known yet.
    return { host, kernel: UNKNOWN, image: UNKNOWN, imageSize: UNKNOWN, security: UNKNOWN, nics: [NIC], hostCaps: UNKNOWN, ...extra };
}

async function failures(p: NetbedProvider, inputs: Record<string, unknown>): Promise<string[]> {
    const r = await p.check(VM, {}, inputs);
    return (r.failures ?? []).map((f) => `${f.property}: ${f.reason}`);
}

describe("host facts at check (a fresh stack's preview)", () => {
    before(function () {
        if (!isRoot()) this.skip();
    });

    it("a namespace host not created yet: this machine's vhost-net, KVM and CPUs decide, and nothing is created", async () => {
        const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
        const ns = `nbhf-${uniq()}`;
        const host = { kind: "netns", name: "srv", namespace: ns };
        const probe = await probeHost(new LocalTransport("local"));
        const vhost = await failures(p, vmInputs(host, { nics: [{ ...NIC, backend: "vhost-net" }] }));
        assert.equal(
            vhost.some((f) => /vhost-net backend needs \/dev\/vhost-net on host 'srv'/.test(f)),
            !probe.vhostNet,
            vhost.join("; "),
        );
        const kvm = await failures(p, vmInputs(host, { accel: "kvm" }));
        assert.equal(
            kvm.some((f) => /^accel: host 'srv' cannot run stock guests under KVM/.test(f)),
            !probe.kvm.usable,
            kvm.join("; "),
        );
        const cpu = await failures(p, vmInputs(host, { pinning: { vcpus: [probe.cores + 97] } }));
        assert.deepEqual(cpu, [`pinning.vcpus[0]: CPU ${probe.cores + 97} does not exist on host 'srv' (it has CPUs 0-${probe.cores - 1})`]);
        assert.deepEqual(await failures(p, vmInputs(host)), []);
        assert.ok(!netnsList().includes(ns), "a check creates no namespace");
    });

    it("a macvtap's parent NIC that a new namespace will not have is refused", async () => {
        const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
        const r = await p.check(
            "urn:pulumi:p::testbed::netbed:index:MacvtapLink::mv",
            {},
            { host: { kind: "netns", name: "srv", namespace: `nbhf-${uniq()}` }, name: "mv0", parent: "enp9s0", hostInterfaces: UNKNOWN },
        );
        assert.deepEqual(
            r.failures?.map((f) => f.property),
            ["parent"],
        );
        assert.match(r.failures![0].reason, /'enp9s0' is not an interface of host 'srv' \(it has lo\)/);
    });

    describe("over SSH", () => {
        let sshd: Sshd;
        before(async () => {
            sshd = await startSshd(`nbhf-${uniq()}`, `nbhf${uniq()}`, freeSubnet("10.254"));
        });
        after(() => sshd?.stop());
        const ssh = (fingerprint: string, host = sshd.nsIp) => ({
            kind: "ssh",
            name: "lab",
            ssh: {
                host,
                port: sshd.port,
                user: "root",
                privateKey: sshd.key,
                hostKeyFingerprint: fingerprint,
                connectTimeoutMs: 10_000,
                dialRetries: 3,
                keepaliveIntervalMs: 15_000,
            },
        });

        it("probes the machine itself: a CPU it lacks is refused, its NICs are known", async () => {
            const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
            const cpu = await failures(p, vmInputs(ssh(sshd.fingerprint), { pinning: { vcpus: [999] } }));
            assert.match(cpu.join(), /pinning.vcpus\[0\]: CPU 999 does not exist on host 'lab'/);
            const r = await p.check(
                "urn:pulumi:p::testbed::netbed:index:MacvtapLink::mv",
                {},
                { host: ssh(sshd.fingerprint), name: "mv0", parent: "nope0", hostInterfaces: UNKNOWN },
            );
            assert.match(r.failures![0].reason, /'nope0' is not an interface of host 'lab' \(it has lo, nbhf\w+p\)/);
        });

        it("a changed host key is refused at check, naming the key it saw", async () => {
            const p = new NetbedProvider("0.0.0-test", handlers, new MemoryLogger());
            const r = await p.check(VM, {}, vmInputs(ssh(`SHA256:${"A".repeat(43)}`)));
            assert.deepEqual(
                r.failures?.map((f) => f.property),
                ["host"],
            );
            assert.match(
                r.failures![0].reason,
                new RegExp(`SSH host key ${sshd.fingerprint.replace(/[+/]/g, "\\$&")} does not match the pinned hostKeyFingerprint`),
            );
        });

        it("an unreachable machine: the check goes on with a warning, within the preview's bound", async () => {
            const log = new MemoryLogger();
            const p = new NetbedProvider("0.0.0-test", handlers, log);
            const t0 = Date.now();
            // An address of the test's /30 that nobody holds: the connection attempt times out.
            assert.deepEqual(await failures(p, vmInputs(ssh(sshd.fingerprint, sshd.nsIp.replace(/\.2$/, ".3")), { pinning: { vcpus: [999] } })), []);
            assert.ok(Date.now() - t0 < 8_000, `took ${Date.now() - t0} ms`);
            assert.ok(
                log.lines.some((l) => /warn: host 'lab' could not be probed .*refused when it is created instead/.test(l)),
                log.lines.join("\n"),
            );
        });
    });
});
