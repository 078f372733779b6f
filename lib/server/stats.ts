/**
 * What the server counts, and the periodic summary built from it.
 *
 * Counting stays out of the hot paths' inner loops: the dispatcher adds
 * once per line, per receive or per departure (a broadcast adds the number
 * of receivers in one addition, never once per receiver), and the reactor
 * keeps its own tick figures. A `StatsSampler` turns the running totals
 * into per-second rates once per period; `--stats` prints its summary line
 * and `--metrics` serves the same figures.
 */
import { type DurationHistogram, HISTOGRAM_BUCKETS, percentileOf } from "../reactor/histogram.ts";
import type { ReactorStats } from "../reactor/reactor.ts";
import type { ResumeCounters } from "./history.ts";

/** Running totals kept by the chat server's dispatcher. */
export class ServerCounters {
  /** Connections accepted. */
  connects = 0;
  /** Clients that left with `q` or `/quit`. */
  quits = 0;
  /** Clients gone for any reason (quits included). */
  departures = 0;
  /** Complete lines received from clients (commands included). */
  linesIn = 0;
  /** Lines queued for clients: each broadcast counts once per receiver. */
  linesOut = 0;
  /** Bytes received from clients. */
  bytesIn = 0;
  /** Entries of a cluster's shared log gone before this server could read them. */
  clusterMissed = 0;
}

/** The figures at one moment: running totals plus rates over the last period. */
export interface StatsSnapshot {
  /** Wall-clock time of the snapshot (ms since the epoch). */
  readonly time: number;
  /** Seconds the server has been running. */
  readonly uptimeSeconds: number;
  readonly clients: number;
  /** Of those, web clients (WebSockets through the gateway). */
  readonly webClients: number;
  readonly connects: number;
  readonly quits: number;
  /** Clients that went without quitting: lost connections and evictions. */
  readonly evictions: number;
  readonly linesIn: number;
  readonly linesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly ticks: number;
  /** Per-second rates over the last period. */
  readonly linesInPerSecond: number;
  readonly linesOutPerSecond: number;
  readonly bytesInPerSecond: number;
  readonly bytesOutPerSecond: number;
  readonly ticksPerSecond: number;
  /** 99th percentile of busy tick time in the last period, ms (an upper bound: see histogram.ts). */
  readonly tickP99Ms: number;
  /** Largest ready set in the last period. */
  readonly peakReady: number;
  /** Tick-time histogram since start: counts per bucket, and their sum in ms. */
  readonly tickCounts: readonly number[];
  readonly tickSumMs: number;
  /** Descriptors held by accepted sockets (clients, TLS handshakes, metrics requests), and the budget's size (Infinity: no known limit). */
  readonly descriptorsUsed: number;
  readonly descriptorLimit: number;
  /** Pending TLS handshakes given up to make room, and sockets refused for want of a descriptor. */
  readonly handshakesShed: number;
  readonly socketsRefused: number;
  /** The room's log: entries kept, resumes complete and with a gap, entries those gaps missed, failed store writes. */
  readonly historyEntries: number;
  readonly resumesComplete: number;
  readonly resumesWithGap: number;
  readonly resumeEntriesMissed: number;
  readonly historyWriteFailures: number;
  /** Entries of a cluster's log this server never read (trimmed first). */
  readonly clusterEntriesMissed: number;
  /** The cluster's link: up, down (chat is local meanwhile), or none (a lone server). */
  readonly clusterLink: "up" | "down" | "none";
  /** Rooms on this server now. */
  readonly rooms: number;
  /** The busiest rooms (most members, here and elsewhere in the cluster), with the lines said in each since it came to be. */
  readonly busiestRooms: readonly RoomFigures[];
}

/** One room's figures. */
export interface RoomFigures {
  /** As users see it: `#chat`. */
  readonly room: string;
  readonly members: number;
  readonly lines: number;
}

/** The rooms as a sampler reads them. */
export interface RoomCounts {
  readonly count: number;
  /** The `n` busiest rooms. */
  busiest(n: number): RoomFigures[];
}

/** Rooms a snapshot lists (the busiest): the metrics' labels stay few however many rooms there are. */
export const BUSIEST_ROOMS = 10;

/** The room's log as a sampler reads it (lib/server/history.ts). */
export interface HistoryCounts {
  readonly size: number;
  readonly resumes: ResumeCounters;
}

/** The descriptor budget's counters a sampler reads (lib/reactor/descriptors.ts). */
export interface DescriptorCounts {
  readonly used: number;
  readonly limit: number;
  readonly sheds: number;
  readonly refusals: number;
}

/** What a sampler reads. */
export interface StatsSource {
  readonly counters: ServerCounters;
  readonly reactor: { readonly stats: ReactorStats };
  /** Clients connected now. */
  readonly clients: number;
  /** Of those, web clients (none without --web). */
  readonly webClients?: number;
  /** The process's descriptor budget, when there is one. */
  readonly descriptors?: DescriptorCounts;
  /** The room's log, and its store's failed writes. */
  readonly history?: HistoryCounts;
  readonly historyWriteFailures?: number;
  /** The cluster's link, in a cluster. */
  readonly clusterLink?: { readonly up: boolean } | null;
  readonly rooms?: RoomCounts;
}

/**
 * Takes a snapshot per period. It is the one reader that resets the
 * reactor's `peakReady`, so there must be one sampler per server.
 */
