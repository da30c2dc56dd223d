// One process-liveness rule (pid and start time) for the MicroVm handler and the benchmark, and one
// vhost-worker naming rule: a pid the kernel gave to another process reads as gone.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import { identityOf, isSameProcess, isVhostWorker, vhostThreadIds, vhostWorkerName } from "../../core/procstat";
import { deadGuests, type Pair } from "../../providers/benchmark/endpoints";
import { microvmHandler } from "../../providers/resources/microvm";
import { handlerCtx } from "../helpers/ctx";

const ctx = handlerCtx("BenchmarkRun", "b", { project: "p", stack: "s" });
const host = { kind: "local" as const, name: "me" };
const ownStart = () => identityOf(fs.readFileSync(`/proc/${process.pid}/stat`, "utf8"))!.start;
const earlier = () => String(Number(ownStart()) - 1);

/** A pair whose server is a guest whose VMM pid is this test's own process. */
const pair = {
    label: "p",
    client: { kind: "host", host, address: "127.0.0.1" },
    server: { kind: "vm", name: "g", host, via: host, address: "10.0.0.2", pid: process.pid, backend: "virtio" },
} as unknown as Pair;

describe("process liveness: pid and start time", () => {
    it("reads a zombie and a line that is no stat line as no process", () => {
        assert.equal(identityOf("42 (qemu) Z 1 42 42 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 1 0 777 0 0"), undefined);
        assert.equal(identityOf(""), undefined);
        assert.deepEqual(identityOf("42 (qemu) S 1 42 42 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 1 0 777 0 0"), { start: "777", comm: "qemu" });
        assert.ok(!isSameProcess("42 (qemu) S 1 42 42 0 -1 4194560 1 0 0 0 5 6 0 0 20 0 1 0 778 0 0", "777"));
    });

    it("the benchmark takes a guest whose VMM pid now belongs to another process for dead", async () => {
        assert.deepEqual(await deadGuests(ctx, pair, new Map([["g", ownStart()]])), []);
        assert.deepEqual(await deadGuests(ctx, pair, new Map([["g", earlier()]])), [`guest g's VMM (pid ${process.pid}) died`]);
        assert.deepEqual(await deadGuests(ctx, pair, new Map([["g", undefined]])), [`guest g's VMM (pid ${process.pid}) died`]);
    });

    it("a MicroVm's diff finds its VMM gone when its pid runs another process", async () => {
        const state = {
            host,
            pid: process.pid,
            startTime: ownStart(),
            kernel: "/k",
            image: "/i",
            nics: [{ backend: "virtio", tap: "t0", address: "10.0.0.2/24" }],
        };
        const mctx = { ...(ctx as object), name: "g" } as never;
        // Only what gone() reads of a state: typed state has more.
        assert.equal(await microvmHandler.gone!(mctx, state as never), undefined);
        assert.match(String((await microvmHandler.gone!(mctx, { ...state, startTime: earlier() } as never))?.reason), /is no longer running/);
    });
});

describe("vhost worker threads: one naming rule", () => {
    it("names them vhost-<VMM pid> and matches that name only", () => {
        assert.equal(vhostWorkerName(4242), "vhost-4242");
        assert.ok(isVhostWorker("vhost-4242", 4242));
        assert.ok(!isVhostWorker("vhost-42420", 4242));
        assert.deepEqual(vhostThreadIds(" 4250 vhost-4242\n 4251 vhost-42420\n 900 vhost-9999\n", 4242), [4250]);
    });
});
