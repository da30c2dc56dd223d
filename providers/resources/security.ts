// SecurityProfile: the filter compiled for the host's architecture and written to a per-profile
// directory there, the netbed-confine launcher built on the host (cached by its source), and the
// wrapper argv that applies both with prlimit and setpriv.
import { networkStackOf } from "../../core/placement";
import * as fs from "node:fs";
import * as path from "node:path";
import { type CompiledFilter, type SeccompPolicy, compileFilter } from "../../core/seccomp/compile";
import { CAPABILITIES, type Capability, type LandlockNeed, isArch, scopesFor, seccompPolicy, unmetLandlockNeeds, wrapperArgv } from "../../core/security";
import type { HostConnection } from "../../schema/host";
import {
    SecurityProfileArgsSchema,
    type SecurityProfileInputs,
    type SecurityProfileOutputs,
    SecurityProfileOutputsSchema,
    type SecurityProfileState,
    type SecurityRules,
    securityHostCaps,
} from "../../schema/security";
import { sha256Hex } from "../../core/hash";
import { urnTag } from "../../core/names";
import { makeTemp } from "../hostops/cache";
import { type Ctx, type ReplaceOnlyHandler, inputsFromState, replaceOnlyTable } from "../runtime/resource";
import { type Transport, hostTransport, which } from "../transport";
import { packageRoot } from "../runtime/version";

const PROFILE_DIR = "/run/netbed/profiles";
/** The system user a VMM runs as when its profile names none. */
export const VMM_USER = "netbed-vmm";
/** The flags of scripts/build-native.sh: the launcher must build warning-free everywhere. */
const CFLAGS = ["-O2", "-Wall", "-Wextra", "-Werror"];

/** The profile's directory, named by its URN too: a profile of the same name in another stack has its own. */
export function profileDir(host: HostConnection, name: string, urn: string): string {
    return `${PROFILE_DIR}/${networkStackOf(host)}/${name}-${urnTag(urn)}`;
}

/**
 * The directory of a recorded profile: state without `profileDir` comes from a version that named
 * it by the profile's name alone.
 */
function recordedProfileDir(ctx: Ctx, host: HostConnection, state: SecurityProfileState): string {
    return state.profileDir === undefined ? `${PROFILE_DIR}/${networkStackOf(host)}/${ctx.name}` : profileDir(host, ctx.name, ctx.urn);
}

/**
 * The launcher on the host: built there with its `cc` from native/netbed-confine.c, in a directory
 * named by the hash of the source and flags (shared by stacks, never deleted with a profile), and
 * moved into place in one rename, so a half-written binary is never used.
 */
export async function ensureLauncher(ctx: Ctx, t: Transport, hostName: string, cacheDir: string): Promise<string> {
    const source = fs.readFileSync(path.join(packageRoot(), "native", "netbed-confine.c"), "utf8");
    const dir = `${cacheDir}/native/${sha256Hex(`${CFLAGS.join(" ")}\n${source}`)}`;
    const bin = `${dir}/netbed-confine`;
    if ((await t.run(["test", "-x", bin], { check: false })).code === 0) return bin;
    if (!(await which(t, "cc"))) {
        throw new Error(
            `on host '${hostName}': no C compiler (cc) to build the netbed-confine launcher: install Debian's build-essential (apt-get install build-essential, or add it to the Host's packages)`,
        );
    }
    ctx.log.info(ctx.urn, `building netbed-confine on host '${hostName}' into ${dir}`);
    const tmp = await makeTemp(t, cacheDir);
    try {
        await t.putFile(`${tmp}/netbed-confine.c`, source);
        await t.run(["cc", ...CFLAGS, "-o", `${tmp}/netbed-confine`, `${tmp}/netbed-confine.c`], { timeoutMs: 300_000 });
        await t.run(["chmod", "0755", "--", `${tmp}/netbed-confine`]);
        await t.run(["mkdir", "-p", "--", dir]);
        await t.run(["cp", "--", `${tmp}/netbed-confine.c`, `${dir}/netbed-confine.c`]);
        await t.run(["mv", "-f", "--", `${tmp}/netbed-confine`, bin]);
    } finally {
        await t.run(["rm", "-rf", "--", tmp], { check: false });
    }
    return bin;
}

