import { kernelHandler } from "../providers/kernel";
import { MemoryLogger } from "../providers/log";
import { KernelArgsSchema } from "../sdk/kernel";
(async () => {
  const log = new MemoryLogger();
  const ctx = { urn: "urn:pulumi:x::y::netbed:index:Kernel::cold", name: "cold", log };
  const t = Date.now();
  try {
    const r = await kernelHandler.create(ctx, KernelArgsSchema.parse({ host: { kind: "local", name: "me" }, cacheDir: "/tmp/kcold-cache", source: { kind: "build" } }));
    console.log("OK", (r.outs as any).release, (r.outs as any).virtio, (r.outs as any).buildSeconds, (Date.now() - t) / 1000);
    const t2 = Date.now();
    const r2 = await kernelHandler.create(ctx, KernelArgsSchema.parse({ host: { kind: "local", name: "me" }, cacheDir: "/tmp/kcold-cache", source: { kind: "build" } }));
    console.log("CACHED", (r2.outs as any).buildSeconds, (Date.now() - t2) / 1000);
  } catch (e) { console.log("ERR", String(e)); }
  console.log(log.lines.filter(l => !l.startsWith("status")).join("\n"));
})();
