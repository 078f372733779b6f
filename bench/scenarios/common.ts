// Building blocks every scenario uses: connecting clients and waiting for
// their join notices, and one measured send phase (closed or open loop)
// followed by a drain so losses are real losses, not messages still in flight.

import { Accounting, type Totals } from "../accounting.ts";
import type { Options } from "../args.ts";
import { cpuBetween, sampleCpu } from "../cpu.ts";
import type { Percentiles } from "../histogram.ts";
import type { LoadGen } from "../loadgen.ts";
import { formatMessage } from "../message.ts";
import type { Progress } from "../progress.ts";
import type { Target } from "../targets.ts";

/** What a scenario runs with: the options, the server to measure, the status line. */
export interface Ctx {
  opts: Options;
  target: Target;
  progress: Progress;
  /** Start another instance of the same target (the caller stops it); absent when the harness does not own it. */
  fresh?: () => Promise<Target>;
}

/** A count for the status line: 789, 45.6k, 1.23M. */
export const fmt = (value: number): string =>
  value >= 1e6 ? `${(value / 1e6).toFixed(2)}M` : value >= 1e4 ? `${(value / 1e3).toFixed(1)}k` : `${Math.round(value)}`;

/** Resolve when done() holds (checked after every batch of reads and every 20 ms),
 * or with false once nothing changed in progress() for `idleMs`. */