/** The kernel's Landlock ABI, as the launcher itself sees it (0: none). */
async function landlockAbi(t: Transport, launcher: string): Promise<number> {
    const r = await t.run([launcher, "--best-effort", "--ro", "/", "--exec", "/", "--status-fd", "1", "--", "/bin/true"]);
    const m = /landlock-abi=(\d+)/.exec(r.stdout);
    if (!m) throw new Error(`on host ${t.label}: netbed-confine printed no status line: ${r.stdout}${r.stderr}`);
    return Number(m[1]);
}

/** Rule paths that do not exist on the host, as "landlock.ro[1]: /x". */
async function missingPaths(t: Transport, i: SecurityProfileInputs): Promise<string[]> {
    const all = (["ro", "rw", "exec"] as const).flatMap((k) => i.landlock[k].map((p, n) => ({ at: `landlock.${k}[${n}]`, p })));
    if (all.length === 0) return [];
    const r = await t.run(["sh", "-c", 'for p; do [ -e "$p" ] || printf "%s\\n" "$p"; done', "sh", ...all.map((x) => x.p)]);
    const missing = new Set(r.stdout.split("\n").filter(Boolean));
    return all.filter((x) => missing.has(x.p)).map((x) => `${x.at}: ${x.p}`);
}

/** The seccomp policy and its filter compiled for the host's architecture (both undefined for preset 'none'). */
async function hostFilter(t: Transport, i: SecurityProfileInputs, where: string): Promise<{ policy?: SeccompPolicy; filter?: CompiledFilter }> {
    const policy = seccompPolicy(i.seccomp);
    const arch = (await t.run(["uname", "-m"])).stdout.trim();
    if (policy && !isArch(arch)) throw new Error(`${where}: netbed compiles seccomp filters for x86_64 and aarch64, not ${arch}: use seccomp preset 'none'`);
    const filter = policy && compileFilter(policy, arch as "x86_64" | "aarch64", { missing: "skip" });
    return { policy, filter };
}

/** Refuses capabilities the host's kernel does not know. */
async function checkCapabilities(t: Transport, i: SecurityProfileInputs, where: string): Promise<void> {
    const lastCap = Number((await t.run(["cat", "/proc/sys/kernel/cap_last_cap"])).stdout.trim());
    const unknownCaps = i.capabilities.filter((c) => CAPABILITIES.indexOf(c as Capability) > lastCap);
    if (unknownCaps.length > 0)
        throw new Error(`${where}: the kernel does not know capabilities ${unknownCaps.join(", ")} (its last is ${CAPABILITIES[lastCap]})`);
}

/** The paths of prlimit and setpriv on the host. */
async function wrapperTools(t: Transport, where: string): Promise<Record<string, string>> {
    const tools: Record<string, string> = {};
    for (const tool of ["prlimit", "setpriv"]) {
        const p = await which(t, tool);
        if (!p) throw new Error(`${where}: ${tool} is not installed there (Debian package util-linux)`);
        tools[tool] = p;
    }
    return tools;
}

/** The host's Landlock ABI and what the rules need beyond it: refused in strict mode, warned about in best-effort mode. */
async function landlockSupport(
    ctx: Ctx,
    t: Transport,
    i: SecurityProfileInputs,
    where: string,
    launcher: string,
): Promise<{ abi: number; unmet: LandlockNeed[] }> {
    const abi = await landlockAbi(t, launcher);
    // Only scopes asked for count: the default takes what the ABI has.
    const unmet = unmetLandlockNeeds({ ...i.landlock, scopes: i.landlock.scopes ?? [] }, abi);
    if (i.landlock.mode === "strict" && unmet.length > 0) {
        throw new Error(
            `${where}: Landlock ABI ${abi} lacks ${unmet.map((n) => `${n.feature} (ABI ${n.abi}, asked for by landlock.${n.fields.join(", landlock.")})`).join(" and ")}; set landlock.mode 'best-effort' to go without them`,
        );
    }
    if (unmet.length > 0 && i.landlock.enabled)
        ctx.log.warn(ctx.urn, `best effort: Landlock ABI ${abi} ${where} lacks ${unmet.map((n) => n.feature).join(" and ")}: applied without them`);
    return { abi, unmet };
}

