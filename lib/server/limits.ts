/**
 * The server's limits: what keeps one client (slow, chatty, idle or
 * hostile) from hurting the others or growing the server's memory.
 *
 * This module holds the policy; lib/server/server.ts only calls it at a few
 * points (accept, receive, each line, before sleeping). Nothing here runs
 * per message per receiver: the slow-reader check is one pass over the
 * room per tick, the flood check one subtraction per line, and the idle
 * timer is re-armed only when it fires (a receive just stamps a time).
 */
import type { Timer } from "../reactor/timers.ts";

/** Per-client limits of a server (flags of bin/server.ts; see README "Limits and security"). */
export interface Limits {
  /** Output queued for one client past which it is evicted as too slow (bytes; 0: no limit). */
  maxOutbound: number;
  /** Longest line a client may send, without its newline (bytes). */
  maxLine: number;
  /** Lines per second a client may send on average (0: no limit). */
  rate: number;
  /** Lines a client may send at once above the average rate. */
  burst: number;
  /** Clients served at once; connections past it are told so and closed. */
  maxClients: number;
  /** Evict a client that sent nothing for this long (ms; 0: never). */
  idleTimeoutMs: number;
  /**
   * Input the server takes in one tick, across all clients (bytes); the
   * rest waits in the kernel, where TCP flow control pushes back on the
   * senders. Bounds a tick's batch, so a burst cannot outgrow the readers.
   */
  intakeBytes: number;
  /** Lines the server handles in one tick, across all clients. */
  intakeLines: number;
}

/** Generous for people typing and pasting; tight enough that one client cannot hurt the rest. */
export const defaultLimits: Limits = {
  maxOutbound: 8 * 1024 * 1024,
  maxLine: 64 * 1024,
  rate: 200,
  burst: 1000,
  maxClients: 10_000,
  idleTimeoutMs: 0,
  intakeBytes: 1024 * 1024,
  intakeLines: 8192,
};

/**
 * How long a client that was evicted or quit may take to read what was
 * still queued for it before the connection is reset: a peer that never
 * reads must not keep its socket and queue forever.
 */
export const CLOSE_LINGER_MS = 5000;

/** File descriptors kept free for the runtime itself (event loop, stdio, timers, ...). */
export const RESERVED_FDS = 32;

/** What the server tells a client it is about to drop (one line each). */
export const limitMessages = {
  full: (max: number) => `Server is full (${max} clients), try again later`,
  lineTooLong: (max: number) => `Line too long (limit ${max} bytes), disconnecting`,
  flooding: (rate: number, burst: number) =>
    `Too many lines (limit ${rate} per second, bursts of ${burst}): dropping your lines until you slow down`,
  idle: (seconds: number) => `Idle for ${seconds} s, disconnecting`,
};

/** The reason shown to the others: `Client (HOST, PORT) is offline (REASON)`. */
export const offlineReason = {
  tooSlow: "too slow",
  lineTooLong: "line too long",
  idle: "idle",
};

/**
 * Clamp `maxClients` so that accepting never runs out of file descriptors:
 * Bun's listener spins on EMFILE (the pending connection stays in the
 * backlog and the level-triggered poll reports it again at once), so the
 * only safe place to refuse is before the limit, with a descriptor to spare.
 */
export function clientsWithinFdLimit(maxClients: number, fdLimit: number | null): number {
  if (fdLimit === null || !Number.isFinite(fdLimit)) return maxClients;
  return Math.max(1, Math.min(maxClients, fdLimit - RESERVED_FDS));
}

/**
 * A token bucket on lines: `burst` tokens, refilled at `rate` per second.
 * `refill()` runs once per receive, `take()` once per line.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  refill(now: number): void {
    const t = this.tokens + ((now - this.last) * this.rate) / 1000;
    this.tokens = Math.min(t, this.burst);
    this.last = now;
  }

  take(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** What a line gets from the flood check. */
export enum LineVerdict {
  PASS = 0,
  /** Over the rate: drop it, and tell the client (first drop of a run). */
  DROP_AND_WARN = 1,
  /** Over the rate: drop it silently (already warned). */
  DROP = 2,
}

