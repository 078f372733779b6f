// Closed-loop fan-out: S senders each keep W messages in flight (as seen by one
// observer client) to N clients. Measures deliveries per second.

import { LoadGen } from '../loadgen.ts';
import type { ScenarioResult } from '../result.ts';
import { growTo, phaseReport, runPhase, type Ctx } from './common.ts';

export async function fanoutScenario(ctx: Ctx): Promise<ScenarioResult> {
  return loopScenario(ctx, 'fanout', 'closed', 20, 16);
}

export async function latencyScenario(ctx: Ctx): Promise<ScenarioResult> {
  return loopScenario(ctx, 'latency', 'open', 10, 100);
}

async function loopScenario(ctx: Ctx, name: string, mode: 'closed' | 'open', defSenders: number, defRate: number): Promise<ScenarioResult> {
  const o = ctx.opts;
  const N = o.clients ?? 1000;
  const S = Math.min(o.senders ?? defSenders, N - 1);
  const durationS = o.duration ?? 5;
  const gen = new LoadGen(ctx.target.host, ctx.target.port);
  try {
    const missingJoins = await growTo(gen, N, ctx);
    const r = await runPhase(gen, { label: name, senders: S, mode, window: o.window, rate: o.rate ?? defRate, size: o.size, durationS }, ctx);
    return {
      scenario: name,
      target: ctx.target.label,
      status: 'ok',
      clients: N,
      senders: S,
      durationS,
      ...phaseReport(r, gen, missingJoins),
      metrics: mode === 'closed' ? { window: o.window, size: o.size } : { ratePerSender: o.rate ?? defRate, size: o.size },
    };
  } finally {
    gen.close();
  }
}
