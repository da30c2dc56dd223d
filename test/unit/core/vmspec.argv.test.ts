// The argv (and config files) each VMM driver is started with, from a MicroVm's inputs through the
// VM spec (core/vmspec.ts) to the driver's renderer, compared with fixtures: a change to how the
// spec is built or rendered must not change a byte of what the VMM runs. Also the veth pair's argv.
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { vethAddArgv } from "../../../core/link";
import { DRIVER_MODELS } from "../../../core/vmm";
import { chooseAccel, nextFd, nicsOf, vmSpec } from "../../../core/vmspec";
import { MicroVmArgsSchema, guestServers } from "../../../schema/microvm";
import { VethPairArgsSchema } from "../../../schema/veth";

const FIXTURE = path.join(__dirname, "..", "..", "fixtures", "vm-argv", "launches.json");

const local = { kind: "local", name: "me" };
const caps = (kvmUsable: boolean) => ({ cores: 8, vhostNet: true, kvmUsable, kvmReason: kvmUsable ? undefined : "no /dev/kvm", tscKhz: 2694863 });
const base = { host: local, kernel: "/cache/k/bzImage", image: "/cache/i/initrd.gz" };
const tapNic = (k: number, extra: Record<string, unknown> = {}) => ({ backend: "virtio", tap: `tap${k}`, address: `10.0.${k}.2/24`, ...extra });
const macvtapNic = (k: number) => ({
    backend: "macvtap",
    macvtap: `mv${k}`,
    macvtapDevice: `/dev/tap${20 + k}`,
    macvtapMac: `02:00:00:00:07:0${k}`,
    address: `10.1.${k}.2/24`,
});

/** Representative VMs: each driver, each NIC backend, multi-queue, vhost busy polling, pinning, a launcher or none. */
const CASES: Record<string, { inputs: Record<string, unknown>; launcher: boolean }> = {
    "qemu-virtio-tcg": {
        inputs: { ...base, hostCaps: caps(false), nics: [tapNic(0, { mac: "02:aa:00:00:00:01", gateway: "10.0.0.1", mtu: 9000 })] },
        launcher: false,
    },
    "qemu-vhost-multiqueue-pinned-kvm": {
        inputs: {
            ...base,
            hostCaps: caps(true),
            vcpus: 2,
            memoryMiB: 512,
            pinning: { vcpus: [2, 3], other: [1], vhost: [4] },
            cmdline: ["mitigations=off"],
            nics: [tapNic(0, { backend: "vhost-net", queues: 4, vhostPollUs: 50 }), tapNic(1)],
        },
        launcher: true,
    },
    "qemu-macvtap-microvm-busypoll": {
        inputs: {
            ...base,
            hostCaps: caps(false),
            machine: "microvm",
            accel: "tcg",
            busyPoll: { pollUs: 30, readUs: 20 },
            servers: ["iperf3", "agent"],
            nics: [macvtapNic(0), tapNic(1, { queues: 2 })],
        },
        launcher: true,
    },
    "qemu-vhost-by-name": { inputs: { ...base, hostCaps: caps(true), nics: [tapNic(0, { backend: "vhost-net", queues: 2 }), macvtapNic(1)] }, launcher: false },
    firecracker: {
        inputs: { ...base, driver: "firecracker", hostCaps: caps(true), vcpus: 2, nics: [tapNic(0), tapNic(1, { gateway: "10.0.1.1" })] },
        launcher: false,
    },
    "cloud-hypervisor": {
        inputs: {
            ...base,
            driver: "cloud-hypervisor",
            binary: "/opt/ch/cloud-hypervisor",
            hostCaps: caps(true),
            nics: [tapNic(0, { queues: 2 }), macvtapNic(1)],
        },
        launcher: false,
    },
    custom: {
        inputs: {
            ...base,
            driver: "custom",
            custom: {
                argv: [
                    "/opt/v/vmm",
                    "--k={kernel}",
                    "--i={initrd}",
                    "--c={cmdline}",
                    "--n={vcpus}x{memoryMiB}",
                    "--log={console}",
                    "tap={tap0},mac={mac0}",
                    "fd={fd1}",
                ],
            },
            hostCaps: caps(false),
            nics: [tapNic(0), macvtapNic(1)],
        },
        launcher: false,
    },
};

/** What the MicroVm handler's boot does before it starts the VMM (providers/resources/microvm.ts bootVm), without the I/O. */
function launchOf(inputs: Record<string, unknown>, launcher: boolean) {
    const i = MicroVmArgsSchema.parse(inputs);
    const model = DRIVER_MODELS[i.driver];
    const { accel } = chooseAccel(i);
    const nics = nicsOf(i, "urn:pulumi:s12n::p::netbed:index:MicroVm::g", launcher);
    const binary = i.driver === "custom" ? i.custom!.argv[0] : (i.binary ?? model.defaultBinary!);
    const spec = vmSpec(i, nics.vm, { name: "g", binary, accel, dir: "/run/netbed/vms/host/g-s12n", servers: guestServers(i) });
    const listen = launcher ? model.render(spec).listen.map((l, k) => ({ ...l, fd: nextFd(nics) + k })) : [];
    const launch = model.render({ ...spec, listenFds: Object.fromEntries(listen.map((l) => [l.name, l.fd])) });
    return { ...launch, initrd: spec.initrdPath, devices: nics.devices, taps: nics.taps, hostIf: nics.hostIf, listen };
}

function vethArgv() {
    const v = VethPairArgsSchema.parse({ a: { host: { kind: "netns", name: "s", namespace: "nb-s12n" }, name: "a0" }, b: { host: local, name: "b0" } });
    return vethAddArgv(v.a, v.b);
}

describe("VMM argv from a MicroVm's inputs, byte for byte", () => {
    const fixture = JSON.parse(fs.readFileSync(FIXTURE, "utf8"));
    for (const [name, c] of Object.entries(CASES)) {
        it(`${name}: the same argv, files and fds as the fixture`, () => {
            assert.deepEqual(JSON.parse(JSON.stringify(launchOf(c.inputs, c.launcher))), fixture[name]);
        });
    }
    it("veth pair: the same argv as the fixture", () => assert.deepEqual(vethArgv(), fixture.veth));
});
