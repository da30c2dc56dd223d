import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { parseProcStat, vhostThreadIds } from "../../../core/procstat";

describe("/proc/<pid>/stat parser", () => {
    it("reads the fields after a name that holds spaces and parentheses", () => {
        const line = "4242 (qemu (x) y) Z 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 1000 300 20 0 11 0 123456 789 12\n";
        assert.deepEqual(parseProcStat(line), {
            pid: 4242,
            comm: "qemu (x) y",
            state: "Z",
            ppid: 17,
            utime: 250,
            stime: 50,
            cutime: 1000,
            cstime: 300,
            startTime: "123456",
        });
    });
    it("refuses what is not a stat line, and reads this process's own", () => {
        assert.equal(parseProcStat("4242 (cat) R 1"), undefined);
        assert.equal(parseProcStat("cpu  100 10 50 1000 5 1 2 0 20 0"), undefined);
        const self = parseProcStat(fs.readFileSync("/proc/self/stat", "utf8"))!;
        assert.equal(self.pid, process.pid);
        assert.equal(self.ppid, process.ppid);
        assert.equal(self.state, "R");
        assert.match(self.startTime ?? "", /^\d+$/);
    });
});

describe("vhost worker threads in ps output", () => {
    it("finds a VMM's vhost workers by name in ps output (threads since Linux 6.4, kthreads before)", () => {
        const ps = "    1 systemd\n 4242 qemu-system-x86\n 4250 vhost-4242\n 4251 vhost-4242\n  900 vhost-9999\n  77 kworker/0:1\n";
        assert.deepEqual(vhostThreadIds(ps, 4242), [4250, 4251]);
        assert.deepEqual(vhostThreadIds(ps, 1), []);
    });
});