/**
 * A fresh profile directory holding the filter (if any); returns the filter's path there. Both are
 * root's (0755, 0644): the VMM's uid reads the filter after setpriv and can replace nothing there.
 */
async function writeProfileDir(t: Transport, dir: string, filter: CompiledFilter | undefined): Promise<string | undefined> {
    await t.run(["rm", "-rf", "--", dir]);
    await t.run(["mkdir", "-p", "-m", "0755", "--", dir]);
    await t.run(["chown", "0:0", "--", dir]);
    const filterPath = filter ? `${dir}/filter.bpf` : undefined;
    if (filter) await t.putFile(filterPath!, filter.program, 0o644);
    return filterPath;
}

/** A numeric id from getent's "name:x:id:..." line. */
const getentId = (line: string) => Number(line.split(":")[2]);

/**
 * The uid, gid and supplementary groups the VMM runs as: the profile's, or by default the system
 * user netbed-vmm, created here if missing (no login shell, no home), with the kvm group where the
 * host has one (/dev/kvm is usually root:kvm 0660).
 */
async function vmmIds(ctx: Ctx, t: Transport, i: SecurityProfileInputs, where: string): Promise<{ user?: number; group?: number; groups?: number[] }> {
    if (i.user !== undefined || i.group !== undefined) return { user: i.user, group: i.group };
    let pw = await t.run(["getent", "passwd", VMM_USER], { check: false });
    if (pw.code !== 0) {
        ctx.log.info(ctx.urn, `creating the system user ${VMM_USER} ${where} for the VMM`);
        if ((await t.run(["getent", "group", VMM_USER], { check: false })).code !== 0) await t.run(["groupadd", "--system", VMM_USER]);
        const nologin = (await which(t, "nologin")) ?? "/bin/false";
        await t.run(["useradd", "--system", "--gid", VMM_USER, "--no-create-home", "--home-dir", "/nonexistent", "--shell", nologin, VMM_USER]);
        pw = await t.run(["getent", "passwd", VMM_USER]);
    }
    const [user, group] = [getentId(pw.stdout), Number(pw.stdout.split(":")[3])];
    if (!(user > 0 && group > 0)) throw new Error(`${where}: user ${VMM_USER} has uid ${user} gid ${group}; it must not be root: fix or remove that user`);
    const kvm = await t.run(["getent", "group", "kvm"], { check: false });
    return { user, group, groups: kvm.code === 0 ? [group, getentId(kvm.stdout)] : undefined };
}

/** The rules the profile applies on this host: the asked-for ones less what its Landlock ABI lacks. */
function appliedRules(
    i: SecurityProfileInputs,
    policy: SeccompPolicy | undefined,
    filter: CompiledFilter | undefined,
    abi: number,
    unmet: LandlockNeed[],
    ids: { user?: number; group?: number; groups?: number[] },
): SecurityRules {
    const dropped = unmet.map((n) => n.feature);
    const l = { ...i.landlock, scopes: scopesFor(i.landlock.scopes, abi) };
    return {
        seccomp: {
            preset: i.seccomp.preset,
            defaultAction: policy?.defaultAction,
            errno: i.seccomp.errno,
            syscalls: (filter?.syscalls ?? []).map((s) => s.name),
        },
        landlock: {
            ...l,
            abi: l.enabled && abi > 0 ? abi : 0,
            bindPorts: dropped.includes("TCP port rules") ? [] : l.bindPorts,
            connectPorts: dropped.includes("TCP port rules") ? [] : l.connectPorts,
            denyTcp: dropped.includes("TCP port rules") ? false : l.denyTcp,
            scopes: dropped.includes("scopes") ? [] : l.scopes,
            enabled: l.enabled && abi > 0,
            dropped,
        },
        noNewPrivs: true,
        capabilities: i.capabilities,
        user: ids.user,
        group: ids.group,
        groups: ids.groups,
        rlimits: i.rlimits,
    };
}