type TimerHost = { now(): number; setTimer(delayMs: number, fn: () => void): Timer };

/** One client's limit state: its flood bucket and its idle timer. */
export class ClientLimits {
  private readonly bucket: TokenBucket | null;
  /** Lines are being dropped and the client was told. */
  private warned = false;
  private lastActive: number;
  private idleTimer: Timer | null = null;

  constructor(
    private readonly reactor: TimerHost,
    private readonly limits: Limits,
    /** The client has been quiet too long; false: it is not idle after all (input is waiting), start again. */
    private readonly onIdle: () => boolean | void,
  ) {
    const now = reactor.now();
    this.bucket = limits.rate > 0 ? new TokenBucket(limits.rate, limits.burst, now) : null;
    this.lastActive = now;
    if (limits.idleTimeoutMs > 0) this.idleTimer = reactor.setTimer(limits.idleTimeoutMs, this.checkIdle);
  }

  /** Bytes arrived from the client at `now`: it is active, and its bucket refills. */
  noteActivity(now: number): void {
    this.lastActive = now;
    this.bucket?.refill(now);
  }

  /** Whether the client may send one more line now (takes a token if so). */
  admitLine(): LineVerdict {
    if (!this.bucket || this.bucket.take()) {
      this.warned = false;
      return LineVerdict.PASS;
    }
    if (this.warned) return LineVerdict.DROP;
    this.warned = true;
    return LineVerdict.DROP_AND_WARN;
  }

  /** The client is gone: stop its timer. */
  close(): void {
    this.idleTimer?.cancel();
    this.idleTimer = null;
  }

  // Rather than cancel and re-add a timer on every receive, the timer fires
  // at the earliest possible deadline and re-arms itself for the rest.
  private checkIdle = (): void => {
    this.idleTimer = null;
    const now = this.reactor.now();
    const quietFor = now - this.lastActive;
    if (quietFor >= this.limits.idleTimeoutMs) {
      if (this.onIdle() !== false) return;
      this.noteActivity(now);
      this.idleTimer = this.reactor.setTimer(this.limits.idleTimeoutMs, this.checkIdle);
    } else this.idleTimer = this.reactor.setTimer(this.limits.idleTimeoutMs - quietFor, this.checkIdle);
  };
}

const NONE: never[] = [];

/**
 * How long a reader's backlog may stay over --max-outbound before it is
 * evicted. A reader that keeps up is never over for long: intake is
 * bounded per tick, so what one flush could not send is small next to the
 * limit; one that stays over is not reading, or reads slower than the room
 * talks.
 */
export const SLOW_READER_GRACE_MS = 1000;

/**
 * Watches readers' backlogs, one pass over the room per tick (allocating
 * only when it finds a reader over the limit): which readers to evict, and
 * how many are lagging (for the intake to slow down).
 */
export class BacklogWatch<K extends { readonly pendingBytes: number }> {
  /** Readers over the limit at the latest check, and since when. */
  private overSince = new Map<K, number>();
  /** Readers whose backlog was over `lagBytes` at the latest check. */
  lagging = 0;

  /**
   * Keys to evict: over `maxBytes` for `SLOW_READER_GRACE_MS`, or over
   * twice `maxBytes` at once (a memory bound). `maxBytes` 0: no limit.
   */
  check(members: readonly { readonly key: K }[], maxBytes: number, lagBytes: number, now: number): K[] {
    let lagging = 0;
    let slow: K[] | null = null;
    let over: Map<K, number> | null = null;
    for (let i = 0; i < members.length; i++) {
      const key = members[i]!.key;
      const backlog = key.pendingBytes;
      if (backlog > lagBytes) lagging++;
      if (maxBytes <= 0 || backlog <= maxBytes) continue;
      const since = this.overSince.get(key) ?? now;
      (over ??= new Map()).set(key, since);
      if (backlog > 2 * maxBytes || now - since >= SLOW_READER_GRACE_MS) (slow ??= []).push(key);
    }
    if (over !== null || this.overSince.size > 0) this.overSince = over ?? new Map();
    this.lagging = lagging;
    return slow ?? NONE;
  }
}
