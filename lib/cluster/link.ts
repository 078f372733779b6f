/**
 * One connection to Redis, kept alive on the reactor.
 *
 * The link is just another handle in the server's select loop: its socket
 * is a registered key (readable -> parse replies), its writes are queued
 * and flushed with everything else at the end of the tick, and connecting,
 * reconnecting (with exponential backoff and jitter) and the heartbeat are
 * reactor timers. Nothing here ever waits: while Redis is away the link is
 * simply "not up", and the loop goes on serving local clients.
 *
 *   connecting --connected--> handshake --all replies OK--> up
 *        ^                        |                          |
 *        +------- waiting <-------+---- error / EOF / no PONG +
 */
import { type Connection, describeError } from "../reactor/backend.ts";
import { Interest } from "../reactor/events.ts";
import type { Reactor, SelectorKey } from "../reactor/reactor.ts";
import type { Timer } from "../reactor/timers.ts";
import type { Service } from "../reactor/service.ts";
import { asText, encodeCommand, RespError, RespParser, RespProtocolError, type RespValue } from "./resp.ts";
import type { RedisTarget } from "./url.ts";

/** Where a Redis link is in its life: connecting, handshaking, up, waiting to retry, or closed. */
export type LinkState = "connecting" | "handshake" | "up" | "waiting" | "closed";

/** A Redis command as its arguments (strings or raw bytes). */
export type Command = readonly (string | Uint8Array)[];

/** What a link tells its owner. */
export interface LinkEvents {
  /** The handshake succeeded: commands may be sent. */
  up(): void;
  /**
   * The connection failed or was lost (`wasUp`: it had been up); the next
   * attempt starts in `retryMs`.
   */
  down(reason: string, retryMs: number, wasUp: boolean): void;
}

/** Where a link connects, what it sends first, and its timing. */
export interface LinkOptions {
  target: RedisTarget;
  /** Sent first on every new connection (AUTH, SELECT, SCRIPT LOAD...); each must succeed. */
  handshake: readonly Command[];
  /** First retry delay; doubles per failed attempt up to `maxRetryMs`. */
  retryMs: number;
  maxRetryMs: number;
  /** A connection attempt that takes longer than this fails. */
  connectTimeoutMs: number;
  /** PING this often while up; no reply within `deadMs` counts as a lost link. */
  heartbeatMs: number;
  deadMs: number;
}

/** Reconnect back-off, connect deadline and liveness timing used unless told otherwise. */
export const defaultLinkTiming = {
  retryMs: 100,
  maxRetryMs: 2000,
  connectTimeoutMs: 5000,
  heartbeatMs: 1000,
  deadMs: 5000,
};

type ReplyHandler = (reply: RespValue) => void;

/** The retry delay after `failures` failed attempts in a row, with ±20 % jitter. */
export function backoffMs(failures: number, firstMs: number, maxMs: number, random = Math.random): number {
  const base = Math.min(maxMs, firstMs * 2 ** Math.min(failures, 30));
  // Jitter keeps servers that lost Redis together from retrying in lockstep.
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * A Redis connection on the reactor that reconnects by itself. Its key
 * carries a `Service`: the reactor's owner (whose attachments are `T` or
 * `Service`) hands that key's events back to the link.
 */
export class RedisLink<T> {
  state: LinkState = "waiting";
  private conn: Connection | null = null;
  private key: SelectorKey<T | Service, Connection> | null = null;
  private parser = new RespParser();
  /** Who gets the next replies, in the order the commands were sent. */
  private replies: ReplyHandler[] = [];
  private replyHead = 0;
  private failures = 0;
  private timer: Timer | null = null;
  private pingSentAt: number | null = null;
  private readonly service: Service;

  constructor(
    private readonly reactor: Reactor<T | Service>,
    private readonly options: LinkOptions,
    private readonly events: LinkEvents,
  ) {
    this.service = {
      kind: "service",
      onReadable: () => this.receive(),
      onErrored: () => this.fail(describeError(this.conn?.error ?? "connection failed")),
    };
  }

  get up(): boolean {
    return this.state === "up";
  }

  /** Bytes written to this link that the socket has not taken yet. */
  get pendingBytes(): number {
    return this.key?.pendingBytes ?? 0;
  }

  /** Start connecting (call once). */
  start(): void {
    void this.connect();
  }

  /**
   * Queue a command (already RESP-encoded) while up; `onReply` gets its
   * reply. Returns false, sending nothing, when the link is not up. `now`:
   * send it at once instead of with the tick's flush.
   */
  send(command: Uint8Array, onReply: ReplyHandler, now = false): boolean {
    if (this.state !== "up" || !this.key) return false;
    this.reactor.write(this.key, command);
    this.replies.push(onReply);
    // Most commands wait for the tick's one flush; a blocking read that should already be waiting in Redis goes now.
    if (now) this.reactor.flushKey(this.key);
    return true;
  }

