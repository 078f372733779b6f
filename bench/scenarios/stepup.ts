// Step-up: grow the client count (1k, 2k, 4k, 8k, ... capped at --max-clients)
// while a fixed set of senders broadcasts open-loop; stop when p95 latency
// passes 250 ms or anything is lost. Reports the largest count that held.

import { LoadGen, TargetError } from '../loadgen.ts';
import type { ScenarioResult, StepResult } from '../result.ts';
import { emptyTotals } from '../result.ts';
import { growTo, phaseNotes, runPhase, type Ctx } from './common.ts';

const P95_LIMIT_US = 250_000;

export function stepCounts(start: number, max: number): number[] {
  const out: number[] = [];
  for (let n = Math.min(start, max); ; n *= 2) {
    if (n >= max) {
      out.push(max);
      return out;
    }
    out.push(n);
  }
}

export async function stepupScenario(ctx: Ctx): Promise<ScenarioResult> {
  const o = ctx.opts;
  const S = o.senders ?? 5;
  const rate = o.rate ?? 20;
  const durationS = o.duration ?? 3;
  const counts = stepCounts(o.clients ?? 1000, o.maxClients);
  const gen = new LoadGen(ctx.target.host, ctx.target.port);
  const steps: StepResult[] = [];
  let best = 0;
  let stopReason = `reached --max-clients ${o.maxClients}`;
  try {
    for (const n of counts) {
      let missing: number;
      try {
        missing = await growTo(gen, n, ctx);
      } catch (e) {
        if (!(e instanceof TargetError)) throw e;
        stopReason = `could not connect ${n} clients: ${e.message}`;
        break;
      }
      const r = await runPhase(gen, { label: `stepup ${n}`, senders: S, mode: 'open', window: 0, rate, size: o.size, durationS }, ctx);
      const notes = phaseNotes(r, gen);
      if (missing) notes.unshift(`${missing} join notices missing`);
      steps.push({ clients: n, deliveriesPerSec: r.deliveriesPerSec, latencyUs: r.latencyUs, accounting: r.totals, genCpu: r.genCpu, serverCpu: r.serverCpu, note: notes.join('; ') || undefined });
      const bad = r.totals.lost > 0 || r.totals.duplicates > 0 || r.totals.orderViolations > 0;
      if (r.latencyUs.p95 > P95_LIMIT_US || bad) {
        stopReason = bad ? `accounting errors at ${n} clients` : `p95 ${(r.latencyUs.p95 / 1000).toFixed(0)} ms > 250 ms at ${n} clients`;
        break;
      }
      best = n;
    }
  } finally {
    gen.close();
  }
  const sum = emptyTotals();
  for (const s of steps)
    for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += s.accounting[k];
  const last = steps.at(-1);
  return {
    scenario: 'stepup',
    target: ctx.target.label,
    status: steps.length ? 'ok' : 'failed',
    note: stopReason,
    clients: best,
    senders: S,
    durationS: durationS * steps.length,
    accounting: sum,
    deliveriesPerSec: last?.deliveriesPerSec ?? null,
    latencyUs: last?.latencyUs ?? null,
    genCpu: last?.genCpu ?? null,
    serverCpu: last?.serverCpu ?? null,
    metrics: { maxClientsUnder250msP95: best, ratePerSender: rate },
    steps,
  };
}
