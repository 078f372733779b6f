// Building blocks every scenario uses: connecting clients and waiting for
// their join notices, and one measured send phase (closed or open loop)
// followed by a drain so losses are real losses, not messages still in flight.

import { Accounting, type Totals } from '../accounting.ts';
import type { Options } from '../args.ts';
import { cpuBetween, sampleCpu } from '../cpu.ts';
import type { Percentiles } from '../histogram.ts';
import type { LoadGen } from '../loadgen.ts';
import { formatMessage } from '../message.ts';
import type { Progress } from '../progress.ts';
import type { Target } from '../targets.ts';

export interface Ctx {
  opts: Options;
  target: Target;
  progress: Progress;
}

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : `${Math.round(n)}`);
export { fmt };

/** Resolve when pred() holds (checked after every batch of reads and every 20 ms),
 * or with false once nothing changed in progress() for `idleMs`. */
export function waitFor(gen: LoadGen, pred: () => boolean, progress: () => number, idleMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let lastValue = progress();
    let lastChange = performance.now();
    const prevTick = gen.onTick;
    const check = (): boolean => {
      if (pred()) return finish(true);
      const v = progress();
      const now = performance.now();
      if (v !== lastValue) {
        lastValue = v;
        lastChange = now;
      } else if (now - lastChange > idleMs) return finish(false);
      return false;
    };
    const timer = setInterval(check, 20);
    const finish = (ok: boolean): boolean => {
      clearInterval(timer);
      gen.onTick = prevTick;
      resolve(ok);
      return true;
    };
    gen.onTick = () => {
      prevTick?.();
      check();
    };
    check();
  });
}

/** Connect up to `total` clients and wait until every join notice arrived.
 * Returns the number of notices missing (0 when complete). */
export async function growTo(gen: LoadGen, total: number, ctx: Ctx, concurrency = 1000): Promise<number> {
  const have = gen.clients.length;
  const add = total - have;
  if (add <= 0) return 0;
  const expectedJoins = gen.joins + have * add + (add * (add - 1)) / 2;
  ctx.progress.say(`connecting ${add} clients (${have} -> ${total})`);
  await gen.connect(add, concurrency);
  const ticker = setInterval(() => ctx.progress.set(`waiting for join notices: ${fmt(gen.joins)}/${fmt(expectedJoins)}`), 250);
  const ok = await waitFor(gen, () => gen.joins >= expectedJoins, () => gen.joins, 5000);
  clearInterval(ticker);
  return ok ? 0 : expectedJoins - gen.joins;
}

export interface PhaseSpec {
  label: string;
  senders: number;
  mode: 'closed' | 'open';
  window: number;
  /** open loop: msg/s per sender */
  rate: number;
  size: number;
  durationS: number;
}

export interface PhaseResult {
  totals: Totals;
  deliveriesPerSec: number;
  latencyUs: Percentiles;
  genCpu: number;
  serverCpu: number | null;
  drained: boolean;
}

/** Senders are clients 0..S-1; client S is the closed-loop observer. Every
 * connected client is a receiver. */
export async function runPhase(gen: LoadGen, spec: PhaseSpec, ctx: Ctx, acc = new Accounting(gen.clients.length, spec.senders)): Promise<PhaseResult> {
  const S = spec.senders;
  const observer = S;
  const phase = ++gen.phase;
  gen.acc = acc;
  gen.countJoins = false; // nobody joins during a phase
  gen.msgSize = spec.size;
  let sending = true;
  const t0 = performance.now();
  const cpu0 = sampleCpu(ctx.target.pid);

  const sendOne = (s: number, tUs: number): string => {
    const line = formatMessage(phase, s, acc.sentCount(s), tUs, spec.size);
    acc.recordSent(s, tUs);
    return line;
  };

  let timer: ReturnType<typeof setInterval> | null = null;
  if (spec.mode === 'closed') {
    // keep W messages per sender in flight as seen by the observer
    gen.onTick = () => {
      if (!sending) return;
      const nowUs = performance.now() * 1000;
      for (let s = 0; s < S; s++) {
        let inflight = acc.sentCount(s) - (acc.highestSeen(observer, s) + 1);
        let batch = '';
        while (inflight++ < spec.window) batch += sendOne(s, nowUs);
        if (batch) gen.send(s, batch);
      }
    };
    gen.kick();
  } else {
    // open loop: sender s's k-th message is due at t0 + (k + s/S)/rate and is
    // stamped with that *intended* time, so a stalled server cannot hide its
    // backlog from the latency figures (no coordinated omission)
    timer = setInterval(() => {
      if (!sending) return;
      const elapsed = (performance.now() - t0) / 1000;
      for (let s = 0; s < S; s++) {
        const due = Math.floor(elapsed * spec.rate - s / S) + 1;
        let batch = '';
        for (let k = acc.sentCount(s); k < due; k++) batch += sendOne(s, (t0 + ((k + s / S) / spec.rate) * 1000) * 1000);
        if (batch) gen.send(s, batch);
      }
    }, 1);
  }

  const ticker = setInterval(() => {
    const el = (performance.now() - t0) / 1000;
    const t = acc.totals();
    ctx.progress.set(
      `${spec.label}: ${el.toFixed(1)}s/${spec.durationS}s sent ${fmt(t.sent)} delivered ${fmt(t.delivered)} (${fmt(t.delivered / el)}/s) p50 ${(acc.latency.percentile(50) / 1000).toFixed(1)}ms dup ${t.duplicates} order ${t.orderViolations}`,
    );
  }, 250);
  await new Promise((r) => setTimeout(r, spec.durationS * 1000));
  sending = false;
  if (timer) clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  const deliveredInWindow = acc.delivered;
  const cpu1 = sampleCpu(ctx.target.pid);
  // drain: everything sent must arrive; give up after 5 s without progress
  const drained = await waitFor(gen, () => acc.totals().lost <= 0, () => acc.delivered + acc.duplicates, 5000);
  clearInterval(ticker);
  gen.onTick = null;
  gen.acc = null;
  gen.countJoins = true;
  gen.msgSize = 0;
  const cpu = cpuBetween(cpu0, cpu1);
  return {
    totals: acc.totals(),
    deliveriesPerSec: deliveredInWindow / seconds,
    latencyUs: acc.latency.summary(),
    genCpu: cpu.gen,
    serverCpu: cpu.server,
    drained,
  };
}

/**
 * The fields every load phase reports alike: accounting, rate, latency,
 * CPU, and a note for anything that makes the figures doubtful.
 */
export function phaseReport(r: PhaseResult, gen: LoadGen, missingJoins: number) {
  const notes = phaseNotes(r, gen);
  if (missingJoins) notes.unshift(`${missingJoins} join notices missing at setup`);
  return {
    note: notes.join('; ') || undefined,
    accounting: r.totals,
    deliveriesPerSec: r.deliveriesPerSec,
    latencyUs: r.latencyUs,
    genCpu: r.genCpu,
    serverCpu: r.serverCpu,
  };
}

export function phaseNotes(r: PhaseResult, gen: LoadGen): string[] {
  const notes: string[] = [];
  if (!r.drained) notes.push('drain timed out');
  if (gen.lost) notes.push(`${gen.lost} clients disconnected by server`);
  if (r.genCpu > 0.9) notes.push(`generator busy (${Math.round(r.genCpu * 100)}% CPU): figures may be generator-bound`);
  if (r.totals.foreign) notes.push(`${r.totals.foreign} foreign messages`);
  return notes;
}
