// The phase of a testbed's `up` each netbed resource type belongs to, for benches that time them.
export const PHASES: Record<string, string> = {
    Host: "probe",
    VethPair: "fabric",
    Bridge: "fabric",
    Tap: "fabric",
    MacvtapLink: "fabric",
    HostTuning: "tuning",
    SecurityProfile: "security profile",
    Kernel: "kernel",
    GuestImage: "image",
    MicroVm: "boot",
    BenchmarkRun: "matrix",
};
