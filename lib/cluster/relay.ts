/**
 * Several chat servers as one room, through Redis pub/sub.
 *
 * Every server publishes what its own clients say (lines and join/quit/
 * offline notices, worded exactly as the room words them) on the room's
 * channel, and broadcasts what the other servers publish to its local
 * clients as if it were a notice (`room.broadcast(null, ...)`): remote
 * lines go through the same coalesced per-tick path as local ones.
 *
 * Two connections, because a subscribed RESP2 connection cannot publish:
 * the publisher sends one PUBLISH per tick carrying all the tick's lines
 * (one connection, so Redis keeps one server's messages in the order they
 * were sent), the subscriber receives. The server ends the relay's tick
 * (`endTick()`) from its before-sleep hook. A message is
 *
 *   <node id>\n<line>\n<line>\n...
 *
 * and a server drops messages carrying its own node id: Redis sends a
 * publisher's messages back to it when it also subscribes.
 *
 * While the link is down, ticks' messages wait in a bounded queue and go
 * out in order once both connections are back; past the bound they are not
 * relayed, and the log says how many. Delivery is at most once: Redis
 * pub/sub keeps nothing for a subscriber that is away.
 */
import { randomBytes } from "node:crypto";
import type { Reactor } from "../reactor/reactor.ts";
import type { Service } from "../reactor/service.ts";
import type { Timer } from "../reactor/timers.ts";
import { ByteBuilder, concat, startsWith } from "../bytes.ts";
import type { Relay } from "../server/relay.ts";
import { encodeCommand, RespError, type RespValue } from "./resp.ts";
import { defaultLinkTiming, RedisLink, type Command } from "./link.ts";
import { describeTarget, roomChannel, type RedisTarget } from "./url.ts";

const LF = 10;
const NEWLINE = new Uint8Array([LF]);
const encoder = new TextEncoder();

/** How a server joins a cluster: which Redis, which room, how much to queue. */
export interface ClusterOptions {
  target: RedisTarget;
  /** Room name: servers with the same Redis, database and room are one chat room. */
  room: string;
  /** Bytes of messages kept while the link is down; beyond that they are not relayed. */
  queueBytes: number;
  log: (line: string) => void;
  /** Reconnect and heartbeat timing (defaults: lib/cluster/link.ts). */
  timing?: Partial<typeof defaultLinkTiming>;
  /** Fixed node id (tests); random 16 hex digits by default. */
  nodeId?: string;
}

/** A tick's lines are published as one message; a larger burst is split at this size. */
const MAX_MESSAGE_BYTES = 256 * 1024;

/** What a cluster relay has done, for logs and tests. */
export interface ClusterStats {
  /** PUBLISH commands sent (one per tick with local traffic, at most). */
  published: number;
  /** Lines and notices published. */
  linesOut: number;
  /** Messages from other servers delivered to local clients. */
  received: number;
  /** Lines and notices not relayed because the link was down and the queue full. */
  notRelayed: number;
}

/** A finished PUBLISH command and how many lines it carries. */
interface Outgoing {
  command: Uint8Array;
  lines: number;
}

/**
 * Shares a server's room with the other servers of a cluster through Redis
 * pub/sub. Its Redis links are `Service`s on the server's reactor, whose
 * other attachments (`T`) it never looks at.
 */
export class ClusterRelay<T> implements Relay {
  readonly nodeId: string;
  readonly channel: string;
  readonly stats: ClusterStats = { published: 0, linesOut: 0, received: 0, notRelayed: 0 };
  /** `<node id>\n`: the first line of every message. */
  private readonly header: Uint8Array;
  private readonly publisher: RedisLink<T>;
  private readonly subscriber: RedisLink<T>;
  /** The open message: empty, or the header and this tick's lines. */
  private readonly message = new ByteBuilder();
  private messageLines = 0;
  private readonly queue: Outgoing[] = [];
  private queuedBytes = 0;
  private linkUp = false;
  private everUp = false;
  /** When the current outage began (null while up), and what it cost. */
  private downSince: number | null = null;
  private reportedOutage = false;
  /** Lines not relayed since the link (or Redis's backlog) last recovered. */
  private notRelayed = 0;
  private dropReport: Timer | null = null;
  private closed = false;
  private inject: ((bytes: Uint8Array) => void) | null = null;

