import { kernelHandler } from "../providers/kernel";
import { MemoryLogger } from "../providers/log";
import { KernelArgsSchema } from "../sdk/kernel";
(async () => {
  const kind = process.argv[2];
  const log = new MemoryLogger();
  const ctx = { urn: `urn:pulumi:x::y::netbed:index:Kernel::${kind}`, name: kind, log };
  const src = kind === "debian" ? { kind: "debian", package: "linux-image-amd64" } : { kind: "build" };
  const t = Date.now();
  try {
    const r = await kernelHandler.create(ctx, KernelArgsSchema.parse({ host: { kind: "local", name: "me" }, source: src }));
    console.log(JSON.stringify(r.outs, null, 1), (Date.now() - t) / 1000);
  } catch (e) { console.log("ERR", String(e)); }
  console.log(log.lines.join("\n"));
})();
