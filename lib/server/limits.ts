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

/**
 * File descriptors the runtime keeps for itself (event loop, stdio,
 * listeners, the cluster link, ...): never lent to accepted sockets. An
 * idle server holds about 10.
 */
export const RUNTIME_FDS = 24;

/**
 * File descriptors kept free of clients: the runtime's, plus a few that
 * the room never fills, so that while it is full a TLS client can still
 * finish its handshake and be told so, and the metrics endpoint answers.
 */
export const RESERVED_FDS = 32;

/** What the server tells a client it is about to drop (one line each). */
export const limitMessages = {
  full: (max: number) => `Server is full (${max} clients), try again later`,
  lineTooLong: (max: number) => `Line too long (limit ${max} bytes), disconnecting`,
  flooding: (rate: number, burst: number) =>
    `Too many lines (limit ${rate} per second, bursts of ${burst}): dropping your lines until you slow down`,
  idle: (seconds: number) => `Idle for ${seconds} s, disconnecting`,
};

/** The reason shown to the others: `Client (HOST, PORT) is offline (REASON)` (or `NICK is offline (REASON)`). */
export const offlineReason = {
  tooSlow: "too slow",
  lineTooLong: "line too long",
  idle: "idle",
  /** It opened with a TLS handshake on a plain-TCP port (see `looksLikeTls` in lib/chat/protocol.ts). */
  tls: "spoke TLS to a plain-TCP server",
};

/**
 * The descriptor budget for accepted sockets (lib/reactor/descriptors.ts)
 * under an open-file limit: everything but the runtime's own. Bun's
 * listener spins on EMFILE (the pending connection stays in the backlog
 * and the level-triggered poll reports it again at once), so sockets are
 * refused before the limit, never at it. Infinity when no limit is known.
 */
export function socketsWithinFdLimit(fdLimit: number | null): number {
  if (fdLimit === null || !Number.isFinite(fdLimit)) return Infinity;
  return Math.max(1, fdLimit - RUNTIME_FDS);
}

/**
 * Clamp `maxClients` below the descriptor budget (`socketsWithinFdLimit`),
 * leaving room for handshakes, refusals and metrics requests.
 */
export function clientsWithinFdLimit(maxClients: number, fdLimit: number | null): number {
  if (fdLimit === null || !Number.isFinite(fdLimit)) return maxClients;
  return Math.max(1, Math.min(maxClients, fdLimit - RESERVED_FDS));
}

/**
 * A token bucket on lines: `burst` tokens, refilled at `rate` per second.
 * `refill()` runs once per receive, `take()` once per line (several tokens
 * for a command that makes the server work in proportion to the room).
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

  /** Take `cost` tokens if there are that many; a cost over `burst` takes the whole burst, so it can still pass. */
  take(cost = 1): boolean {
    const need = Math.min(cost, this.burst);
    if (this.tokens < need) return false;
    this.tokens -= need;
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

  /**
   * Whether the client may send one more line now (takes its tokens if so).
   * `cost` is 1 for a message; more for a command whose work grows with the
   * room (see `commandCost` in commands.ts).
   */
  admitLine(cost = 1): LineVerdict {
    if (!this.bucket || this.bucket.take(cost)) {
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
 * evicted. While a reader is far behind, the server takes only a trickle of
 * input (see `ChatServer.dispatch`), so a reader that reads at least that
 * fast never gets here; one that does not read fills up to the limit and
 * stays over it.
 */
export const SLOW_READER_GRACE_MS = 1000;

/**
 * Looks at a reader over the limit this far apart count towards the grace
 * period: the server must have watched it stay over, not merely been
 * stopped or starved itself (the first look after such a pause would find
 * every lagging reader "over for that long").
 */
const LOOK_APART_MS = 250;
/** Spaced looks over the limit, on top of `SLOW_READER_GRACE_MS`, before an eviction. */
const LOOKS_OVER = 2;

/** A reader over the limit, and since when. */
interface Over {
  since: number;
  looks: number;
  lookedAt: number;
}

/**
 * Watches readers' backlogs, one pass over the room per tick (allocating
 * only for readers over the limit): which readers to evict, and how many
 * are far behind (the server takes only a trickle of input while any is).
 */
export class BacklogWatch<K extends { readonly pendingBytes: number }> {
  private over = new Map<K, Over>();
  /** Readers whose backlog was over half the limit at the latest check (none without a limit). */
  lagging = 0;

  /**
   * Keys to evict: over `maxBytes` for `SLOW_READER_GRACE_MS` (seen so at
   * `LOOKS_OVER` looks at least `LOOK_APART_MS` apart), or over twice it at
   * once (a memory bound). `maxBytes` 0: no limit.
   */
  check(members: readonly { readonly key: K }[], maxBytes: number, now: number): K[] {
    let lagging = 0;
    let slow: K[] | null = null;
    let over: Map<K, Over> | null = null;
    if (maxBytes > 0) {
      const lagLine = maxBytes / 2;
      for (let i = 0; i < members.length; i++) {
        const key = members[i]!.key;
        const backlog = key.pendingBytes;
        if (backlog <= lagLine) continue;
        lagging++;
        if (backlog <= maxBytes) continue;
        let state = this.over.get(key);
        if (state === undefined) state = { since: now, looks: 0, lookedAt: now };
        else if (now - state.lookedAt >= LOOK_APART_MS) {
          state.looks++;
          state.lookedAt = now;
        }
        (over ??= new Map()).set(key, state);
        const stayed = now - state.since >= SLOW_READER_GRACE_MS && state.looks >= LOOKS_OVER;
        if (backlog > 2 * maxBytes || stayed) (slow ??= []).push(key);
      }
    }
    if (over !== null || this.over.size > 0) this.over = over ?? new Map();
    this.lagging = lagging;
    return slow ?? NONE;
  }
}