export class StatsSampler {
  private last: StatsSnapshot;
  private lastHistogram: Float64Array;
  private readonly startedAt: number;

  /** @param clock monotonic milliseconds (the reactor's `now`) */
  constructor(
    private readonly source: StatsSource,
    private readonly clock: () => number,
    private readonly wallClock: () => number = Date.now,
  ) {
    this.startedAt = clock();
    this.lastHistogram = new Float64Array(HISTOGRAM_BUCKETS);
    this.last = this.take(0);
  }

  /** The latest snapshot (taken by `sample()`). */
  get latest(): StatsSnapshot {
    return this.last;
  }

  /**
   * The running totals as of now, with the rates, p99 and peak of the
   * latest period (for an endpoint read between samples).
   */
  current(): StatsSnapshot {
    return { ...this.last, ...this.totals() };
  }

  /** Take a snapshot: rates are over the time since the previous one. */
  sample(): StatsSnapshot {
    this.last = this.take((this.clock() - this.startedAt) / 1000 - this.last.uptimeSeconds);
    return this.last;
  }

  private totals() {
    const { counters, reactor, clients } = this.source;
    const r = reactor.stats;
    return {
      time: this.wallClock(),
      uptimeSeconds: (this.clock() - this.startedAt) / 1000,
      clients,
      webClients: this.source.webClients ?? 0,
      connects: counters.connects,
      quits: counters.quits,
      evictions: counters.departures - counters.quits,
      linesIn: counters.linesIn,
      linesOut: counters.linesOut,
      bytesIn: counters.bytesIn,
      bytesOut: r.bytesSent,
      ticks: r.ticks,
      tickCounts: Array.from(r.tickTime.counts),
      tickSumMs: r.tickTime.sumMs,
      descriptorsUsed: this.source.descriptors?.used ?? 0,
      descriptorLimit: this.source.descriptors?.limit ?? Infinity,
      handshakesShed: this.source.descriptors?.sheds ?? 0,
      socketsRefused: this.source.descriptors?.refusals ?? 0,
      historyEntries: this.source.history?.size ?? 0,
      resumesComplete: this.source.history?.resumes.complete ?? 0,
      resumesWithGap: this.source.history?.resumes.gaps ?? 0,
      resumeEntriesMissed: this.source.history?.resumes.missed ?? 0,
      historyWriteFailures: this.source.historyWriteFailures ?? 0,
      clusterEntriesMissed: counters.clusterMissed,
      clusterLink: linkState(this.source.clusterLink),
      rooms: this.source.rooms?.count ?? 1,
      busiestRooms: this.source.rooms?.busiest(BUSIEST_ROOMS) ?? [],
    };
  }

  private take(periodSeconds: number): StatsSnapshot {
    const now = this.totals();
    const prev = this.last as StatsSnapshot | undefined; // undefined while the constructor takes the first
    const rate = (value: number, before: number | undefined) =>
      periodSeconds > 0 && before !== undefined ? (value - before) / periodSeconds : 0;
    const tickTime = this.source.reactor.stats.tickTime;
    const window = windowCounts(tickTime, this.lastHistogram);
    this.lastHistogram = Float64Array.from(tickTime.counts);
    const peakReady = this.source.reactor.stats.peakReady;
    this.source.reactor.stats.peakReady = 0;
    return {
      ...now,
      linesInPerSecond: rate(now.linesIn, prev?.linesIn),
      linesOutPerSecond: rate(now.linesOut, prev?.linesOut),
      bytesInPerSecond: rate(now.bytesIn, prev?.bytesIn),
      bytesOutPerSecond: rate(now.bytesOut, prev?.bytesOut),
      ticksPerSecond: rate(now.ticks, prev?.ticks),
      tickP99Ms: percentileOf(window, 0.99),
      peakReady,
    };
  }
}

function windowCounts(h: DurationHistogram, before: Float64Array): Float64Array {
  const out = new Float64Array(HISTOGRAM_BUCKETS);
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) out[i] = h.counts[i]! - before[i]!;
  return out;
}

/** A count or rate, short: 950, 12.3k, 4.56M. */
export function compact(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toPrecision(3)}G`;
  if (abs >= 1e6) return `${(n / 1e6).toPrecision(3)}M`;
  if (abs >= 1e4) return `${(n / 1e3).toPrecision(3)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** Milliseconds, short: 0.064ms, 2.05ms, 131ms. */
function ms(n: number): string {
  if (n === 0) return "0ms";
  return n >= 100 ? `${Math.round(n)}ms` : `${n.toPrecision(3)}ms`;
}

/** The `--stats` line: one line per period, rates per second. */
export function formatStatsLine(s: StatsSnapshot): string {
  return (
    `stats: clients ${s.clients}${s.webClients > 0 ? ` (${s.webClients} web)` : ""}, lines in ${compact(s.linesInPerSecond)}/s out ${compact(s.linesOutPerSecond)}/s, ` +
    `bytes in ${compact(s.bytesInPerSecond)}/s out ${compact(s.bytesOutPerSecond)}/s, ` +
    `evictions ${s.evictions}, ticks ${compact(s.ticksPerSecond)}/s, tick p99 ${ms(s.tickP99Ms)}, ` +
    `largest ready set ${s.peakReady}`
  );
}

/** The cluster link's state as a snapshot names it. */
function linkState(link: { readonly up: boolean } | null | undefined): StatsSnapshot["clusterLink"] {
  if (!link) return "none";
  return link.up ? "up" : "down";
}
