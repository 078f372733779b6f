// Connect storm: N clients connect at once. Done when every client is
// connected and every join notice arrived: each client sees the joins of all
// clients accepted after it, N(N-1)/2 notices in total. (Redis has no join
// notices: there it is done when every client's SUBSCRIBE is confirmed.)

import { cpuBetween, sampleCpu } from "../cpu.ts";
import { LoadGen } from "../loadgen.ts";
import type { ScenarioResult } from "../result.ts";
import { fmt, waitFor, type Ctx } from "./common.ts";

export async function connectScenario(ctx: Ctx): Promise<ScenarioResult> {
  const clients = ctx.opts.clients ?? 1000;
  const { host, port, pid, wire } = ctx.target;
  const gen = new LoadGen(host, port, [], wire);
  const expected = wire.notices(0, clients);
  try {
    ctx.progress.say(`connect: ${clients} clients at once`);
    const cpuAtStart = sampleCpu(pid);
    const startMs = performance.now();
    await gen.connect(clients);
    const connectedMs = performance.now() - startMs;
    const ticker = setInterval(() => ctx.progress.set(`connect: ${wire.noticeName} ${fmt(gen.joins)}/${fmt(expected)}`), 250);
    const complete = await waitFor(
      gen,
      () => gen.joins >= expected,
      () => gen.joins,
      5000,
    );
    clearInterval(ticker);
    const allMs = performance.now() - startMs;
    const cpu = cpuBetween(cpuAtStart, sampleCpu(pid));
    const notes: string[] = [];
    if (!complete) notes.push(`only ${gen.joins}/${expected} ${wire.noticeName} arrived`);
    if (gen.lost) notes.push(`${gen.lost} clients disconnected by server`);
    return {
      scenario: "connect",
      target: ctx.target.label,
      status: "ok",
      note: notes.join("; ") || undefined,
      clients,
      senders: 0,
      durationS: allMs / 1000,
      accounting: {
        sent: clients,
        expected,
        delivered: Math.min(gen.joins, expected),
        lost: Math.max(0, expected - gen.joins),
        duplicates: Math.max(0, gen.joins - expected),
        orderViolations: 0, // notices carry no sequence; order is not checked here
        foreign: 0,
      },
      deliveriesPerSec: gen.joins / (allMs / 1000),
      latencyUs: null,
      genCpu: cpu.gen,
      serverCpu: cpu.server,
      metrics: { connectedMs: Math.round(connectedMs), allNoticesMs: Math.round(allMs), goalMs: clients === 1000 ? 1000 : null },
    };
  } finally {
    gen.close();
  }
}
