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

export const handlers: Record<string, ResourceHandler> = {
    "netbed:index:Host": hostHandler,
    "netbed:index:Bridge": bridgeHandler,
    "netbed:index:Tap": tapHandler,
    "netbed:index:MacvtapLink": macvtapHandler,
    "netbed:index:VethPair": vethHandler,
    "netbed:index:Kernel": kernelHandler,
    "netbed:index:GuestImage": imageHandler,
    "netbed:index:MicroVm": microvmHandler,
    "netbed:index:SecurityProfile": securityHandler,
    "netbed:index:BenchmarkRun": benchmarkHandler,
    "netbed:index:HostTuning": tuningHandler,
    "netbed:index:Nat": natHandler,
};
