// Burst: N clients that all read; once the room is settled, every client
// sends one line of S bytes in the same instant. Measures the time until
// every client has every other client's line, the server's peak memory, and
// how many clients the server dropped on the way (a reader that keeps up
// must not be evicted because one tick's batch outgrew --max-outbound).

import { Accounting } from "../accounting.ts";
import { cpuBetween, loadAverage, sampleCpu, serverRssKb, statusKb } from "../cpu.ts";
import { LoadGen } from "../loadgen.ts";
import { formatMessage } from "../message.ts";
import type { ScenarioResult } from "../result.ts";
import { fmt, growTo, waitFor, type Ctx } from "./common.ts";

/** Line size when --size is not given: a paste, not a chat line. */
const DEFAULT_SIZE = 2048;
/** Give up once nothing arrives for this long: our server can stall for seconds before it sends anything. */
const IDLE_MS = 20_000;

/** Counts, per receiver, the lines it got, and how many receivers have them all. */
class BurstAccounting extends Accounting {
  readonly got: Int32Array;
  complete = 0;

  constructor(n: number) {
    super(n, n);
    this.got = new Int32Array(n);
  }

  override deliver(receiver: number, sender: number, seq: number, latencyUs: number): void {
    const before = this.delivered;
    super.deliver(receiver, sender, seq, latencyUs);
    if (this.delivered !== before && ++this.got[receiver] === this.receivers - 1) this.complete++;
  }
}

/** VmHWM (peak resident set) of a process, in KiB. */
const peakRssKb = (pid: number | null): number | null => statusKb(pid, "VmHWM");

export async function burstScenario(ctx: Ctx): Promise<ScenarioResult> {
  const o = ctx.opts;
  const N = o.clients ?? 1000;
  const S = o.sizeGiven ? o.size : DEFAULT_SIZE;
  const { host, port, pid, label, wire } = ctx.target;
  const gen = new LoadGen(host, port, [], wire);
  try {
    const missingJoins = await growTo(gen, N, ctx);
    const loadBefore = loadAverage();
    const acc = new BurstAccounting(N);
    const phase = ++gen.phase;
    gen.acc = acc;
    gen.countJoins = false;
    gen.msgSize = S;
    const rssBefore = serverRssKb(pid);
    let rssPeak = rssBefore ?? 0;
    // VmHWM is the true peak; polling VmRSS as well shows it was this burst's
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, serverRssKb(pid) ?? 0)), 10);
    const gone = (): number => gen.clients.reduce((n, c) => n + (c.gone ? 1 : 0), 0);
    /** every client has all N-1 lines or was dropped by the server */
    const settled = (): boolean => {
      if (acc.complete === N) return true;
      let done = 0;
      for (const c of gen.clients) if (c.gone || acc.got[c.idx] === N - 1) done++;
      return done === N;
    };

    ctx.progress.say(`burst: ${N} clients send one ${S}-byte line each, at once`);
    const cpu0 = sampleCpu(pid);
    const t0 = performance.now();
    const t0Us = t0 * 1000;
    for (let i = 0; i < N; i++) {
      const line = wire.frame(formatMessage(phase, i, 0, t0Us, S));
      acc.recordSent(i, t0Us);
      gen.send(i, line);
    }
    let lastDelivery = t0;
    const prevTick = gen.onTick;
    let seen = 0;
    gen.onTick = () => {
      prevTick?.();
      if (acc.delivered !== seen) {
        seen = acc.delivered;
        lastDelivery = performance.now();
      }
    };
    const ticker = setInterval(
      () =>
        ctx.progress.set(
          `burst: ${fmt(acc.delivered)}/${fmt(N * (N - 1))} delivered, ${acc.complete} clients complete, ${gen.lost} dropped`,
        ),
      250,
    );
    const finished = await waitFor(gen, settled, () => acc.delivered + gen.lost, IDLE_MS);
    const endMs = (finished ? performance.now() : lastDelivery) - t0;
    clearInterval(ticker);
    clearInterval(sampler);
    const cpu = cpuBetween(cpu0, sampleCpu(pid));
    rssPeak = Math.max(rssPeak, serverRssKb(pid) ?? 0);
    gen.onTick = null;
    gen.acc = null;

    const dropped = gone();
    // lines a client still connected at the end never got
    let lostAtSurvivors = 0;
    for (const c of gen.clients) if (!c.gone) lostAtSurvivors += N - 1 - acc.got[c.idx];
    const totals = acc.totals();
    const notes: string[] = [];
    if (missingJoins) notes.push(`${missingJoins} ${wire.noticeName} missing at setup`);
    if (!finished) notes.push(`gave up after ${IDLE_MS / 1000} s without a delivery`);
    if (dropped) notes.push(`${dropped} clients disconnected by server`);
    if (totals.foreign) notes.push(`${totals.foreign} foreign messages`);
    return {
      scenario: "burst",
      target: label,
      status: "ok",
      note: notes.join("; ") || undefined,
      clients: N,
      senders: N,
      durationS: endMs / 1000,
      accounting: totals,
      deliveriesPerSec: acc.delivered / (endMs / 1000),
      latencyUs: acc.latency.summary(),
      genCpu: cpu.gen,
      serverCpu: cpu.server,
      metrics: {
        size: S,
        // only when every client has every line: the time until all were dropped is durationS
        completeMs: acc.complete === N ? Math.round(endMs) : null,
        evicted: dropped,
        completeClients: acc.complete,
        lostAtSurvivors,
        rssBeforeMb: rssBefore === null ? null : Math.round(rssBefore / 1024),
        rssPeakMb: pid === null ? null : Math.round(rssPeak / 1024),
        vmHwmMb: pid === null ? null : Math.round((peakRssKb(pid) ?? 0) / 1024),
        loadBefore,
        loadAfter: loadAverage(),
      },
    };
  } finally {
    gen.close();
  }
}
