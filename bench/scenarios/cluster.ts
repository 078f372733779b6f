// Two-server cluster: a redis-server and two of our servers started with
// --cluster, clients alternating between them (client i on server i % 2), so
// half of every sender's deliveries cross Redis. Open loop, like `latency`;
// deliveries and latency are reported overall, across servers and locally.

import { Accounting } from "../accounting.ts";
import { serverCpuUs } from "../cpu.ts";
import { Histogram, type Percentiles } from "../histogram.ts";
import { LoadGen } from "../loadgen.ts";
import type { ScenarioResult } from "../result.ts";
import { notRun } from "../result.ts";
import { redisMissing, startOurs, startRedis, type Target } from "../targets.ts";
import { growTo, type PhaseSpec, phaseReport, runPhase, type Ctx } from "./common.ts";

/** Splits deliveries by whether sender and receiver sit on the same server. */
class SplitAccounting extends Accounting {
  readonly cross = new Histogram();
  readonly local = new Histogram();
  crossDelivered = 0;

  override deliver(receiver: number, sender: number, seq: number, latencyUs: number): void {
    const before = this.delivered;
    super.deliver(receiver, sender, seq, latencyUs);
    if (this.delivered === before) return; // duplicate or foreign
    if (receiver % 2 !== sender % 2) {
      this.crossDelivered++;
      this.cross.record(latencyUs);
    } else {
      this.local.record(latencyUs);
    }
  }
}

/** Microseconds as milliseconds, two decimals. */
const usToMs = (us: number): number => +(us / 1000).toFixed(2);

/** Why the cluster cannot run against this target, or null when it can. */
function skipReason(label: string, wire: Target["wire"]): string | null {
  if (!label.startsWith("ours")) return "needs our server (it is started twice, with --cluster)";
  if (wire.name !== "line") return "drives our servers over TCP only";
  return redisMissing();
}

/** A redis-server and two of our servers sharing it; `stop` ends all three. */
interface Cluster {
  redis: Target;
  /** The load generator's clients alternate between these two. */
  servers: [Target, Target];
  stop(): Promise<void>;
}

async function startCluster(ctx: Ctx): Promise<Cluster> {
  const { label } = ctx.target;
  const { backend, noCoalesce, serverArgs } = ctx.opts;
  const started: Array<{ stop(): Promise<void> }> = [];
  const stop = async (): Promise<void> => {
    for (const part of started.reverse()) await part.stop();
  };
  try {
    ctx.progress.say("cluster: starting redis-server and two servers");
    const redis = await startRedis("cluster redis-server");
    started.push(redis);
    const servers: Target[] = [];
    for (const name of ["a", "b"]) {
      const server = await startOurs(`${label}-cluster-${name}`, backend, noCoalesce, [
        "--cluster",
        `redis://${redis.host}:${redis.port}`,
        ...serverArgs,
      ]);
      started.push(server);
      servers.push(server);
    }
    return { redis, servers: servers as [Target, Target], stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** CPU time of a process between two readings, as a fraction of one core over `wallUs`. */
function cpuShare(before: number | null, after: number | null, wallUs: number): number | null {
  return before != null && after != null ? +((after - before) / wallUs).toFixed(3) : null;
}

/** The measured phase, plus the CPU that the second server and Redis used during it. */
async function measure(gen: LoadGen, cluster: Cluster, phase: PhaseSpec, ctx: Ctx, acc: SplitAccounting) {
  const [first, second] = cluster.servers;
  const readCpuUs = () => [serverCpuUs(second.pid), serverCpuUs(cluster.redis.pid)] as const;
  const [serverBBefore, redisBefore] = readCpuUs();
  const startMs = performance.now();
  const result = await runPhase(gen, phase, { ...ctx, target: first }, acc);
  const wallUs = (performance.now() - startMs) * 1000;
  const [serverBAfter, redisAfter] = readCpuUs();
  return { result, serverBCpu: cpuShare(serverBBefore, serverBAfter, wallUs), redisCpu: cpuShare(redisBefore, redisAfter, wallUs) };
}

export async function clusterScenario(ctx: Ctx): Promise<ScenarioResult> {
  const label = ctx.target.label;
  const skip = skipReason(label, ctx.target.wire);
  if (skip) return notRun("cluster", label, "skipped", skip);

  const options = ctx.opts;
  const clients = options.clients ?? 1000;
  const senders = Math.min(options.senders ?? 10, clients - 1);
  const rate = options.rate ?? 100;
  const durationS = options.duration ?? 5;
  let cluster: Cluster | null = null;
  let gen: LoadGen | null = null;
  try {
    cluster = await startCluster(ctx);
    const [first, second] = cluster.servers;
    gen = new LoadGen(first.host, first.port, [second.port]);
    // Every join notice between the halves crosses Redis, so this also
    // waits until both servers' links are up.
    const missingJoins = await growTo(gen, clients, ctx, 200);
    const acc = new SplitAccounting(clients, senders);
    const phase: PhaseSpec = { label: "cluster", senders, mode: "open", window: 0, rate, size: options.size, durationS };
    const { result, serverBCpu, redisCpu } = await measure(gen, cluster, phase, ctx, acc);
    const crossShare = result.totals.delivered ? acc.crossDelivered / result.totals.delivered : 0;
    const cross: Percentiles = acc.cross.summary();
    const local: Percentiles = acc.local.summary();
    return {
      scenario: "cluster",
      target: label,
      status: "ok",
      clients,
      senders,
      durationS,
      ...phaseReport(result, gen, missingJoins),
      metrics: {
        servers: 2,
        ratePerSender: rate,
        crossDeliveriesPerSec: Math.round(result.deliveriesPerSec * crossShare),
        crossP50Ms: usToMs(cross.p50),
        crossP99Ms: usToMs(cross.p99),
        crossMaxMs: usToMs(cross.max),
        localP50Ms: usToMs(local.p50),
        localP99Ms: usToMs(local.p99),
        serverBCpu,
        redisCpu,
      },
    };
  } finally {
    gen?.close();
    await cluster?.stop();
  }
}
