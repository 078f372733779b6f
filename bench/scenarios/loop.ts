// Closed-loop fan-out: S senders each keep W messages in flight (as seen by one
// observer client) to N clients. Measures deliveries per second. Latency is
// the same phase open-loop: each sender at a fixed rate.

import { LoadGen } from "../loadgen.ts";
import type { ScenarioResult } from "../result.ts";
import { growTo, phaseReport, runPhase, type Ctx } from "./common.ts";

export async function fanoutScenario(ctx: Ctx): Promise<ScenarioResult> {
  return loopScenario(ctx, "fanout", "closed", 20, 16);
}

export async function latencyScenario(ctx: Ctx): Promise<ScenarioResult> {
  return loopScenario(ctx, "latency", "open", 10, 100);
}

async function loopScenario(
  ctx: Ctx,
  name: string,
  mode: "closed" | "open",
  defaultSenders: number,
  defaultRate: number,
): Promise<ScenarioResult> {
  const options = ctx.opts;
  const clients = options.clients ?? 1000;
  const senders = Math.min(options.senders ?? defaultSenders, clients - 1);
  const rate = options.rate ?? defaultRate;
  const durationS = options.duration ?? 5;
  const gen = new LoadGen(ctx.target.host, ctx.target.port, [], ctx.target.wire);
  try {
    const missingJoins = await growTo(gen, clients, ctx);
    const phase = await runPhase(gen, { label: name, senders, mode, window: options.window, rate, size: options.size, durationS }, ctx);
    return {
      scenario: name,
      target: ctx.target.label,
      status: "ok",
      clients,
      senders,
      durationS,
      ...phaseReport(phase, gen, missingJoins),
      metrics: mode === "closed" ? { window: options.window, size: options.size } : { ratePerSender: rate, size: options.size },
    };
  } finally {
    gen.close();
  }
}