  constructor(
    private readonly reactor: Reactor<T | Service>,
    private readonly options: ClusterOptions,
  ) {
    this.nodeId = options.nodeId ?? randomBytes(8).toString("hex");
    this.channel = roomChannel(options.target.db, options.room);
    this.header = encoder.encode(`${this.nodeId}\n`);
    const timing = { ...defaultLinkTiming, ...options.timing };
    const login = handshakeFor(options.target);
    this.publisher = new RedisLink(
      reactor,
      { target: options.target, handshake: login, ...timing },
      {
        up: () => this.linkChanged("publish"),
        down: (reason, retryMs, wasUp) => this.linkChanged("publish", reason, retryMs, wasUp),
      },
    );
    this.subscriber = new RedisLink(
      reactor,
      { target: options.target, handshake: [...login, ["SUBSCRIBE", this.channel]], ...timing },
      {
        up: () => this.linkChanged("subscribe"),
        down: (reason, retryMs, wasUp) => this.linkChanged("subscribe", reason, retryMs, wasUp),
        message: (channel, payload) => this.onMessage(channel, payload),
      },
    );
  }

  /** Connect to Redis; what other servers publish is handed to `inject`. */
  start(inject: (bytes: Uint8Array) => void): void {
    this.inject = inject;
    this.options.log(
      `Cluster: node ${this.nodeId}, room "${this.options.room}" on ${describeTarget(this.options.target)} (channel ${this.channel})`,
    );
    this.downSince = this.reactor.now();
    this.publisher.start();
    this.subscriber.start();
  }

  /** Whether both connections to Redis are up. */
  get up(): boolean {
    return this.linkUp;
  }

  line(prefix: Uint8Array, line: Uint8Array): void {
    if (this.closed) return;
    this.addLine(prefix, line);
  }

  notice(text: string): void {
    if (this.closed) return;
    this.addLine(encoder.encode(text), null);
  }

  /** The tick is over: its lines become one PUBLISH. */
  endTick(): void {
    if (this.messageLines > 0 && !this.closed) this.finishMessage();
  }

  close(): void {
    if (this.closed) return;
    this.endTick();
    this.closed = true;
    this.publisher.close();
    this.subscriber.close();
    const st = this.stats;
    this.options.log(
      `Cluster: published ${st.linesOut} lines in ${st.published} messages, received ${st.received} messages, ${st.notRelayed} lines not relayed`,
    );
  }

  /** Add `head` then `rest` as one line of the open message. */
  private addLine(head: Uint8Array, rest: Uint8Array | null): void {
    if (this.message.length === 0) this.message.append(this.header);
    this.message.append(head);
    if (rest) this.message.append(rest);
    this.message.appendByte(LF);
    this.messageLines++;
    if (this.message.length >= MAX_MESSAGE_BYTES) this.finishMessage();
  }

  private finishMessage(): void {
    const payload = this.message.take();
    const out = { command: encodeCommand(["PUBLISH", this.channel, payload]), lines: this.messageLines };
    this.messageLines = 0;
    if (!this.linkUp) this.enqueue(out);
    else if (this.publisher.pendingBytes < this.options.queueBytes) this.publish(out);
    else this.drop(out, "redis is not taking our messages fast enough");
  }

  private publish(out: Outgoing): void {
    this.publisher.send(out.command, this.onPublishReply);
    this.stats.published++;
    this.stats.linesOut += out.lines;
  }

  private readonly onPublishReply = (reply: RespValue): void => {
    if (reply instanceof RespError) this.options.log(`Cluster: redis refused PUBLISH: ${reply.message}`);
  };

