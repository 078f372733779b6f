// Two-server cluster: a redis-server and two of our servers started with
// --cluster, clients alternating between them (client i on server i % 2), so
// half of every sender's deliveries cross Redis. Open loop, like `latency`;
// deliveries and latency are reported overall, across servers and locally.

import { spawn, spawnSync } from 'node:child_process';
import { Accounting } from '../accounting.ts';
import { serverCpuUs } from '../cpu.ts';
import { Histogram, type Percentiles } from '../histogram.ts';
import { LoadGen, TargetError } from '../loadgen.ts';
import type { ScenarioResult } from '../result.ts';
import { notRun } from '../result.ts';
import { freePort, startOurs, type Target } from '../targets.ts';
import { growTo, phaseReport, runPhase, type Ctx } from './common.ts';

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

interface RedisProcess {
  url: string;
  pid: number | null;
  stop(): Promise<void>;
}

async function startRedis(): Promise<RedisProcess> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new TargetError('redis-server: not ready within 10 s')), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout.removeAllListeners('data');
        child.stdout.resume();
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new TargetError(`redis-server exited (code ${code}): ${out.trim().split('\n').slice(-2).join(' | ')}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid ?? null,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

const ms = (us: number): number => +(us / 1000).toFixed(2);

export async function clusterScenario(ctx: Ctx): Promise<ScenarioResult> {
  const label = ctx.target.label;
  if (!label.startsWith('ours')) return notRun('cluster', label, 'skipped', 'needs our server (it is started twice, with --cluster)');
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return notRun('cluster', label, 'skipped', 'redis-server is not installed (apt-get install redis-server)');

  const o = ctx.opts;
  const N = o.clients ?? 1000;
  const S = Math.min(o.senders ?? 10, N - 1);
  const rate = o.rate ?? 100;
  const durationS = o.duration ?? 5;
  const started: Array<{ stop(): Promise<void> }> = [];
  let gen: LoadGen | null = null;
  try {
    ctx.progress.say('cluster: starting redis-server and two servers');
    const redis = await startRedis();
    started.push(redis);
    const servers: Target[] = [];
    for (const name of ['a', 'b']) {
      const t = await startOurs(`${label}-cluster-${name}`, o.backend, o.noCoalesce, ['--cluster', redis.url]);
      started.push(t);
      servers.push(t);
    }
    const [a, b] = servers as [Target, Target];
    gen = new LoadGen(a.host, a.port, [b.port]);
    // Every join notice between the halves crosses Redis, so this also
    // waits until both servers' links are up.
    const missingJoins = await growTo(gen, N, ctx, 200);
    const acc = new SplitAccounting(N, S);
    const cpu0 = [serverCpuUs(b.pid), serverCpuUs(redis.pid)];
    const t0 = performance.now();
    const r = await runPhase(gen, { label: 'cluster', senders: S, mode: 'open', window: 0, rate, size: o.size, durationS }, { ...ctx, target: a }, acc);
    const wallUs = (performance.now() - t0) * 1000;
    const cpu1 = [serverCpuUs(b.pid), serverCpuUs(redis.pid)];
    const share = (i: number): number | null => (cpu0[i] != null && cpu1[i] != null ? +((cpu1[i]! - cpu0[i]!) / wallUs).toFixed(2) : null);
    const crossShare = r.totals.delivered ? acc.crossDelivered / r.totals.delivered : 0;
    const cross: Percentiles = acc.cross.summary();
    const local: Percentiles = acc.local.summary();
    return {
      scenario: 'cluster',
      target: label,
      status: 'ok',
      clients: N,
      senders: S,
      durationS,
      ...phaseReport(r, gen, missingJoins),
      metrics: {
        servers: 2,
        ratePerSender: rate,
        crossDeliveriesPerSec: Math.round(r.deliveriesPerSec * crossShare),
        crossP50Ms: ms(cross.p50),
        crossP99Ms: ms(cross.p99),
        crossMaxMs: ms(cross.max),
        localP50Ms: ms(local.p50),
        localP99Ms: ms(local.p99),
        serverBCpu: share(0),
        redisCpu: share(1),
      },
    };
  } finally {
    gen?.close();
    for (const p of started.reverse()) await p.stop();
  }
}
