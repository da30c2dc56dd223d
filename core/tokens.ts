// The type token of each netbed resource (netbed:index:<Name>), as the engine, the state and the
// provider's registry know it: the one table the SDK classes, the provider and the phase clock read.
// In core so that every layer may import it.
export const TOKENS = {
    Testbed: "netbed:index:Testbed",
    Host: "netbed:index:Host",
    Bridge: "netbed:index:Bridge",
    Tap: "netbed:index:Tap",
    MacvtapLink: "netbed:index:MacvtapLink",
    VethPair: "netbed:index:VethPair",
    Nat: "netbed:index:Nat",
    HostTuning: "netbed:index:HostTuning",
    Kernel: "netbed:index:Kernel",
    GuestImage: "netbed:index:GuestImage",
    SecurityProfile: "netbed:index:SecurityProfile",
    MicroVm: "netbed:index:MicroVm",
    BenchmarkRun: "netbed:index:BenchmarkRun",
} as const;

export type ResourceName = keyof typeof TOKENS;
export type TypeToken = (typeof TOKENS)[ResourceName];
