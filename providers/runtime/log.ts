// Progress and warnings shown by `pulumi up`: the provider talks to the engine's Log service
// directly (the engine passes its address as the plugin's first argument).
import * as grpc from "@grpc/grpc-js";
const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
const engproto = require("@pulumi/pulumi/proto/engine_pb");

export interface Logger {
    info(urn: string, message: string): void;
    /** Detail shown only with `--debug` (or `-v`): what would bury the diagnostics `up` prints at its end. */
    debug(urn: string, message: string): void;
    warn(urn: string, message: string): void;
    /** Ephemeral status line (replaced by the next one), for long work such as boots. */
    status(urn: string, message: string): void;
}

export class EngineLogger implements Logger {
    private readonly client: any;
    constructor(address: string) {
        this.client = new engrpc.EngineClient(address, grpc.credentials.createInsecure());
    }
    private send(severity: number, urn: string, message: string, ephemeral: boolean): void {
        const req = new engproto.LogRequest();
        req.setSeverity(severity);
        req.setMessage(message);
        req.setUrn(urn);
        req.setEphemeral(ephemeral);
        // Logging must never fail an operation.
        this.client.log(req, () => undefined);
    }
    info(urn: string, message: string): void {
        this.send(engproto.LogSeverity.INFO, urn, message, false);
    }
    debug(urn: string, message: string): void {
        this.send(engproto.LogSeverity.DEBUG, urn, message, false);
    }
    warn(urn: string, message: string): void {
        this.send(engproto.LogSeverity.WARNING, urn, message, false);
    }
    status(urn: string, message: string): void {
        this.send(engproto.LogSeverity.INFO, urn, message, true);
    }
}

/** Used by tests that call handlers directly: keeps the messages for assertions. */
export class MemoryLogger implements Logger {
    readonly lines: string[] = [];
    info(_urn: string, m: string): void {
        this.lines.push(`info: ${m}`);
    }
    debug(_urn: string, m: string): void {
        this.lines.push(`debug: ${m}`);
    }
    warn(_urn: string, m: string): void {
        this.lines.push(`warn: ${m}`);
    }
    status(_urn: string, m: string): void {
        this.lines.push(`status: ${m}`);
    }
}