  /**
   * Drop the connection (what it was doing cannot be trusted: a reply that
   * makes no sense, a script Redis forgot) and connect again after the
   * usual backoff, or after `retryMs` when given (a refusal that may
   * last, such as OOM, is retried slowly). `down` is told `reason`. No-op
   * unless connected.
   */
  reconnect(reason: string, retryMs?: number): void {
    if (this.state === "up" || this.state === "handshake") this.fail(reason, retryMs);
  }

  /** Stop for good: what is queued is still sent, then the connection is closed. */
  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.timer?.cancel();
    this.timer = null;
    if (this.key) this.reactor.closeKey(this.key);
    this.key = null;
    this.conn = null;
  }

  private async connect(): Promise<void> {
    this.state = "connecting";
    const { host, port } = this.options.target;
    let timedOut = false;
    // One deadline for connecting and the handshake. A promise cannot be
    // cancelled: on timeout the attempt is abandoned and a connection that
    // still turns up is dropped.
    this.timer = this.reactor.setTimer(this.options.connectTimeoutMs, () => {
      timedOut = true;
      const what = this.state === "connecting" ? "no connection" : "no answer to the handshake";
      this.fail(`${what} within ${this.options.connectTimeoutMs} ms`);
    });
    let conn: Connection;
    try {
      conn = await this.reactor.backend.connect({ host, port });
    } catch (err) {
      if (!timedOut && this.state === "connecting") this.fail(describeError(err));
      return;
    }
    if (timedOut || this.state !== "connecting") {
      conn.abort();
      return;
    }
    this.conn = conn;
    this.key = this.reactor.register(conn, Interest.READ, this.service);
    this.state = "handshake";
    const steps = this.options.handshake;
    if (steps.length === 0) this.becameUp();
    steps.forEach((cmd, i) => {
      this.reactor.write(this.key!, encodeCommand(cmd));
      this.replies.push((reply) => {
        if (reply instanceof RespError) this.fail(`redis refused ${asText(cmd[0]!)}: ${reply.message}`);
        else if (i === steps.length - 1) this.becameUp();
      });
    });
  }

  private becameUp(): void {
    this.timer?.cancel();
    this.state = "up";
    this.failures = 0;
    this.pingSentAt = null;
    this.armHeartbeat();
    this.events.up();
  }

  private armHeartbeat(): void {
    this.timer = this.reactor.setTimer(this.options.heartbeatMs, () => {
      if (this.state !== "up") return;
      const now = this.reactor.now();
      if (this.pingSentAt !== null) {
        if (now - this.pingSentAt > this.options.deadMs) {
          this.fail(`redis did not answer PING for ${this.options.deadMs} ms`);
          return;
        }
      } else {
        this.pingSentAt = now;
        this.send(PING, () => (this.pingSentAt = null));
      }
      this.armHeartbeat();
    });
  }

  /** The socket is readable: parse what came and hand out each reply. */
  private receive(): void {
    const conn = this.conn;
    if (!conn) return;
    const data = conn.recv();
    if (data === null) return;
    if (data.length === 0) {
      this.fail("redis closed the connection");
      return;
    }
    try {
      this.parser.push(data, (value) => {
        // A reply may fail the link; the rest of this chunk is then stale.
        if (this.conn === conn) this.route(value);
      });
    } catch (err) {
      if (!(err instanceof RespProtocolError)) throw err;
      this.fail(`bad reply from redis: ${err.message}`);
    }
  }

  /** A reply goes to the oldest command's handler (Redis answers in order). */
  private route(value: RespValue): void {
    if (this.replyHead >= this.replies.length) {
      this.fail("unexpected reply from redis");
      return;
    }
    const handler = this.replies[this.replyHead]!;
    this.replies[this.replyHead++] = noReply;
    if (this.replyHead > 1024 && this.replyHead * 2 > this.replies.length) {
      this.replies = this.replies.slice(this.replyHead);
      this.replyHead = 0;
    }
    handler(value);
  }

  /** Drop the connection and schedule the next attempt. */
  private fail(reason: string, retryAfterMs?: number): void {
    if (this.state === "closed" || this.state === "waiting") return;
    const wasUp = this.state === "up";
    this.timer?.cancel();
    if (this.key) this.reactor.closeKey(this.key, true);
    this.key = null;
    this.conn = null;
    this.parser = new RespParser();
    this.replies = [];
    this.replyHead = 0;
    this.state = "waiting";
    const retryMs = retryAfterMs ?? backoffMs(this.failures++, this.options.retryMs, this.options.maxRetryMs);
    this.timer = this.reactor.setTimer(retryMs, () => void this.connect());
    this.events.down(reason, retryMs, wasUp);
  }
}

const PING = encodeCommand(["PING"]);
const noReply: ReplyHandler = () => {};
