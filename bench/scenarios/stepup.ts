// Step-up: grow the client count (1k, 2k, 4k, 8k, ... capped at --max-clients)
// while a fixed set of senders broadcasts open-loop; stop when p95 latency
// passes 250 ms or anything is lost. Reports the largest count that held.

import { LoadGen, TargetError } from "../loadgen.ts";
import type { ScenarioResult, StepResult } from "../result.ts";
import { emptyTotals } from "../result.ts";
import { growTo, phaseNotes, runPhase, type Ctx } from "./common.ts";

const P95_LIMIT_US = 250_000;

export function stepCounts(start: number, max: number): number[] {
  const out: number[] = [];
  for (let count = Math.min(start, max); ; count *= 2) {
    if (count >= max) {
      out.push(max);
      return out;
    }
    out.push(count);
  }
}

export async function stepupScenario(ctx: Ctx): Promise<ScenarioResult> {
  const options = ctx.opts;
  const senders = options.senders ?? 5;
  const rate = options.rate ?? 20;
  const durationS = options.duration ?? 3;
  const counts = stepCounts(options.clients ?? 1000, options.maxClients);
  const gen = new LoadGen(ctx.target.host, ctx.target.port, [], ctx.target.wire);
  const steps: StepResult[] = [];
  let best = 0;
  let stopReason = `reached --max-clients ${options.maxClients}`;
  try {
    for (const clients of counts) {
      let missing: number;
      try {
        missing = await growTo(gen, clients, ctx);
      } catch (err) {
        if (!(err instanceof TargetError)) throw err;
        stopReason = `could not connect ${clients} clients: ${err.message}`;
        break;
      }
      const phase = await runPhase(
        gen,
        { label: `stepup ${clients}`, senders, mode: "open", window: 0, rate, size: options.size, durationS },
        ctx,
      );
      const notes = phaseNotes(phase, gen);
      if (missing) notes.unshift(`${missing} ${gen.wire.noticeName} missing`);
      steps.push({
        clients,
        deliveriesPerSec: phase.deliveriesPerSec,
        latencyUs: phase.latencyUs,
        accounting: phase.totals,
        genCpu: phase.genCpu,
        serverCpu: phase.serverCpu,
        note: notes.join("; ") || undefined,
      });
      const bad = phase.totals.lost > 0 || phase.totals.duplicates > 0 || phase.totals.orderViolations > 0;
      if (phase.latencyUs.p95 > P95_LIMIT_US || bad) {
        stopReason = bad
          ? `accounting errors at ${clients} clients`
          : `p95 ${(phase.latencyUs.p95 / 1000).toFixed(0)} ms > 250 ms at ${clients} clients`;
        break;
      }
      best = clients;
    }
  } finally {
    gen.close();
  }
  const sum = emptyTotals();
  for (const step of steps) for (const key of Object.keys(sum) as (keyof typeof sum)[]) sum[key] += step.accounting[key];
  const last = steps.at(-1);
  return {
    scenario: "stepup",
    target: ctx.target.label,
    status: steps.length ? "ok" : "failed",
    note: stopReason,
    clients: best,
    senders,
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
