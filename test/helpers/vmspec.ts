// One VM spec as the drivers get it (a TCG q35 guest with a tap NIC and an fd NIC), for the tests of
// the driver model and of each driver's rendering.
import type { VmSpec } from "../../core/vmspec";

export const SPEC: VmSpec = {
    driver: "qemu",
    binary: "/usr/bin/qemu-system-x86_64",
    machine: "q35",
    accel: "tcg",
    vcpus: 2,
    memoryMiB: 512,
    kernel: "/k/bzImage",
    image: "/i/initrd.gz",
    initrdPath: "/i/initrd.gz",
    cmdline: ["netbed.nic=02:00:00:00:00:01,10.0.0.2/24"],
    nics: [
        { backend: "virtio", tap: "tap0", mac: "02:00:00:00:00:01", vhost: false, address: "10.0.0.2/24", queues: 1 },
        { backend: "macvtap", fd: 3, mac: "02:00:00:00:00:02", vhost: false, address: "10.0.1.2/24", queues: 1 },
    ],
    dir: "/run/netbed/vms/x/vm1",
    name: "vm1",
    agent: false,
};