export function waitFor(gen: LoadGen, done: () => boolean, progress: () => number, idleMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let lastValue = progress();
    let lastChange = performance.now();
    const prevTick = gen.onTick;
    const check = (): boolean => {
      if (done()) return finish(true);
      const value = progress();
      const now = performance.now();
      if (value !== lastValue) {
        lastValue = value;
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

/** Connect up to `total` clients and wait until every join notice (wire.ts) arrived.
 * Returns the number of notices missing (0 when complete). */
export async function growTo(gen: LoadGen, total: number, ctx: Ctx, concurrency = 1000): Promise<number> {
  const have = gen.clients.length;
  const add = total - have;
  if (add <= 0) return 0;
  const expectedJoins = gen.joins + gen.wire.notices(have, add);
  ctx.progress.say(`connecting ${add} clients (${have} -> ${total})`);
  await gen.connect(add, concurrency);
  const ticker = setInterval(() => ctx.progress.set(`waiting for ${gen.wire.noticeName}: ${fmt(gen.joins)}/${fmt(expectedJoins)}`), 250);
  const ok = await waitFor(
    gen,
    () => gen.joins >= expectedJoins,
    () => gen.joins,
    5000,
  );
  clearInterval(ticker);
  return ok ? 0 : expectedJoins - gen.joins;
}

export interface PhaseSpec {
  label: string;
  senders: number;
  mode: "closed" | "open";
  window: number;
  /** open loop: msg/s per sender */
  rate: number;
  size: number;
  durationS: number;
  /** closed loop: whose receipts keep `sender`'s window (default: client `senders`, one for all) */
  observer?: (sender: number) => number;
  /** tag each message with this room (the rooms scenarios; see LoadGen.roomOf) */
  room?: (sender: number) => number;
}

export interface PhaseResult {
  totals: Totals;
  deliveriesPerSec: number;
  latencyUs: Percentiles;
  genCpu: number;
  serverCpu: number | null;
  drained: boolean;
}

/** Senders are clients 0..senders-1; client `senders` is the closed-loop
 * observer (unless `spec.observer` names one per sender). Every connected client is a receiver. Sends for `durationS`,
 * then drains. */
export async function runPhase(
  gen: LoadGen,
  spec: PhaseSpec,
  ctx: Ctx,
  acc = new Accounting(gen.clients.length, spec.senders),
): Promise<PhaseResult> {
  const nextMessage = messageMaker(beginMeasuring(gen, acc, spec.size), spec.size, acc, gen, spec.room);
  const startMs = performance.now();
  const cpuAtStart = sampleCpu(ctx.target.pid);
  const pacer = spec.mode === "closed" ? closedLoopPacer(gen, spec, acc, nextMessage) : openLoopPacer(gen, spec, acc, nextMessage, startMs);
  const ticker = showProgress(ctx.progress, spec, acc, startMs);
  await new Promise((resolve) => setTimeout(resolve, spec.durationS * 1000));
  pacer.stop();
  const seconds = (performance.now() - startMs) / 1000;
  const deliveredInWindow = acc.delivered;
  const cpuAtEnd = sampleCpu(ctx.target.pid);
  const drained = await drain(gen, acc);
  clearInterval(ticker);
  endMeasuring(gen);
  const cpu = cpuBetween(cpuAtStart, cpuAtEnd);
  return {
    totals: acc.totals(),
    deliveriesPerSec: deliveredInWindow / seconds,
    latencyUs: acc.latency.summary(),
    genCpu: cpu.gen,
    serverCpu: cpu.server,
    drained,
  };
}

/** Point the generator's reads at `acc` for a new phase; returns the phase number. */
function beginMeasuring(gen: LoadGen, acc: Accounting, size: number): number {
  const phase = ++gen.phase;
  gen.acc = acc;
  gen.countJoins = false; // nobody joins during a phase
  gen.msgSize = size;
  return phase;
}

/** Back to between phases: reads are not accounted, join notices are counted. */
function endMeasuring(gen: LoadGen): void {
  gen.onTick = null;
  gen.acc = null;
  gen.countJoins = true;
  gen.msgSize = 0;
}

/** Makes `sender`'s next message, stamped `tUs` and framed for the target, and records it as sent. */
type MessageMaker = (sender: number, tUs: number) => string;

function messageMaker(phase: number, size: number, acc: Accounting, gen: LoadGen, room?: (sender: number) => number): MessageMaker {
  const frame = gen.wire.frame;
  return (sender, tUs) => {
    const line = frame(formatMessage(phase, sender, acc.sentCount(sender), tUs, size, room ? room(sender) : -1));
    acc.recordSent(sender, tUs);
    return line;
  };
}

/** What sends a phase's messages; stopped once the measuring time is up. */
interface Pacer {
  stop(): void;
}

/** Closed loop: keep `window` messages per sender in flight, as seen by the observer. */
function closedLoopPacer(gen: LoadGen, spec: PhaseSpec, acc: Accounting, nextMessage: MessageMaker): Pacer {
  const observerOf = spec.observer ?? (() => spec.senders);
  let sending = true;
  // Stays installed through the drain (the drain's wait chains onto it), idle once stopped.
  gen.onTick = () => {
    if (!sending) return;
    const nowUs = performance.now() * 1000;
    for (let sender = 0; sender < spec.senders; sender++) {
      let inFlight = acc.sentCount(sender) - (acc.highestSeen(observerOf(sender), sender) + 1);
      let batch = "";
      while (inFlight++ < spec.window) batch += nextMessage(sender, nowUs);
      if (batch) gen.send(sender, batch);
    }
  };
  gen.kick();
  return {
    stop: () => {
      sending = false;
    },
  };
}

/** Open loop: sender s's k-th message is due at start + (k + s/senders)/rate
 * and is stamped with that *intended* time, so a stalled server cannot hide
 * its backlog from the latency figures (no coordinated omission). */
function openLoopPacer(gen: LoadGen, spec: PhaseSpec, acc: Accounting, nextMessage: MessageMaker, startMs: number): Pacer {
  const timer = setInterval(() => {
    const elapsedS = (performance.now() - startMs) / 1000;
    for (let sender = 0; sender < spec.senders; sender++) {
      const offset = sender / spec.senders;
      const due = Math.floor(elapsedS * spec.rate - offset) + 1;
      let batch = "";
      for (let seq = acc.sentCount(sender); seq < due; seq++)
        batch += nextMessage(sender, (startMs + ((seq + offset) / spec.rate) * 1000) * 1000);
      if (batch) gen.send(sender, batch);
    }
  }, 1);
  return { stop: () => clearInterval(timer) };
}

/** The live status line while a phase runs; clear the returned interval to stop it. */
function showProgress(progress: Progress, spec: PhaseSpec, acc: Accounting, startMs: number): ReturnType<typeof setInterval> {
  return setInterval(() => {
    const elapsedS = (performance.now() - startMs) / 1000;
    const totals = acc.totals();
    progress.set(
      `${spec.label}: ${elapsedS.toFixed(1)}s/${spec.durationS}s sent ${fmt(totals.sent)} delivered ${fmt(totals.delivered)} (${fmt(totals.delivered / elapsedS)}/s) p50 ${(acc.latency.percentile(50) / 1000).toFixed(1)}ms dup ${totals.duplicates} order ${totals.orderViolations}`,
    );
  }, 250);
}

/** Everything sent must arrive; false once 5 s pass without progress. */
function drain(gen: LoadGen, acc: Accounting): Promise<boolean> {
  return waitFor(
    gen,
    () => acc.totals().lost <= 0,
    () => acc.delivered + acc.duplicates,
    5000,
  );
}

/**
 * The fields every load phase reports alike: accounting, rate, latency,
 * CPU, and a note for anything that makes the figures doubtful.
 */
export function phaseReport(phase: PhaseResult, gen: LoadGen, missingJoins: number) {
  const notes = phaseNotes(phase, gen);
  if (missingJoins) notes.unshift(`${missingJoins} ${gen.wire.noticeName} missing at setup`);
  return {
    note: notes.join("; ") || undefined,
    accounting: phase.totals,
    deliveriesPerSec: phase.deliveriesPerSec,
    latencyUs: phase.latencyUs,
    genCpu: phase.genCpu,
    serverCpu: phase.serverCpu,
  };
}

export function phaseNotes(phase: PhaseResult, gen: LoadGen): string[] {
  const notes: string[] = [];
  if (!phase.drained) notes.push("drain timed out");
  if (gen.lost) notes.push(`${gen.lost} clients disconnected by server`);
  if (phase.genCpu > 0.9) notes.push(`generator busy (${Math.round(phase.genCpu * 100)}% CPU): figures may be generator-bound`);
  if (phase.totals.foreign) notes.push(`${phase.totals.foreign} foreign messages`);
  return notes;
}
