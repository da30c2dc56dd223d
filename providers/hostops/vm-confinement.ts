// A MicroVm's confinement by its SecurityProfile: the wrapper with the Landlock paths this VM
// needs, and the device access the VMM's uid must have, checked before the boot.
import { landlockArgs, withLauncherArgs, withRootLauncherArgs } from "../../core/security";
import type { MicroVmInputs } from "../../schema/microvm";
import type { Ctx } from "../runtime/resource";
import type { Transport } from "../transport";

/**
 * The profile's wrapper plus the Landlock paths this VM needs, found by booting a TCG guest under
 * Landlock with strace -f -Z (the EACCES list): the VMM's tree (exec and read), the loader cache,
 * its kernel and image (read), its run directory (read: its config files; QEMU's sockets are fds),
 * and the devices it opens: /dev/kvm, and for VMMs that open taps themselves /dev/net/tun and
 * /dev/vhost-net (by the same reasoning: no vhost-net or usable KVM on the machine this was derived
 * on). Not needed: the console, device and tap fds (opened as root before), /dev/null and
 * /dev/urandom (unused), /proc and /sys (start-up probes of /proc/self/status, /proc/stat,
 * /proc/mounts and /sys/devices/system/{cpu,node} are refused and QEMU goes on without them).
 */
async function vmWrapper(t: Transport, i: MicroVmInputs, binary: string, dir: string, devices: string[]): Promise<string[]> {
    const s = i.security!;
    if (!s.landlock.enabled) return s.wrapper;
    const exists = async (p: string) => (await t.run(["test", "-e", p], { check: false })).code === 0;
    // /lib and /lib64 resolve into /usr on merged-usr systems; elsewhere they hold the loader and libc.
    const resolved = (await t.run(["realpath", "-e", "--", "/usr", "/lib", "/lib64", binary], { check: false })).stdout.split("\n").filter(Boolean);
    const bin = resolved.pop()!;
    const roots: string[] = [];
    for (const p of resolved) if (!roots.some((r) => p === r || p.startsWith(`${r}/`))) roots.push(p);
    // A VMM outside them (/opt/qemu/bin/...): its prefix holds its libraries and firmware.
    if (!roots.some((r) => bin.startsWith(`${r}/`))) roots.push(bin.slice(0, bin.lastIndexOf("/", bin.lastIndexOf("/") - 1)) || "/");
    return withLauncherArgs(
        s.wrapper,
        landlockArgs({
            exec: roots,
            ro: [...roots, ...((await exists("/etc/ld.so.cache")) ? ["/etc/ld.so.cache"] : []), i.kernel, i.image, dir],
            rw: [...(i.driver === "custom" && s.user !== undefined ? [`${dir}/console.log`] : []), ...devices],
            bindPorts: [],
            connectPorts: [],
            denyTcp: false,
            scopes: [],
        }),
    );
}

/** The device nodes the VMM opens itself: /dev/kvm, and /dev/net/tun and /dev/vhost-net where it opens taps by name (not QEMU: the launcher does). */
async function vmmDevices(t: Transport, i: MicroVmInputs, accel: "kvm" | "tcg"): Promise<string[]> {
    // Firecracker and Cloud Hypervisor always open /dev/kvm; a custom VMM may.
    const kvm = i.driver === "qemu" ? accel === "kvm" : i.driver !== "custom" || (await t.run(["test", "-e", "/dev/kvm"], { check: false })).code === 0;
    const ownTaps = i.driver !== "qemu";
    return [
        ...(ownTaps && i.nics.some((n) => n.backend !== "macvtap") ? ["/dev/net/tun"] : []),
        ...(ownTaps && i.nics.some((n) => n.backend === "vhost-net") ? ["/dev/vhost-net"] : []),
        ...(kvm ? ["/dev/kvm"] : []),
    ];
}

/**
 * A VMM run as another uid needs read-write access to its devices by plain permissions, with the
 * groups the profile leaves it (none): checked as that uid, so the error comes before the boot.
 */
async function checkDeviceAccess(t: Transport, i: MicroVmInputs, devices: string[]): Promise<void> {
    const { user, group, groups } = i.security!;
    if (user === undefined && group === undefined) return;
    const supplementary = groups?.length ? [`--groups=${groups.join(",")}`] : ["--clear-groups"];
    const ids = [...(user !== undefined ? [`--reuid=${user}`] : []), ...(group !== undefined ? [`--regid=${group}`, ...supplementary] : [])];
    for (const d of devices) {
        if ((await t.run(["setpriv", ...ids, "--", "test", "-r", d, "-a", "-w", d], { check: false })).code !== 0) {
            const mode = (await t.run(["stat", "-L", "-c", "%U:%G %A", "--", d], { check: false })).stdout.trim();
            throw new Error(
                `on host '${i.host.name}': SecurityProfile '${i.security!.profile}' runs the VMM as uid ${user ?? 0} gid ${group ?? 0}, which cannot open ${d} (${mode}); widen its permissions or drop user/group from the profile`,
            );
        }
    }
}

/**
 * Refuses a filter that is not the one the profile compiled: the launcher loads whatever the file
 * holds, so it must be root's (not writable by the VMM's uid) and hash to the profile's filterSha256.
 */
async function checkFilter(t: Transport, i: MicroVmInputs): Promise<void> {
    const s = i.security!;
    const k = s.wrapper.indexOf("--seccomp");
    if (k < 0) return;
    const file = s.wrapper[k + 1];
    const r = await t.run(["sh", "-c", 'stat -c "%u %a" -- "$1" && sha256sum -- "$1"', "sh", file], { check: false });
    const [owner, mode, sha] = r.stdout.split(/\s+/);
    const why =
        r.code !== 0
            ? `cannot be read (${r.stderr.trim()})`
            : owner !== "0" || (Number.parseInt(mode, 8) & 0o022) !== 0
              ? `is owned by uid ${owner} with mode ${mode} (it must be root's and writable by root alone)`
              : sha !== s.filterSha256
                ? `has sha256 ${sha.slice(0, 12)}..., not the profile's ${s.filterSha256?.slice(0, 12)}... (changed since the profile was made)`
                : undefined;
    if (why)
        throw new Error(
            `on host '${i.host.name}': the seccomp filter ${file} of SecurityProfile '${s.profile}' ${why}: refusing to boot; replace the SecurityProfile`,
        );
}

/**
 * The security profile's wrapper for this VM (undefined without a profile), once its filter and
 * devices are checked; rootArgs go to the launcher's root stage (taps and sockets it opens).
 */
export async function confinement(
    ctx: Ctx,
    t: Transport,
    i: MicroVmInputs,
    binary: string,
    dir: string,
    accel: "kvm" | "tcg",
    rootArgs: string[],
): Promise<string[] | undefined> {
    if (!i.security) return undefined;
    await checkFilter(t, i);
    const devices = await vmmDevices(t, i, accel);
    await checkDeviceAccess(t, i, devices);
    const wrapper = withRootLauncherArgs(await vmWrapper(t, i, binary, dir, devices), rootArgs);
    ctx.log.info(
        ctx.urn,
        `confined by SecurityProfile '${i.security.profile}' (uid ${i.security.user ?? 0}, filter ${i.security.filterSha256?.slice(0, 12) ?? "none"}, Landlock ABI ${i.security.landlock.enabled ? i.security.landlock.abi : "off"})`,
    );
    return wrapper;
}
