// MicroVm: a detached VMM (it outlives this plugin process) tracked by pid and
// start time, booted to the image's readiness line, optionally pinned.
import { networkStackOf } from "../../core/placement";
import { type ReadyLine, consoleErrors, parseReadyLine } from "../../core/guestinit";
import * as fs from "node:fs";
import { randomBytes } from "node:crypto";
import { AGENT_KEY_FILE } from "../../core/agent";
import { newcArchive } from "../../core/cpio";
import { busyPollMismatch, notificationModel } from "../../core/notification";
import { DRIVER_MODELS, type DriverModel, type Launch } from "../../core/vmm";
import { type VmmNic, chooseAccel, nextFd, nicsOf, ownTapName, vmSpec } from "../../core/vmspec";
import { detachArgv, withDeviceFds } from "../../core/detach";
import { UNKNOWN } from "../../core/secrets";
import type { HostConnection } from "../../schema/host";
import {
    MicroVmArgsSchema,
    type MicroVmInputs,
    type MicroVmOutputs,
    MicroVmOutputsSchema,
    type MicroVmState,
    type Placement,
    guestServers,
    microVmHostCaps,
} from "../../schema/microvm";
import { type Ctx, type ReplaceOnlyHandler, inputsFromState, replaceOnlyTable } from "../runtime/resource";
import { deleteTap, tapHandler } from "./tap";
import { TapArgsSchema } from "../../schema/tap";
import { urnName, urnTag } from "../../core/names";
import type { CheckFailure } from "../../core/check";
import { sleep } from "../../core/sleep";
import { type Transport, hostTransport } from "../transport";
import { applyPinning, placementOf, resolveBinary } from "../hostops/vmm";
import { type IrqApplied, WRITE_FILE, applyIrqAffinity, restoreIrqAffinity } from "../hostops/irq";
import { confinement } from "../hostops/vm-confinement";
import { alive, aliveHere, processIdentity } from "../hostops/process";

const VM_DIR = "/run/netbed/vms";

function ownTapCtx(ctx: Ctx, nic: number): Ctx {
    return { ...ctx, urn: `${ctx.urn}#tap${nic}`, name: `${ctx.name}-tap${nic}` };
}

/** Creates the taps for NICs that name a bridge, under the names the VM spec gives them (core/vmspec.ts ownTapName). */
async function makeOwnTaps(ctx: Ctx, i: MicroVmInputs): Promise<void> {
    for (const [k, n] of i.nics.entries()) {
        if (n.bridge === undefined) continue;
        const name = ownTapName(ctx.urn, k);
        await tapHandler.create(ownTapCtx(ctx, k), TapArgsSchema.parse({ host: i.host, name, bridge: n.bridge, multiQueue: n.queues > 1, queues: n.queues }));
    }
}

async function removeOwnTaps(ctx: Ctx, i: MicroVmInputs): Promise<void> {
    for (const [k, n] of i.nics.entries()) {
        if (n.bridge === undefined) continue;
        const name = ownTapName(ctx.urn, k);
        await deleteTap(ownTapCtx(ctx, k), i.host, name);
    }
}

/** The VM's run directory, named by its URN too: a VM of the same name in another stack has its own. */
export function runDir(host: HostConnection, name: string, urn: string): string {
    return `${VM_DIR}/${networkStackOf(host)}/${name}-${urnTag(urn)}`;
}

/** sun_path holds 108 bytes with its NUL: a longer path fails only when the VMM or its launcher binds it. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * The unix sockets the VMM listens on in its run directory, as its driver renders them. The NICs are
 * stand-ins (their taps and devices do not exist at check): no socket depends on them, and a custom
 * template that names them renders.
 */
function runSockets(i: MicroVmInputs, name: string, dir: string): string[] {
    const nics = i.nics.map((n, k): VmmNic => ({ ...n, tap: n.tap ?? `tap${k}`, fd: 3 + k, mac: n.mac ?? "02:00:00:00:00:00", vhost: false }));
    const spec = vmSpec(i, nics, { name, binary: i.binary ?? "", accel: "tcg", dir, servers: guestServers(i) });
    const launch = DRIVER_MODELS[i.driver].render(spec);
    return [...launch.listen.map((l) => l.path), ...(launch.agent ? [launch.agent] : [])];
}

