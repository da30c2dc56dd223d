import { strict as assert } from "node:assert";
import { GUEST_INIT, consoleErrors, guestCmdline, parseLdd, parseReadyLine } from "../../../core/guestinit";
import { sh } from "../../helpers";

describe("guest init", () => {
    it("renders the command line the init reads", () => {
        assert.deepEqual(guestCmdline([{ mac: "02:00:00:00:00:01", address: "10.0.0.2/24", gateway: "10.0.0.1", mtu: 9000 }], ["iperf3", "sockperf"]), [
            "netbed.nic=02:00:00:00:00:01,10.0.0.2/24,gw=10.0.0.1,mtu=9000",
            "netbed.servers=iperf3,sockperf",
        ]);
        assert.throws(() => guestCmdline([{ mac: "02:00:00:00:00:01", address: "10.0.0.2" }], []), /prefix length/);
        assert.throws(() => guestCmdline([{ mac: "zz", address: "10.0.0.2/24" }], []), /MAC/);
        assert.deepEqual(guestCmdline([], ["agent"], { pollUs: 50, readUs: 0 }), ["netbed.servers=agent", "netbed.busy_poll=50,0"]);
        assert.throws(() => guestCmdline([], [], { pollUs: 50, readUs: 1.5 }), /busyPoll.readUs must be a whole number/);
        assert.throws(() => guestCmdline([], [], { pollUs: 20_000, readUs: 0 }), /busyPoll.pollUs must be at most 10000/);
    });
    it("parses the readiness line even after console escape sequences", () => {
        const r = parseReadyLine("SeaBIOS\n\x1bc\x1b[?7lNETBED-READY uptime=1.87 nics=eth0@10.0.0.2/24,eth1@fd00::2/64 servers=iperf3\r\n");
        assert.deepEqual(r, { uptime: 1.87, nics: { eth0: "10.0.0.2/24", eth1: "fd00::2/64" }, servers: ["iperf3"] });
        assert.equal(parseReadyLine("booting..."), undefined);
        // A console read while init writes the line: not ready until the line is whole.
        assert.equal(parseReadyLine("NETBED-READY uptime=1.8"), undefined);
        assert.equal(parseReadyLine("NETBED-READY uptime=1.87 nics=eth0@10.0.0.2/24 servers=iperf3\n")?.uptime, 1.87);
        // The busy polling init read back; "none" where the kernel has no such sysctl.
        assert.deepEqual(parseReadyLine("NETBED-READY uptime=1.9 nics= servers=agent busy_poll=50 busy_read=25\n")?.busyPoll, { pollUs: 50, readUs: 25 });
        assert.equal(parseReadyLine("NETBED-READY uptime=1.9 nics= servers=agent busy_poll=none busy_read=none\n")?.busyPoll, undefined);
        assert.deepEqual(consoleErrors("x\nNETBED-ERROR insmod virtio.ko failed\n"), ["insmod virtio.ko failed"]);
    });
    it("the init script is valid sh", () => {
        const r = sh(["sh", "-n"], GUEST_INIT);
        assert.equal(r.code, 0, r.stderr);
    });
    it("parses ldd output", () => {
        const libs = parseLdd(
            "\tlinux-vdso.so.1 (0x00007ffd)\n\tlibiperf.so.0 => /lib/x86_64-linux-gnu/libiperf.so.0 (0x7f)\n\t/lib64/ld-linux-x86-64.so.2 (0x7f)\n",
        );
        assert.deepEqual(libs, ["/lib/x86_64-linux-gnu/libiperf.so.0", "/lib64/ld-linux-x86-64.so.2"]);
    });
});
