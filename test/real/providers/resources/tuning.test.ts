// HostTuning on a real netns host: per-namespace sysctls set and restored, what this machine lacks
// (cpufreq, boost) skipped with the reason, drift seen on refresh, bad input refused.
import { strict as assert } from "node:assert";
import { cpuDirs, sameSysctl, sysctlPath, sysctlProblem } from "../../../../core/tuning";
import { hostHandler } from "../../../../providers/resources/host";
import { tuningHandler } from "../../../../providers/resources/tuning";
import { HostArgsSchema, type HostConnection } from "../../../../schema/host";
import { HostTuningArgsSchema } from "../../../../schema/tuning";
import { must, netnsList, uniq } from "../../../helpers";
import { handlerCtx } from "../../../helpers/ctx";

describe("HostTuning", function () {
    this.timeout(120_000);

    it("pure: sysctl keys, paths and values", () => {
        assert.equal(sysctlPath("net.core.rmem_max"), "/proc/sys/net/core/rmem_max");
        assert.equal(sysctlProblem("net.ipv4.conf.eth0-1.forwarding"), undefined);
        for (const bad of ["net", "../etc/passwd", "net..core", "net.core.rmem_max/../x", "-n.x", "net.core.$(id)"]) assert.ok(sysctlProblem(bad), bad);
        assert.match(sysctlProblem("kernel.core_pattern")!, /is not a tuning sysctl: netbed sets only net\.\*, vm\.\*, kernel\.sched_\*/);
        assert.equal(sysctlProblem("kernel.numa_balancing"), undefined);
        assert.ok(sysctlProblem("kernel.numa_balancing_x"));
        assert.ok(sameSysctl("4096\t131072\t6291456", "4096 131072 6291456"));
        assert.deepEqual(cpuDirs("cpu1 cpufreq cpu0 cpuidle cpu10 online"), ["cpu0", "cpu1", "cpu10"]);
    });

    it("bad input is refused with the field named", () => {
        const issues = (a: Record<string, unknown>) => {
            const r = HostTuningArgsSchema.safeParse({ host: { kind: "local", name: "h" }, ...a });
            return r.success ? "" : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
        };
        assert.match(issues({ governor: "turbo" }), /governor: must be one of performance/);
        assert.match(issues({ sysctls: { "../../etc/shadow": 1 } }), /is not a sysctl key/);
        assert.match(issues({ sysctls: { "net.core.rmem_max": "1\n2" } }), /sysctls.net.core.rmem_max: must be one line/);
        assert.match(issues({ irqAffinity: [{ match: "eth0;reboot", cpus: [0] }] }), /irqAffinity.0.match: must be part of an IRQ name/);
        assert.match(issues({ boost: "off" }), /boost: Expected boolean/);
    });

    it("applies per-namespace sysctls and restores them; skips what the host lacks; refresh sees drift", async () => {
        const ns = `nbt-tune-${uniq()}`;
        const h = await hostHandler.create(handlerCtx("Host", "h", { project: "tune" }), HostArgsSchema.parse({ kind: "netns", namespace: ns }));
        const host = (h.outs as any).connection as HostConnection;
        const read = (key: string) => must(["ip", "netns", "exec", ns, "cat", sysctlPath(key)]).trim();
        try {
            const before = read("net.core.somaxconn");
            const fwdBefore = read("net.ipv4.ip_forward");
            const ctx = handlerCtx("HostTuning", "t", { project: "tune" });
            const args = HostTuningArgsSchema.parse({
                host,
                governor: "performance",
                boost: false,
                sysctls: { "net.core.somaxconn": 1234, "net.ipv4.ip_forward": "1", "net.ipv4.tcp_rmem": "4096 262144 8388608", "net.core.no_such_knob": 1 },
                irqAffinity: [{ match: "nosuchnic0", cpus: [0] }],
            });
            const c = await tuningHandler.create(ctx, args);
            const applied = c.outs.applied as any[];
            const by = (s: string) => applied.find((a) => a.setting === s);
            assert.equal(read("net.core.somaxconn"), "1234");
            assert.equal(by("net.core.somaxconn").before, before);
            assert.equal(read("net.ipv4.ip_forward"), "1");
            assert.ok(sameSysctl(read("net.ipv4.tcp_rmem"), "4096 262144 8388608"));
            assert.match(by("net.core.no_such_knob").skipped, /has no sysctl net.core.no_such_knob/);
            // This machine (a VM) has no cpufreq and no boost control: skipped with the reason, logged.
            const gov = applied.filter((a) => a.setting.startsWith("governor"));
            if (gov.every((g) => g.skipped)) assert.match(ctx.log.lines.join("\n"), /governor.*skipped/);
            if (by("boost").skipped) assert.match(by("boost").skipped, /exposes no boost control/);
            assert.match((c.outs.irqs as any[])[0].skipped, /no IRQ on host .* matches 'nosuchnic0'/);
            // Drift: someone changes a setting behind netbed's back.
            assert.deepEqual((await tuningHandler.read(ctx, c.id, c.outs))!.drift, []);
            must(["ip", "netns", "exec", ns, "sh", "-c", "echo 999 > /proc/sys/net/core/somaxconn"]);
            assert.match(((await tuningHandler.read(ctx, c.id, c.outs))!.drift as string[]).join(), /net.core.somaxconn: .* is 999, was set to 1234/);
            await tuningHandler.delete(ctx, c.id, c.outs);
            assert.equal(read("net.core.somaxconn"), before, "restored on delete");
            assert.equal(read("net.ipv4.ip_forward"), fwdBefore);
        } finally {
            await hostHandler.delete(handlerCtx("Host", "h", { project: "tune" }), h.id, h.outs);
            assert.ok(!netnsList().includes(ns));
        }
    });
});