/** The input that, with the VM's name, makes its run directory's path long: the host's namespace or SSH address. */
function hostPart(host: HostConnection): { property: string; label: string; value: string } | undefined {
    if (host.kind === "netns") return { property: "host.namespace", label: "the host's namespace", value: host.namespace };
    if (host.kind === "ssh") return { property: "host.ssh.host", label: "the host's SSH address", value: host.ssh.host };
    return undefined;
}

/** A socket path past sun_path's limit, refused before anything exists with the names that make it long. */
export function socketPathFailures(urn: string, i: MicroVmInputs): CheckFailure[] {
    const name = urnName(urn);
    const bytes = (s: string) => Buffer.byteLength(s, "utf8");
    const long = runSockets(i, name, runDir(i.host, name, urn)).reduce((a, b) => (bytes(b) > bytes(a) ? b : a), "");
    if (bytes(long) <= MAX_SOCKET_PATH_BYTES) return [];
    const host = hostPart(i.host);
    return [
        {
            property: host?.property ?? "name",
            reason:
                `the VM's socket ${long} would be ${bytes(long)} bytes, and a unix socket path has at most ${MAX_SOCKET_PATH_BYTES} (sun_path): ` +
                `give the MicroVm a shorter name than '${name}' (${bytes(name)} bytes)${host ? ` or ${host.label} '${host.value}' (${bytes(host.value)} bytes)` : ""}`,
        },
    ];
}

/**
 * The run directory of a recorded VM: the one its console log is in. Versions before run
 * directories carried the URN's hash named it by the VM's name alone; any other log path is not
 * this resource's and is ignored.
 */
function recordedRunDir(ctx: Ctx, host: HostConnection, consoleLog: unknown): string {
    const byName = `${VM_DIR}/${networkStackOf(host)}/${ctx.name}`;
    return consoleLog === `${byName}/console.log` ? byName : runDir(host, ctx.name, ctx.urn);
}

const UNCONFINED =
    "no SecurityProfile: the VMM runs unconfined as root (every capability, no Landlock, no seccomp filter); give the MicroVm a SecurityProfile to confine it";

/**
 * Sends a line to the guest's serial console (netbed's init obeys "poweroff"): the VMM reads its
 * stdin from a FIFO it holds open for reading and writing, so this write never blocks on a live VM.
 */
async function consoleSend(t: Transport, dir: string, line: string): Promise<void> {
    await t.run(["sh", "-c", WRITE_FILE, "sh", `${dir}/console.in`, line], { timeoutMs: 5000 });
}

async function stop(ctx: Ctx, t: Transport, dir: string, pid: number, start: string, line: "poweroff" | "reboot"): Promise<void> {
    if (!(await alive(t, pid, start))) return;
    await consoleSend(t, dir, line).catch(() => undefined);
    for (let k = 0; k < 100 && (await alive(t, pid, start)); k++) await sleep(200);
    if (await alive(t, pid, start)) {
        ctx.log.warn(ctx.urn, `guest did not power off within 20 s: killing VMM pid ${pid}`);
        await t.run(["kill", "-KILL", String(pid)], { check: false });
        for (let k = 0; k < 50 && (await alive(t, pid, start)); k++) await sleep(100);
    }
}

/**
 * Kills a VMM that a create cut short left running (the engine killed while the guest booted): its
 * pid is in this VM's run directory (named by the URN) and its stdout is this VM's console log, so
 * it is this resource's own. Left alone it would run on beside the new VMM, unknown to the state.
 */
async function killLeftover(ctx: Ctx, t: Transport, dir: string): Promise<void> {
    const r = await t.run(["cat", "--", `${dir}/pid`], { check: false });
    const pid = Number(r.stdout.trim());
    if (r.code !== 0 || !Number.isInteger(pid) || pid <= 1) return;
    const id = await processIdentity(t, pid);
    const out = await t.run(["readlink", "--", `/proc/${pid}/fd/1`], { check: false });
    // Alive with the same start time after the look at its stdout: not a pid reused in between.
    if (!id || out.stdout.trim() !== `${dir}/console.log` || !(await alive(t, pid, id.start))) return;
    ctx.log.warn(ctx.urn, `VMM pid ${pid} of an interrupted create is still running: killing it`);
    await t.run(["kill", "-KILL", String(pid)], { check: false });
    for (let k = 0; k < 50 && (await alive(t, pid, id.start)); k++) await sleep(100);
}

