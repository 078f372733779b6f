// Results of every scenario against five targets, shaped like a real
// `bun bench --compare ours-bun,ours-node,ours-nocoalesce,c,redis --scenario
// connect,fanout,latency,stepup,memory,cluster,burst` (figures from past
// runs, widest cases included), for the report and chart specs.
import type { Percentiles } from "../../../bench/histogram.ts";
import { notRun, type ScenarioResult, type StepResult } from "../../../bench/result.ts";

export const TARGETS = ["ours-bun", "ours-node", "ours-nocoalesce", "c", "redis"];

const latency = (p50Ms: number, p99Ms: number, maxMs: number): Percentiles => ({
  count: 1000,
  min: 100,
  mean: p50Ms * 1000,
  p50: p50Ms * 1000,
  p90: ((p50Ms + p99Ms) / 2) * 1000,
  p95: ((p50Ms + 2 * p99Ms) / 3) * 1000,
  p99: p99Ms * 1000,
  p999: maxMs * 900,
  max: maxMs * 1000,
});

function ok(scenario: string, target: string, i: number, fields: Partial<ScenarioResult>): ScenarioResult {
  const sent = 123_456 * (i + 1);
  return {
    scenario,
    target,
    status: "ok",
    clients: 1000,
    senders: 20,
    durationS: 5,
    accounting: { sent, expected: sent * 999, delivered: sent * 999, lost: 0, duplicates: 0, orderViolations: 0, foreign: 0 },
    deliveriesPerSec: 17_420_000 / (i + 1),
    latencyUs: latency(16.9 * (i + 1), 35.8 * (i + 1), 23 * (i + 1)),
    genCpu: 0.98,
    serverCpu: i === 2 ? 1 : 0.61,
    metrics: {},
    ...fields,
  };
}

const step = (clients: number, i: number, note?: string): StepResult => ({
  clients,
  deliveriesPerSec: clients * 99.9,
  latencyUs: latency(clients / 200 + i, clients / 80 + i, clients / 60 + i),
  accounting: { sent: clients, expected: clients * 999, delivered: clients * 999, lost: 0, duplicates: 0, orderViolations: 0, foreign: 0 },
  genCpu: 0.97,
  serverCpu: 1,
  note,
});

const busy = "generator busy (98% CPU): figures may be generator-bound";

export function everyScenario(targets = TARGETS): ScenarioResult[] {
  const results: ScenarioResult[] = [];
  for (const [i, target] of targets.entries())
    results.push(
      ok("connect", target, i, {
        senders: 0,
        latencyUs: null,
        deliveriesPerSec: 7_130_000 / (i + 1),
        metrics: { connectedMs: 40 + i, allNoticesMs: i === 2 ? 2256 : 70 + i, goalMs: 1000 },
      }),
    );
  for (const [i, target] of targets.entries()) results.push(ok("fanout", target, i, { note: busy, metrics: { window: 16, size: 64 } }));
  for (const [i, target] of targets.entries())
    results.push(
      ok("latency", target, i, {
        senders: 10,
        deliveriesPerSec: 997_600,
        latencyUs: i === 2 ? latency(8126.5, 17301.5, 17541.7) : latency(7.04, 14.1, 23),
        note: busy,
        metrics: { ratePerSender: 100, size: 64 },
      }),
    );
  for (const [i, target] of targets.entries()) {
    const steps = [step(1000, i), step(2000, i), step(4000, i, busy), step(8000, i, busy), step(9000, i, busy)];
    if (i === 2) steps.splice(2, 3, { ...step(4000, i, busy), latencyUs: latency(1605.6, 4325.4, 4346.1) });
    results.push(
      ok("stepup", target, i, {
        senders: 5,
        clients: i === 2 ? 2000 : 9000,
        latencyUs: steps.at(-1)!.latencyUs,
        note: i === 2 ? "p95 3932 ms > 250 ms at 4000 clients" : "reached --max-clients 9000",
        metrics: { maxClientsUnder250msP95: i === 2 ? 2000 : 9000, ratePerSender: 20 },
        steps,
      }),
    );
  }
  for (const [i, target] of targets.entries())
    results.push(
      target === "ours-nocoalesce"
        ? notRun(
            "memory",
            target,
            "skipped",
            "same idle connections as with coalescing; skipped in --compare (9k clients cost ~40M unbatched notice sends)",
          )
        : ok("memory", target, i, {
            clients: 9000,
            senders: 0,
            deliveriesPerSec: null,
            latencyUs: null,
            genCpu: null,
            serverCpu: null,
            metrics: {
              rssIdleKb: 1496 * (i + 1),
              rssAt5000Kb: 486_468,
              rssAt9000Kb: 1_114_152,
              kbPerConn: [2.93, 4.87, 0, 123.63, 11.5][i] ?? 3,
              kbPerConnMarginal: 156.92,
            },
          }),
    );
  for (const [i, target] of targets.entries())
    results.push(
      target.startsWith("ours")
        ? ok("cluster", target, i, {
            senders: 10,
            deliveriesPerSec: 997_000,
            latencyUs: latency(3.1 + i, 9.8 + i, 20 + i),
            metrics: {
              servers: 2,
              ratePerSender: 100,
              crossDeliveriesPerSec: 498_500,
              crossP50Ms: 4.12,
              crossP99Ms: 12.5,
              crossMaxMs: 21.03,
              localP50Ms: 2.01,
              localP99Ms: 7.7,
              serverBCpu: 0.61,
              redisCpu: 0.33,
            },
          })
        : notRun("cluster", target, "skipped", "needs our server (it is started twice, with --cluster)"),
    );
  for (const [i, target] of targets.entries())
    results.push(
      ok("burst", target, i, {
        senders: 1000,
        durationS: [1.81, 2.1, 40.2, 4.08, 3.3][i] ?? 2,
        deliveriesPerSec: 999_000 / ([1.81, 2.1, 40.2, 4.08, 3.3][i] ?? 2),
        note: i === 2 ? "gave up after 20 s without a delivery; 12 clients disconnected by server" : undefined,
        metrics: {
          size: 2048,
          completeMs: i === 2 ? null : Math.round(([1.81, 2.1, 40.2, 4.08, 3.3][i] ?? 2) * 1000),
          evicted: i === 2 ? 12 : 0,
          completeClients: i === 2 ? 988 : 1000,
          lostAtSurvivors: 0,
          rssBeforeMb: 38,
          rssPeakMb: [55, 70, 90, 1393, 400][i] ?? 50,
          vmHwmMb: [55, 70, 90, 1393, 400][i] ?? 50,
          loadBefore: "0.71 0.85 0.93",
          loadAfter: "1.02 0.90 0.95",
        },
      }),
    );
  return results;
}