  private enqueue(out: Outgoing): void {
    if (this.queuedBytes + out.command.length > this.options.queueBytes) {
      this.drop(out, `link down and ${this.options.queueBytes} bytes queued`);
      return;
    }
    this.queue.push(out);
    this.queuedBytes += out.command.length;
  }

  /** Give up on a message; the log says so once per episode, with a count when it ends. */
  private drop(out: Outgoing, why: string): void {
    if (this.notRelayed === 0) this.options.log(`Cluster: ${why}: lines are not relayed to other servers for now`);
    this.notRelayed += out.lines;
    this.stats.notRelayed += out.lines;
    if (this.linkUp) this.reportDropsLater();
  }

  /** While up, drops come from a slow Redis: report their count when the backlog has cleared. */
  private reportDropsLater(): void {
    if (this.dropReport) return;
    this.dropReport = this.reactor.setTimer(1000, () => {
      this.dropReport = null;
      if (!this.linkUp || this.notRelayed === 0) return;
      if (this.publisher.pendingBytes >= this.options.queueBytes) return this.reportDropsLater();
      this.options.log(`Cluster: redis caught up; ${this.notRelayed} lines were not relayed`);
      this.notRelayed = 0;
    });
  }

  /** A message on a subscribed channel: another server's lines, for the local clients. */
  private onMessage(channel: string, payload: Uint8Array): void {
    if (channel !== this.channel || !this.inject) return;
    const nl = payload.indexOf(LF);
    if (nl < 0) return; // no header line: not one of ours
    if (nl === this.header.length - 1 && startsWith(payload, this.header)) return; // our own
    const body = payload.subarray(nl + 1);
    if (body.length === 0) return;
    this.stats.received++;
    // Our servers end every line; a hand-made message might not.
    this.inject(body[body.length - 1] === LF ? body : concat([body, NEWLINE]));
  }

  /** Log the link as one thing: up when both connections are, down when either is not. */
  private linkChanged(which: string, reason?: string, retryMs?: number, wasUp?: boolean): void {
    const up = this.publisher.up && this.subscriber.up;
    if (up === this.linkUp) {
      // Still down: say why once per outage, not on every retry.
      if (!up && reason !== undefined && !wasUp && !this.reportedOutage) {
        this.reportedOutage = true;
        this.options.log(
          `Cluster link to ${describeTarget(this.options.target)} not up (${which}: ${reason}); local chat goes on, retrying with backoff`,
        );
      }
      return;
    }
    this.linkUp = up;
    if (up) return this.linkCameUp();
    this.downSince = this.reactor.now();
    this.reportedOutage = true;
    this.options.log(`Cluster link down (${which}: ${reason ?? "closed"}); local chat goes on, reconnecting in ${retryMs ?? 0} ms`);
  }

  /** Both connections are up: publish what waited, and say how the outage went. */
  private linkCameUp(): void {
    const now = this.reactor.now();
    const queued = this.queue.length;
    let lines = 0;
    for (const out of this.queue.splice(0)) {
      lines += out.lines;
      this.publish(out);
    }
    this.queuedBytes = 0;
    const lost = this.notRelayed;
    if (!this.everUp) {
      this.options.log(`Cluster link up: ${describeTarget(this.options.target)}`);
    } else {
      const secs = ((now - (this.downSince ?? now)) / 1000).toFixed(1);
      const what = queued || lost ? ` (queued lines relayed: ${lines}, not relayed: ${lost})` : "";
      this.options.log(`Cluster link back after ${secs} s${what}`);
    }
    this.everUp = true;
    this.downSince = null;
    this.reportedOutage = false;
    this.notRelayed = 0;
  }
}

/** AUTH and SELECT, as the URL asks; sent first on every connection. */
function handshakeFor(t: RedisTarget): Command[] {
  const steps: Command[] = [];
  if (t.password !== null) steps.push(t.username ? ["AUTH", t.username, t.password] : ["AUTH", t.password]);
  if (t.db !== 0) steps.push(["SELECT", String(t.db)]);
  if (steps.length === 0) steps.push(["PING"]); // the link is up once Redis has answered
  return steps;
}