export const microvmHandler: ReplaceOnlyHandler<MicroVmInputs, MicroVmOutputs> = {
    outputs: MicroVmOutputsSchema,
    ...replaceOnlyTable(MicroVmArgsSchema, {
        notDiffed: {
            imageSize: "follows `image`, whose path in the cache names its content",
            kernelRelease: "follows `kernel`, whose path in the cache names its content",
            hostCaps: "the host's probe, filled by the SDK for check() only: a new probe is not a change of the resource",
        },
    }),
    hostFacts: { field: "hostCaps", of: microVmHostCaps },
    // The kernel, image and macvtap device are made by other resources, the profile's wrapper too.
    previewStandIn([k, , field]) {
        if (k === "kernel" || k === "image" || (k === "nics" && field === "macvtapDevice")) return { value: "/netbed/not-known-at-preview" };
        return k === "security" ? "omit" : undefined;
    },
    deleteBeforeReplace: true,
    secretPaths: [["agentKey"]],

    defaults(inputs) {
        // Host capabilities and the image size are not known before those resources exist.
        const out = { ...inputs };
        for (const k of ["hostCaps", "imageSize", "kernelRelease"]) if (out[k] === UNKNOWN || out[k] === null) delete out[k];
        return out;
    },

    // On this machine (local and netns hosts) a given VMM binary is checked at preview; over SSH, at create.
    localCheck(i) {
        const bin = i.driver === "custom" ? i.custom?.argv[0] : i.binary;
        if (i.host.kind === "ssh" || !bin?.startsWith("/")) return [];
        try {
            fs.accessSync(bin, fs.constants.X_OK);
            if (fs.statSync(bin).isFile()) return [];
        } catch {
            // reported below
        }
        return [
            {
                property: i.driver === "custom" ? "custom.argv[0]" : "binary",
                reason: `${bin} is not an executable file on host '${i.host.name}' (this machine)`,
            },
        ];
    },

    namedCheck: socketPathFailures,

    async create(ctx, given) {
        await killLeftover(ctx, hostTransport(ctx, given.host), runDir(given.host, ctx.name, ctx.urn));
        await makeOwnTaps(ctx, given);
        try {
            return await bootVm(ctx, given);
        } catch (e) {
            await removeOwnTaps(ctx, given).catch(() => undefined);
            throw e;
        }
    },

    async read(ctx, _id, state) {
        const i = inputsFromState(MicroVmArgsSchema, state);
        const t = hostTransport(ctx, i.host);
        if (state.startTime === undefined || !(await alive(t, state.pid, state.startTime))) return undefined;
        const api: Launch["api"] = state.qmpSocket ? { kind: "qmp", path: state.qmpSocket } : undefined;
        return { ...state, placement: await placementOf(t, state.pid, DRIVER_MODELS[i.driver], { api }, (m) => ctx.log.warn(ctx.urn, m)) };
    },

    // A VMM that died (killed, crashed) is noticed at the next diff, so a plain `up` replaces the
    // guest. Diff runs in previews too, which never reach a host: only a guest on this machine
    // (local or netns host: one process table) is checked, by reading /proc here. A guest on an
    // SSH host needs `refresh` (or `up --refresh`) to be found dead.
    async gone(ctx, state) {
        if (state.startTime === undefined) return undefined;
        const i = inputsFromState(MicroVmArgsSchema, state);
        if (i.host.kind === "ssh") return undefined;
        if (await aliveHere(state.pid, state.startTime)) return undefined;
        return { property: "pid", reason: `guest '${ctx.name}': its VMM (pid ${state.pid}) on host '${i.host.name}' is no longer running` };
    },

    async delete(ctx, _id, i) {
        const t = hostTransport(ctx, i.host);
        const dir = recordedRunDir(ctx, i.host, i.consoleLog);
        // No start time recorded: no process can be known to be this VMM, so none is stopped.
        if (i.startTime !== undefined) await stop(ctx, t, dir, i.pid, i.startTime, DRIVER_MODELS[i.driver].stopLine);
        await restoreIrqAffinity(t, i.irqs);
        await t.run(["rm", "-rf", "--", dir]);
        await t.run(["rmdir", "--ignore-fail-on-non-empty", "--", dir.slice(0, dir.lastIndexOf("/"))], { check: false });
        await removeOwnTaps(ctx, i);
    },
};

