// netbed's public API: `import * as netbed from "netbed"`.
export { Host, HostArgs, HostArgsSchema, HostConnection, HostConnectionSchema, HostInputs, SshSchema } from "./host";
export type { HostProbe, KvmInfo, ToolInfo } from "../core/probe";
