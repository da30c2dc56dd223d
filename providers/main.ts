// Entry point of the pulumi-resource-netbed plugin. The engine starts it with its own gRPC
// address as the first argument; the provider serves on a port it prints on stdout.
import * as provider from "@pulumi/pulumi/provider";
import { handlers } from "./index";
import { EngineLogger } from "./log";
import { NetbedProvider } from "./provider";
import { closeAll } from "./transport";
import { packageVersion } from "./version";

const version = packageVersion();

async function main(args: string[]): Promise<void> {
    const engineAddress = args.find((a) => !a.startsWith("-"));
    const log = engineAddress
        ? new EngineLogger(engineAddress)
        : { info: () => undefined, warn: () => undefined, status: () => undefined };
    process.on("exit", () => void closeAll());
    await provider.main(new NetbedProvider(version, handlers, log), args);
}

main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
});