/** The console log's last 2000 characters (it is root's, in a directory only root writes). */
async function tail(t: Transport, dir: string): Promise<string> {
    const r = await t.run(["tail", "-c", "2000", "--", `${dir}/console.log`], { check: false });
    return r.code === 0 ? r.stdout : "(no console log)";
}

/**
 * The log's size, then its bytes from `offset` up to that size: a constant script, so each poll
 * reads only what was added since the last one.
 */
const READ_FROM = 'size=$(stat -c %s -- "$1") || exit 1; echo "$size"; [ "$size" -gt "$2" ] && tail -c +$(($2 + 1)) -- "$1" | head -c $((size - $2)); exit 0';

async function readFrom(t: Transport, file: string, offset: number): Promise<{ size: number; text: string }> {
    const r = await t.run(["sh", "-c", READ_FROM, "sh", file, String(offset)], { check: false });
    const nl = r.stdout.indexOf("\n");
    if (r.code !== 0 || nl < 0) return { size: offset, text: "" };
    return { size: Number(r.stdout.slice(0, nl)), text: r.stdout.slice(nl + 1) };
}

/** The VMM binary on the host, checked there together with the kernel format its driver boots. */
async function checkedBinary(t: Transport, i: MicroVmInputs, model: DriverModel): Promise<string> {
    const binary = i.driver === "custom" ? i.custom!.argv[0] : await resolveBinary(t, i.host.name, model, i.binary);
    if (i.driver === "custom" && (await t.run(["test", "-x", binary], { check: false })).code !== 0) {
        throw new Error(`on host '${i.host.name}': the custom VMM ${binary} (custom.argv[0]) is not an executable file there`);
    }
    if (i.driver === "firecracker") {
        const magic = await t.run(["od", "-An", "-c", "-N4", "--", i.kernel], { check: false });
        if (!/177\s+E\s+L\s+F/.test(magic.stdout))
            throw new Error(`on host '${i.host.name}': driver 'firecracker' boots an uncompressed ELF vmlinux, and ${i.kernel} is not one (a bzImage?)`);
    }
    return binary;
}

/**
 * The VM's own initrd: the image with the agent's key appended as a second archive, so the key
 * reaches the guest without appearing on the kernel command line (which `ps` shows on the host).
 */
async function agentInitrd(t: Transport, i: MicroVmInputs, initrd: string, key: string): Promise<void> {
    await t.run(["install", "-m", "0600", "--", i.image, initrd]);
    const size = Number((await t.run(["stat", "-c", "%s", "--", initrd])).stdout.trim());
    const archive = `${initrd}.key.cpio`;
    await t.putFile(archive, newcArchive([{ name: AGENT_KEY_FILE.slice(1), mode: 0o400, data: `${key}\n` }], size), 0o600);
    try {
        await t.run(["dd", `if=${archive}`, `of=${initrd}`, "bs=64k", "oflag=append", "conv=notrunc", "status=none"]);
    } finally {
        await t.run(["rm", "-f", "--", archive]);
    }
}

/**
 * A fresh run directory holding the VMM's files, root's, 0750, in the VMM's group: the VMM (another
 * uid under a profile) reads its config files there and can create, rename or replace nothing, so
 * every name root later opens there (console log, FIFO, pid file, sockets) is one root made.
 */
async function prepareRunDir(t: Transport, i: MicroVmInputs, dir: string, launch: Launch, initrd: string, agentKey: string): Promise<void> {
    const owner = `0:${i.security?.group ?? 0}`;
    await t.run(["rm", "-rf", "--", dir]);
    await t.run(["mkdir", "-p", "-m", "0750", "--", dir]);
    await t.run(["chown", owner, "--", dir]);
    for (const f of launch.files) {
        await t.putFile(`${dir}/${f.name}`, f.content, 0o640);
        await t.run(["chown", owner, "--", `${dir}/${f.name}`]);
    }
    if (launch.agent) {
        await agentInitrd(t, i, initrd, agentKey);
        await t.run(["chmod", "0640", "--", initrd]);
        await t.run(["chown", owner, "--", initrd]);
    }
    await t.run(["mkfifo", "-m", "0600", "--", `${dir}/console.in`]);
    // A custom VMM may write its console itself ({console}): the file, not the directory, is its.
    if (i.driver === "custom" && i.security?.user !== undefined) {
        await t.putFile(`${dir}/console.log`, "", 0o640);
        await t.run(["chown", `${i.security.user}:${i.security.group}`, "--", `${dir}/console.log`]);
    }
}

