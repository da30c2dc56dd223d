// The resource types this provider implements, by type name (netbed:index:<Type>).
import { benchmarkHandler } from "../benchmark";
import { bridgeHandler } from "./bridge";
import { hostHandler } from "./host";
import { imageHandler } from "./image";
import { kernelHandler } from "./kernel";
import { macvtapHandler } from "./macvtap";
import { microvmHandler } from "./microvm";
import { natHandler } from "./nat";
import type { ResourceHandler } from "../runtime/resource";
import { securityHandler } from "./security";
import { tapHandler } from "./tap";
import { tuningHandler } from "./tuning";
import { vethHandler } from "./veth";
import { TOKENS } from "../../core/tokens";

export const handlers: Record<string, ResourceHandler> = {
    [TOKENS.Host]: hostHandler,
    [TOKENS.Bridge]: bridgeHandler,
    [TOKENS.Tap]: tapHandler,
    [TOKENS.MacvtapLink]: macvtapHandler,
    [TOKENS.VethPair]: vethHandler,
    [TOKENS.Kernel]: kernelHandler,
    [TOKENS.GuestImage]: imageHandler,
    [TOKENS.MicroVm]: microvmHandler,
    [TOKENS.SecurityProfile]: securityHandler,
    [TOKENS.BenchmarkRun]: benchmarkHandler,
    [TOKENS.HostTuning]: tuningHandler,
    [TOKENS.Nat]: natHandler,
};
