import { strict as assert } from "node:assert";
import { MINIMAL_FRAGMENT, buildTools, fragmentLineProblem, releaseFromBzImage, unmetOptions, virtioMode } from "../../../core/kconfig";

describe("kernel config (core/kconfig)", () => {
    it("validates fragments and reads a final config", () => {
        assert.equal(fragmentLineProblem("CONFIG_NR_CPUS=64"), undefined);
        assert.equal(fragmentLineProblem('CONFIG_CMDLINE="console=ttyS0"'), undefined);
        assert.equal(fragmentLineProblem("# CONFIG_MODULES is not set"), undefined);
        for (const bad of ["CONFIG_X=yes", "VIRTIO_NET=y", "CONFIG_X = y", "CONFIG_X=y; rm"]) assert.ok(fragmentLineProblem(bad), bad);
        for (const l of MINIMAL_FRAGMENT) assert.equal(fragmentLineProblem(l), undefined, l);
        const final = "CONFIG_VIRTIO_NET=y\nCONFIG_VIRTIO_PCI=y\n# CONFIG_DEFAULT_CUBIC is not set\n";
        assert.equal(virtioMode(final), "builtin");
        assert.equal(virtioMode("CONFIG_VIRTIO_NET=m\nCONFIG_VIRTIO_PCI=m\n"), "modules");
        assert.equal(virtioMode(""), "absent");
        assert.deepEqual(unmetOptions(["CONFIG_VIRTIO_NET=y", "CONFIG_DEFAULT_CUBIC=y"], final), ["CONFIG_DEFAULT_CUBIC=y (got not set)"]);
    });
    it("names the programs a kernel build needs, with the compressor its fragment chose", () => {
        const tools = (f: readonly string[]) => buildTools(f).map((t) => `${t.tool}:${t.pkg}`);
        assert.deepEqual(tools(MINIMAL_FRAGMENT).slice(-1), ["lz4:lz4"], "the minimal kernel is LZ4-compressed");
        assert.deepEqual(tools(["CONFIG_KERNEL_ZSTD=y"]), ["make:make", "cc:build-essential", "flex:flex", "bison:bison", "bc:bc", "zstd:zstd"]);
        assert.ok(!tools([]).some((t) => t.startsWith("lz4")));
    });
    it("reads the release from a bzImage header", () => {
        const img = Buffer.alloc(0x1000);
        img.write("HdrS", 0x202, "latin1");
        img.writeUInt16LE(0x600, 0x20e);
        img.write("6.1.0-56-amd64 (debian-kernel@lists.debian.org) #1 SMP\0", 0x800, "latin1");
        assert.equal(releaseFromBzImage(img), "6.1.0-56-amd64");
        assert.equal(releaseFromBzImage(Buffer.alloc(16)), undefined);
    });
});