/** Starts the VMM detached and returns its pid and start time once it runs. */
async function startVmm(
    t: Transport,
    i: MicroVmInputs,
    dir: string,
    binary: string,
    vmm: string[],
    devices: string[],
): Promise<{ pid: number; start: string }> {
    await t.run(detachArgv(dir, withDeviceFds(devices, vmm)));
    for (let k = 0; k < 50 && (await t.run(["test", "-s", `${dir}/pid`], { check: false })).code !== 0; k++) await sleep(100);
    const pid = Number((await t.getFile(`${dir}/pid`)).toString().trim());
    const id = await processIdentity(t, pid);
    if (!id) throw new Error(`on host '${i.host.name}': ${binary} wrote pid ${pid} but is not running; console:\n${await tail(t, dir)}`);
    return { pid, start: id.start };
}

/** Polls the console log for the guest's readiness line until the VMM exits or the boot timeout passes. */
async function waitReady(ctx: Ctx, t: Transport, i: MicroVmInputs, dir: string, vmm: { pid: number; start: string }, started: number): Promise<ReadyLine> {
    const deadline = started + i.bootTimeoutSeconds * 1000;
    // The readiness line is searched in what came since the last poll plus a tail of what came
    // before it (a line may straddle two reads); the whole log is never read again.
    let offset = 0;
    let log = "";
    for (;;) {
        const add = await readFrom(t, `${dir}/console.log`, offset);
        offset = add.size;
        log = (log + add.text).slice(-65536);
        const ready = parseReadyLine(log);
        if (ready) return ready;
        if (!(await alive(t, vmm.pid, vmm.start))) throw new Error(`the VMM exited during boot; console:\n${log.slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`no readiness line within ${i.bootTimeoutSeconds} s; console:\n${log.slice(-2000)}`);
        ctx.log.status(ctx.urn, `booting: ${Math.round((Date.now() - started) / 1000)} s`);
        await sleep(200);
    }
}

/** A ready guest's init errors (and busy polling it did not apply) refused, then its VMM's threads pinned and the host's IRQs steered. */
async function settleGuest(
    ctx: Ctx,
    t: Transport,
    i: MicroVmInputs,
    dir: string,
    pid: number,
    model: DriverModel,
    launch: Launch,
    ready: ReadyLine,
): Promise<{ placement: Placement; irqs: IrqApplied[] }> {
    const errors = consoleErrors(await t.getFile(`${dir}/console.log`).then((b) => b.toString()));
    if (errors.length > 0) throw new Error(`the guest's init reported: ${errors.join("; ")}`);
    const busy = busyPollMismatch(i.busyPoll, ready.busyPoll);
    if (busy) throw new Error(`busyPoll was not applied in the guest: ${busy}`);
    const placement = await applyPinning(t, pid, model, launch, i.pinning, (m) => ctx.log.warn(ctx.urn, m));
    if (i.pinning?.vcpus || i.pinning?.other || i.pinning?.vhost) {
        ctx.log.info(ctx.urn, `pinned (${placement.source}): vCPU threads ${placement.vcpus.map((v) => `${v.index}:${v.thread}->${v.cpus}`).join(", ")}`);
    }
    const irqs = await applyIrqAffinity(ctx, t, i.host.name, i.irqAffinity);
    return { placement, irqs };
}

/** What the VMM runs: its driver's argv, and the launcher's root stage (taps, sockets) under a profile. */
async function planLaunch(ctx: Ctx, t: Transport, i: MicroVmInputs, dir: string) {
    const model = DRIVER_MODELS[i.driver];
    const { accel, accelWarning } = chooseAccel(i);
    if (accelWarning) ctx.log.warn(ctx.urn, accelWarning);
    // Under a profile, root opens QEMU's taps and binds its sockets: the VMM needs no CAP_NET_ADMIN.
    const byLauncher = i.security !== undefined && i.driver === "qemu";
    const nics = nicsOf(i, ctx.urn, byLauncher);
    const binary = await checkedBinary(t, i, model);
    const spec = vmSpec(i, nics.vm, { name: ctx.name, binary, accel, dir, servers: guestServers(i) });
    const listen = byLauncher ? model.render(spec).listen.map((l, k) => ({ ...l, fd: nextFd(nics) + k })) : [];
    const launch = model.render({ ...spec, listenFds: Object.fromEntries(listen.map((l) => [l.name, l.fd])) });
    const rootArgs = [...nics.taps, ...listen.flatMap((l) => ["--listen", `${l.path}=${l.fd}`])];
    return { model, accel, accelWarning, nics, binary, spec, launch, rootArgs };
}

type LaunchPlan = Awaited<ReturnType<typeof planLaunch>>;

/** A booted VM's state: its inputs and what its boot observed. */
function bootedState(
    i: MicroVmInputs,
    dir: string,
    plan: LaunchPlan,
    boot: { vmm: { pid: number; start: string }; ready: ReadyLine; wallSeconds: number; wrapper?: string[]; agentKey: string },
    settled: { placement: Placement; irqs: IrqApplied[] },
): MicroVmState {
    const { launch, nics } = plan;
    return {
        ...i,
        pid: boot.vmm.pid,
        startTime: boot.vmm.start,
        accelUsed: i.driver === "custom" ? "vmm's own" : plan.accel,
        accelWarning: plan.accelWarning,
        bootTime: { guestSeconds: boot.ready.uptime, wallSeconds: boot.wallSeconds },
        // Always present ("" without QMP), so previews read it as known.
        qmpSocket: launch.api?.kind === "qmp" ? launch.api.path : "",
        // The agent's socket on the VM's host and the key every request carries ("" without the agent).
        agentSocket: launch.agent ?? "",
        agentKey: boot.agentKey,
        consoleLog: `${dir}/console.log`,
        interfaces: i.nics.map((n, k) => ({ host: nics.hostIf[k], mac: nics.vm[k].mac, address: n.address, backend: n.backend })),
        // What the guest's init read back (null: it reported none), and the model in effect.
        guestBusyPoll: boot.ready.busyPoll ?? null,
        notification: notificationModel(
            boot.ready.busyPoll,
            nics.vm.map((n) => n.vhostPollUs ?? 0),
        ),
        placement: settled.placement,
        argv: launch.argv,
        wrapper: boot.wrapper,
        // Always present (unlike the optional `security` input), so previews read it as known.
        confinement: i.security ? i.security.profile : "none",
        irqs: settled.irqs,
    };
}

/** Starts the VMM and waits for the guest (the create step once the NIC taps exist). */
async function bootVm(ctx: Ctx, i: MicroVmInputs): Promise<{ id: string; outs: MicroVmState }> {
    const t = hostTransport(ctx, i.host);
    const dir = runDir(i.host, ctx.name, ctx.urn);
    const plan = await planLaunch(ctx, t, i, dir);
    const wrapper = await confinement(ctx, t, i, plan.binary, dir, plan.accel, plan.rootArgs);
    if (!wrapper) ctx.log.warn(ctx.urn, UNCONFINED);
    const agentKey = plan.launch.agent ? randomBytes(32).toString("hex") : "";
    await prepareRunDir(t, i, dir, plan.launch, plan.spec.initrdPath, agentKey);
    const started = Date.now();
    // The shell steps (console, device fds) and the launcher's root stage (taps, sockets) run first;
    // the confinement chain execs the VMM last, so those fds are open when the uid, Landlock and the
    // filter apply.
    const vmm = await startVmm(t, i, dir, plan.binary, [...(wrapper ?? []), ...plan.launch.argv], plan.nics.devices);
    try {
        const accel = i.driver === "custom" ? "its own acceleration" : plan.accel;
        ctx.log.info(ctx.urn, `VMM pid ${vmm.pid} started (${i.driver}, ${accel}); waiting for the guest's readiness line`);
        const ready = await waitReady(ctx, t, i, dir, vmm, started);
        const wallSeconds = Math.round((Date.now() - started) / 10) / 100;
        const settled = await settleGuest(ctx, t, i, dir, vmm.pid, plan.model, plan.launch, ready);
        ctx.log.info(ctx.urn, `guest ready at uptime ${ready.uptime} s (${wallSeconds} s wall)`);
        const outs = bootedState(i, dir, plan, { vmm, ready, wallSeconds, wrapper, agentKey }, settled);
        return { id: `${i.host.name}/${ctx.name}/${vmm.pid}`, outs };
    } catch (e) {
        await stop(ctx, t, dir, vmm.pid, vmm.start, plan.model.stopLine);
        await t.run(["rm", "-rf", "--", dir], { check: false });
        throw new Error(`on host '${i.host.name}': guest '${ctx.name}' failed to boot: ${(e as Error).message}`);
    }
}
