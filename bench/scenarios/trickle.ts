// Trickle: N clients each send one byte every 1/rate s (50 ms by default)
// for --duration s (default 20) and never a newline, so every connection
// holds a growing unterminated tail (the server's tail timer, --tail-ms
// 100, never fires: the gap is shorter). Then every client closes. The
// server's VmRSS (/proc/PID/status) is sampled every 250 ms throughout:
// before any client, once connected and quiet, the peak while trickling,
// and what is left after the clients closed. No GC is asked for: what an
// attacker costs is judged by the kernel, not by the heap. Needs the
// server's PID. The clients are plain sockets of this scenario's own (they
// only count what they receive), so the generator stays light.

import type { Socket } from "bun";
import { serverRssKb, statusKb } from "../cpu.ts";
import type { ScenarioResult } from "../result.ts";
import { emptyTotals, notRun } from "../result.ts";
import type { Ctx } from "./common.ts";

const DEFAULT_CLIENTS = 2000;
const DEFAULT_DURATION_S = 20;
/** Bytes per second per client: one every 50 ms. */
const DEFAULT_RATE = 20;
const SAMPLE_MS = 250;
/** Connected means: nothing received (join notices, presence lines) for this long. */
const QUIET_MS = 1000;
const SETTLE_MAX_MS = 30_000;
/** Connects in flight at once. */
const CONCURRENCY = 500;
/** How long RSS is watched after the clients closed; the last sample is "after". */
const AFTER_MS = 5000;
/** The byte sent: no newline, no `q`, not a TLS handshake's first byte. */
const BYTE = "x";

const mb = (kb: number): number => +(kb / 1024).toFixed(1);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** N sockets that count what they receive and whether the server closed them. */
class Trickler {
  readonly sockets: Socket<number>[] = [];
  bytesIn = 0;
  lost = 0;
  private closing = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  async connect(n: number): Promise<void> {
    const handlers = {
      data: (_s: Socket<number>, chunk: Uint8Array) => {
        this.bytesIn += chunk.length;
      },
      close: () => {
        if (!this.closing) this.lost++;
      },
      error: () => {},
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++;
        this.sockets[i] = await Bun.connect<number>({ hostname: this.host, port: this.port, data: i, socket: handlers });
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, n) }, worker));
  }

  /** Resolve once nothing has arrived for `QUIET_MS` (or after `SETTLE_MAX_MS`). */
  async settle(): Promise<void> {
    const start = performance.now();
    let seen = -1;
    let since = start;
    while (performance.now() - start < SETTLE_MAX_MS) {
      if (this.bytesIn !== seen) {
        seen = this.bytesIn;
        since = performance.now();
      } else if (performance.now() - since >= QUIET_MS) return;
      await sleep(50);
    }
  }

  close(): void {
    this.closing = true;
    for (const s of this.sockets) s?.end();
    this.sockets.length = 0;
  }
}

export async function trickleScenario(ctx: Ctx): Promise<ScenarioResult> {
  const { pid, label, host, port, wire } = ctx.target;
  if (pid === null)
    return notRun("trickle", label, "skipped", "needs the server process: not possible with --target (harness does not own the server)");
  if (wire.name !== "line") return notRun("trickle", label, "skipped", "trickles raw bytes: line servers only");
  const N = ctx.opts.clients ?? DEFAULT_CLIENTS;
  const durationS = ctx.opts.duration ?? DEFAULT_DURATION_S;
  const periodMs = 1000 / (ctx.opts.rate ?? DEFAULT_RATE);
  const clients = new Trickler(host, port);
  let trickling = false;
  let peak = 0;
  const sample = (): number => {
    const kb = serverRssKb(pid) ?? 0;
    if (trickling && kb > peak) peak = kb;
    return kb;
  };
  const sampler = setInterval(sample, SAMPLE_MS);
  let pacer: ReturnType<typeof setInterval> | null = null;
  let ticker: ReturnType<typeof setInterval> | null = null;
  try {
    const rssIdle = sample();
    ctx.progress.say(`trickle: connecting ${N} clients`);
    await clients.connect(N);
    await clients.settle();
    const rssConnected = sample();
    peak = rssConnected;
    trickling = true;
    const bytesInBefore = clients.bytesIn;
    // Client i's k-th byte is due at start + (k + i/N) * period: spread over
    // the period, as independent attackers would be, not one burst per period.
    const sent = new Int32Array(N);
    const start = performance.now();
    let bytes = 0;
    pacer = setInterval(() => {
      const elapsed = performance.now() - start;
      for (let i = 0; i < N; i++) {
        const due = Math.floor(elapsed / periodMs - i / N) + 1;
        if (due > sent[i]! && clients.sockets[i]!.write(BYTE.repeat(due - sent[i]!)) > 0) {
          bytes += due - sent[i]!;
          sent[i] = due;
        }
      }
    }, 5);
    ticker = setInterval(() => {
      const s = ((performance.now() - start) / 1000).toFixed(1);
      ctx.progress.set(`trickle: ${s}s/${durationS}s, ${N} clients, server RSS ${mb(sample())} MB (peak ${mb(peak)} MB)`);
    }, SAMPLE_MS);
    await sleep(durationS * 1000);
    clearInterval(pacer);
    clearInterval(ticker);
    pacer = ticker = null;
    sample();
    trickling = false;
    const hwm = statusKb(pid, "VmHWM");
    const lost = clients.lost;
    // Nothing is due to the clients while every tail grows: bytes here are
    // tails the server delivered because a pause (of the server or of this
    // generator) outlasted --tail-ms, and their fan-out is in the peak.
    const bytesToClients = clients.bytesIn - bytesInBefore;
    ctx.progress.say(`trickle: closing ${N} clients, watching RSS for ${AFTER_MS / 1000} s`);
    clients.close();
    await sleep(AFTER_MS);
    const rssAfter = sample();
    const notes = [
      lost ? `${lost} clients disconnected by the server` : "",
      bytesToClients
        ? `${bytesToClients} bytes reached the clients while trickling: tails were delivered early (a pause over --tail-ms) and the peak includes their fan-out`
        : "",
    ];
    return {
      scenario: "trickle",
      target: label,
      status: "ok",
      note: notes.filter(Boolean).join("; ") || undefined,
      clients: N,
      senders: N,
      durationS,
      accounting: { ...emptyTotals(), sent: bytes },
      deliveriesPerSec: null,
      latencyUs: null,
      genCpu: null,
      serverCpu: null,
      metrics: {
        periodMs: +periodMs.toFixed(1),
        bytesPerConn: Math.round(bytes / N),
        rssIdleMb: mb(rssIdle),
        rssConnectedMb: mb(rssConnected),
        rssPeakMb: mb(peak),
        vmHwmMb: hwm === null ? null : mb(hwm),
        rssAfterCloseMb: mb(rssAfter),
        peakOverConnectedMb: mb(peak - rssConnected),
        peakOverIdleMb: mb(peak - rssIdle),
        afterOverIdleMb: mb(rssAfter - rssIdle),
        kbPerConnTrickling: +((peak - rssConnected) / N).toFixed(2),
        kbPerConn: +((peak - rssIdle) / N).toFixed(2),
        bytesToClients,
      },
    };
  } finally {
    clearInterval(sampler);
    if (pacer) clearInterval(pacer);
    if (ticker) clearInterval(ticker);
    clients.close();
  }
}
