import { strict as assert } from "node:assert";
import { PROBE_SCRIPT, kvmInfo, parseInterrupts, parseKeyValues, parseProbe, parseToolVersion } from "../../../core/probe";
import { sh } from "../../helpers";

const SAMPLE = `hostname=bench1
arch=x86_64
kernel=6.1.0-28-amd64
cpu_model= Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz
cores=16
mem_kb=65536000
os=Debian GNU/Linux 12 (bookworm)
os_like=debian 
debian_version=12.8
kvm_dev=1
module_kvm_intel=1
vhost_net_dev=1
tun_dev=1
config_CONFIG_MACVTAP=m
landlock_abi=4
seccomp_actions=kill_process kill_thread trap errno user_notif trace log allow
tool_iperf3_path=/usr/bin/iperf3
tool_iperf3_version=iperf 3.12 (cJSON 1.7.15)
tool_qemu_system_x86_64_path=/usr/bin/qemu-system-x86_64
tool_qemu_system_x86_64_version=QEMU emulator version 7.2.15 (Debian 1:7.2+dfsg-7+deb12u12)
tool_netperf_path=/usr/bin/netperf
tool_netperf_version=Netperf version 2.7.0
probe_done=1
`;

describe("host probe parsing", () => {
    it("reads a bare-metal KVM host", () => {
        const p = parseProbe(SAMPLE);
        assert.equal(p.cpuModel, "Intel(R) Xeon(R) E-2288G CPU @ 3.70GHz");
        assert.equal(p.cores, 16);
        assert.equal(p.memoryMiB, 64000);
        assert.deepEqual(p.kvm, { device: true, usable: true, flavour: "intel" });
        assert.equal(p.vhostNet, true);
        assert.equal(p.macvtap, true);
        assert.equal(p.landlockAbi, 4);
        assert.equal(p.seccompFilter, true);
        assert.equal(p.debianLike, true);
        assert.deepEqual(p.tools.iperf3, { path: "/usr/bin/iperf3", version: "3.12" });
        assert.equal(p.tools["qemu-system-x86_64"].version, "7.2.15");
        assert.equal(p.tools.netperf.version, "2.7.0");
        assert.deepEqual(p.tools.sockperf, {});
    });

    it("refuses PVM's /dev/kvm for stock guests", () => {
        const k = kvmInfo(parseKeyValues("kvm_dev=1\nmodule_kvm_pvm=1\nmodule_kvm_intel=1\n"));
        assert.equal(k.usable, false);
        assert.equal(k.flavour, "pvm");
        assert.match(k.reason!, /PVM/);
        assert.equal(kvmInfo(parseKeyValues("")).flavour, "none");
        assert.equal(kvmInfo(parseKeyValues("kvm_dev=1\n")).usable, false);
    });

    it("states the TSC frequency only where /proc/cpuinfo's 'cpu MHz' is the TSC's", () => {
        const tsc = (extra: string) => parseProbe(`${SAMPLE}cpu_mhz= 2694.863\ncpuflag_constant_tsc=1\n${extra}probe_done=1\n`).tscKhz;
        assert.equal(tsc(""), 2694863);
        assert.equal(tsc("cpufreq=1\n"), undefined, "a cpufreq driver: the line is a core's current clock");
        assert.equal(tsc("cpuflag_aperfmperf=1\n"), undefined, "APERF/MPERF: the line is measured, not the TSC's");
        assert.equal(parseProbe(SAMPLE).tscKhz, undefined, "no constant TSC stated");
    });

    it("rejects a probe that did not finish", () => {
        assert.throws(() => parseProbe("hostname=x\n"), /did not finish/);
    });

    it("parses the version lines of the tools as they print them", () => {
        assert.equal(parseToolVersion("sockperf", "sockperf, version 3.7-no.git"), "3.7");
        assert.equal(parseToolVersion("ping", "ping from iputils 20221126"), "20221126");
        assert.equal(parseToolVersion("ip", "ip utility, iproute2-6.1.0, libbpf 1.1.2"), "6.1.0");
        assert.equal(parseToolVersion("ethtool", "ethtool version 6.1"), "6.1");
    });

    it("parses /proc/interrupts", () => {
        const t =
            "           CPU0       CPU1       \n 26:          0          5  IO-APIC   4-edge      ttyS0\n 30:   9   1  PCI-MSIX-0000:00:01.0   2-edge      virtio0-input.0\nNMI:  0  0   Non-maskable interrupts\n";
        assert.deepEqual(parseInterrupts(t), [
            { irq: 26, name: "ttyS0" },
            { irq: 30, name: "virtio0-input.0" },
        ]);
    });

    it("runs on this machine and reports what it has", () => {
        const r = sh(["sh", "-s"], PROBE_SCRIPT);
        assert.equal(r.code, 0, r.stderr);
        const p = parseProbe(r.stdout);
        assert.ok(p.cores >= 1);
        assert.ok(p.memoryMiB > 0);
        assert.equal(p.kernelRelease, sh(["uname", "-r"]).stdout.trim());
        assert.equal(p.tun, sh(["test", "-c", "/dev/net/tun"]).code === 0);
        assert.equal(p.vhostNet, sh(["test", "-c", "/dev/vhost-net"]).code === 0);
        assert.equal(p.tools.ip.path !== undefined, true);
    });
});
