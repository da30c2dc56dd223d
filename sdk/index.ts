// netbed's public API: `import * as netbed from "netbed"`.
export { Host, HostArgs, HostArgsSchema, HostConnection, HostConnectionSchema, HostInputs, SshSchema } from "./host";
export { Bridge, BridgeArgs, BridgeArgsSchema } from "./bridge";
export { Tap, TapArgs, TapArgsSchema } from "./tap";
export { MacvtapLink, MacvtapLinkArgs, MacvtapLinkArgsSchema, MACVTAP_MODES } from "./macvtap";
export { VethPair, VethPairArgs, VethPairArgsSchema } from "./veth";
export { Kernel, KernelArgs, KernelArgsSchema, VirtioMode } from "./kernel";
export { GuestImage, GuestImageArgs, GuestImageArgsSchema, ImageManifest, IMAGE_TOOLS } from "./image";
export { MicroVm, MicroVmArgs, MicroVmArgsSchema, NicArgs, BootTime, Placement, NIC_BACKENDS } from "./microvm";
export { VMM_DRIVERS } from "../core/vmm";
export { HostTuning, HostTuningArgs, HostTuningArgsSchema, TuningApplied } from "./tuning";
export { SecurityProfile, SecurityProfileArgs, SecurityProfileArgsSchema, SecurityRules } from "./security";
export type { LinkObserved } from "./link";
export type { HostProbe, KvmInfo, ToolInfo } from "../core/probe";
export { BenchmarkRun, BenchmarkRunArgs, BenchmarkRunArgsSchema, EndpointArgs, PairArgs } from "./benchmark";
export { TestSpecSchema, RunSettingsSchema, VOLT_MATRIX, TEST_KINDS } from "../core/bench/spec";
export type { TestSpec, RunSettings } from "../core/bench/spec";
export { ResultsDocSchema, StatsSchema, CellResultSchema, RESULTS_VERSION, summarizeResults } from "../core/bench/results";
export type { ResultsDoc, CellResult, Stats, Summary } from "../core/bench/results";
