import type { ScenarioName } from "../args.ts";
import type { ScenarioResult } from "../result.ts";
import { burstScenario } from "./burst.ts";
import { clusterScenario } from "./cluster.ts";
import type { Ctx } from "./common.ts";
import { connectScenario } from "./connect.ts";
import { fanoutScenario, latencyScenario } from "./loop.ts";
import { memoryScenario } from "./memory.ts";
import { roomsIdleScenario, roomsScenario } from "./rooms.ts";
import { stepupScenario } from "./stepup.ts";
import { trickleScenario } from "./trickle.ts";

export const scenarios: Record<ScenarioName, (ctx: Ctx) => Promise<ScenarioResult>> = {
  connect: connectScenario,
  fanout: fanoutScenario,
  latency: latencyScenario,
  stepup: stepupScenario,
  memory: memoryScenario,
  cluster: clusterScenario,
  burst: burstScenario,
  trickle: trickleScenario,
  rooms: roomsScenario,
  "rooms-idle": roomsIdleScenario,
};