export const securityHandler: ReplaceOnlyHandler<SecurityProfileInputs, SecurityProfileOutputs> = {
    outputs: SecurityProfileOutputsSchema,
    ...replaceOnlyTable(SecurityProfileArgsSchema, {
        notDiffed: { hostCaps: "the host's probe, filled by the SDK for check() only: a new probe is not a change of the resource" },
    }),
    hostFacts: { field: "hostCaps", of: securityHostCaps },
    // The directory is named by the resource: the old one must go before the new one is written.
    deleteBeforeReplace: true,

    defaults(inputs) {
        const out = { ...inputs };
        if (out.hostCaps === null || typeof out.hostCaps === "string") delete out.hostCaps; // not known before the Host exists
        return out;
    },

    localCheck(i) {
        if (i.host.kind === "ssh") return [];
        return (["ro", "rw", "exec"] as const).flatMap((k) =>
            i.landlock[k]
                .map((p, n) => ({ p, n }))
                .filter(({ p }) => !fs.existsSync(p))
                .map(({ p, n }) => ({ property: `landlock.${k}[${n}]`, reason: `'${p}' does not exist on host '${i.host.name}' (this machine)` })),
        );
    },

    async create(ctx, i) {
        const t = hostTransport(ctx, i.host);
        const where = `on host '${i.host.name}'`;
        const missing = await missingPaths(t, i);
        if (missing.length > 0) throw new Error(`${where}: Landlock rule paths do not exist: ${missing.join(", ")}`);
        const { policy, filter } = await hostFilter(t, i, where);
        await checkCapabilities(t, i, where);
        const tools = await wrapperTools(t, where);
        const launcher = await ensureLauncher(ctx, t, i.host.name, i.cacheDir);
        const { abi, unmet } = await landlockSupport(ctx, t, i, where, launcher);
        const ids = await vmmIds(ctx, t, i, where);
        const dir = profileDir(i.host, ctx.name, ctx.urn);
        const filterPath = await writeProfileDir(t, dir, filter);
        const rules = appliedRules(i, policy, filter, abi, unmet, ids);
        await t.putFile(`${dir}/rules.json`, `${JSON.stringify(rules, null, 2)}\n`);
        const wrapper = wrapperArgv({
            prlimit: tools.prlimit,
            setpriv: tools.setpriv,
            launcher,
            rlimits: i.rlimits,
            capabilities: i.capabilities,
            ...ids,
            landlock: { ...i.landlock, scopes: rules.landlock.scopes },
            filterPath,
        });
        ctx.log.info(
            ctx.urn,
            `profile ready: ${filter ? `${i.seccomp.preset} filter, ${filter.syscalls.length} syscalls, ${filter.instructions} instructions` : "no seccomp filter"}; Landlock ABI ${abi}; uid ${ids.user ?? 0} gid ${ids.group ?? 0}; capabilities ${i.capabilities.join(", ") || "none"}`,
        );
        return {
            id: `${i.host.name}/${ctx.name}/${(filter?.sha256 ?? sha256Hex(wrapper.join("\0"))).slice(0, 12)}`,
            outs: {
                ...i,
                name: ctx.name,
                profileDir: dir,
                filterSha256: filter?.sha256,
                filterBytes: filter?.program.length ?? 0,
                filterInstructions: filter?.instructions ?? 0,
                syscallCount: filter?.syscalls.length ?? 0,
                skippedSyscalls: filter?.skipped ?? [],
                landlockAbi: abi,
                rules,
                launcherPath: launcher,
                filterPath,
                wrapper,
            },
        };
    },

    async read(ctx, _id, state) {
        const i = inputsFromState(SecurityProfileArgsSchema, state);
        const t = hostTransport(ctx, i.host);
        const dir = recordedProfileDir(ctx, i.host, state);
        if ((await t.run(["test", "-f", `${dir}/rules.json`], { check: false })).code !== 0) return undefined;
        if ((await t.run(["test", "-x", state.launcherPath], { check: false })).code !== 0) return undefined;
        if (state.filterPath) {
            const r = await t.run(["sha256sum", "--", state.filterPath], { check: false });
            if (r.code !== 0 || r.stdout.split(/\s+/)[0] !== state.filterSha256) return undefined;
        }
        return state;
    },

    async delete(ctx, _id, i) {
        const t = hostTransport(ctx, i.host);
        const dir = recordedProfileDir(ctx, i.host, i);
        await t.run(["rm", "-rf", "--", dir]);
        await t.run(["rmdir", "--ignore-fail-on-non-empty", "--", dir.slice(0, dir.lastIndexOf("/"))], { check: false });
    },
};
