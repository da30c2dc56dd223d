// Entry point of the pulumi-resource-netbed plugin. The engine starts it with its own gRPC
// address as the first argument; the provider serves on a port it prints on stdout.
import * as provider from "@pulumi/pulumi/provider";
import { handlers } from "../resources/index";
import { EngineLogger } from "./log";
import { NetbedProvider } from "./provider";
import { traceStart, traced } from "./trace";
import { closeAll } from "../transport";
import { packageVersion } from "./version";

const version = packageVersion();

async function main(args: string[]): Promise<void> {
    const engineAddress = args.find((a) => !a.startsWith("-"));
    const log = engineAddress
        ? new EngineLogger(engineAddress)
        : { info: () => undefined, debug: () => undefined, warn: () => undefined, status: () => undefined };
    process.on("exit", () => void closeAll());
    watchEngine();
    traceStart();
    await provider.main(traced(new NetbedProvider(version, handlers, log)), args);
}

/**
 * The engine starts this plugin as its child and stops it when done. An engine killed outright
 * (SIGKILL) cannot, and the plugin would wait for it forever: once this
 * process is reparented, the engine is gone, so exit.
 */
function watchEngine(): void {
    const engine = process.ppid;
    setInterval(() => {
        if (process.ppid !== engine) {
            console.error(`pulumi-resource-netbed: the engine (pid ${engine}) is gone; exiting`);
            process.exit(1);
        }
    }, 500).unref();
}

main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
});
