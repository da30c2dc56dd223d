// What a host offers (its tools, kernel, CPUs: core/probe.ts parses), and whether a network
// namespace exists on this machine. Used by the Host handler, the plugin's host facts and the benchmark.
import { type HostProbe, PROBE_SCRIPT, parseProbe } from "../../core/probe";
import { LocalTransport, type Transport } from "../transport";

const local = new LocalTransport("local");

export async function netnsExists(ns: string): Promise<boolean> {
    const r = await local.run(["ip", "netns", "list"]);
    return r.stdout.split("\n").some((l) => l.split(" ")[0] === ns);
}

export async function probeHost(t: Transport, timeoutMs = 60_000): Promise<HostProbe> {
    const r = await t.run(["sh", "-s"], { stdin: PROBE_SCRIPT, timeoutMs });
    return parseProbe(r.stdout);
}
