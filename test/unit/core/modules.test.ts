import { strict as assert } from "node:assert";
import { loadOrder, parseModulesDep } from "../../../core/modules";

describe("kernel modules (core/modules)", () => {
    it("orders modules dependencies first", () => {
        const dep = parseModulesDep(
            [
                "kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko",
                "kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko",
                "kernel/net/core/failover.ko:",
                "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko",
                "kernel/drivers/virtio/virtio_ring.ko:",
                "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko",
                "kernel/drivers/virtio/virtio_pci_modern_dev.ko:",
            ].join("\n"),
        );
        const { order, missing } = loadOrder(dep, ["virtio_pci", "virtio_mmio", "virtio_net"]);
        const names = order.map((p) => p.split("/").pop()!);
        assert.deepEqual(missing, ["virtio_mmio"]);
        assert.deepEqual([...names].sort(), [
            "failover.ko",
            "net_failover.ko",
            "virtio.ko",
            "virtio_net.ko",
            "virtio_pci.ko",
            "virtio_pci_modern_dev.ko",
            "virtio_ring.ko",
        ]);
        for (const [p, deps] of dep) for (const d of deps) if (order.includes(p)) assert.ok(order.indexOf(d) < order.indexOf(p), `${d} before ${p}`);
    });
});
