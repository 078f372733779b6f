/**
 * The chat server: the original select() loop, on the reactor.
 *
 *   listener readable  -> accept every pending connection, announce each;
 *   client readable    -> receive, split into lines, broadcast each line
 *                         (`q` quits); EOF -> evict as offline;
 *   client errored     -> evict as offline.
 *
 * Fixes over the original: notices name the client they are about (it used
 * the last accepted address), EOF evicts instead of spinning, input is
 * framed into lines, and writes never block the loop.
 */
import { type Connection, formatHostPort, type Listener } from "../reactor/backend.ts";
import { type Address, Interest } from "../reactor/events.ts";
import type { ReadySets, Reactor, SelectorKey } from "../reactor/reactor.ts";
import type { Timer } from "../reactor/timers.ts";
import { type CommandHost, runCommand } from "./commands.ts";
import { FrameResult, LineFramer } from "../chat/framing.ts";
import { CLOSE_LINGER_MS, ClientLimits, defaultLimits, type Limits, LineVerdict, limitMessages, offlineReason, slowReaders } from "./limits.ts";
import { addressTuple, encode, isQuit, messagePrefix, notice } from "../chat/protocol.ts";
import { Member, Room } from "./room.ts";
import { ServerCounters } from "./stats.ts";

const NEWLINE = encode("\n");
const SLASH = 0x2f;

/** Options of a `ChatServer`; see `defaultServerOptions`. */
export interface ChatServerOptions {
  /** Deliver an unterminated tail once its connection has been quiet this long (ms). */
  tailMs: number;
  /** One send per receiver per tick (true) or one per message per receiver. */
  coalesce: boolean;
  /**
   * Where connect/leave lines go (the original printed them on stdout);
   * `client` is the address a line is about (see lib/chat/logger.ts).
   */
  log: (line: string, client?: Address) => void;
  /** Told about what the room hears from local clients, e.g. to share it with other servers. */
  relay: Relay | null;
  /** Per-client limits (see limits.ts). */
  limits: Limits;
}

/**
 * Hears every line and notice the room gets from this server's own clients
 * (lib/cluster/ publishes them to the other servers of a cluster). What
 * comes back from elsewhere is injected with `room.broadcast(null, ...)`.
 */
export interface Relay {
  /** A client's line: `prefix` is its `<HOST:PORT> `, `line` has no newline. */
  line(prefix: Uint8Array, line: Uint8Array): void;
  /** A join/quit/offline notice, without newline. */
  notice(text: string): void;
  /** The server is shutting down: send what is pending, then disconnect. */
  close(): void;
}

/** A lone server: 100 ms tails, coalesced writes, no log, no relay. */
export const defaultServerOptions: ChatServerOptions = {
  tailMs: 100,
  coalesce: true,
  log: () => {},
  relay: null,
  limits: defaultLimits,
};

/** What the server keeps per client. */
export class Peer {
  readonly kind = "peer" as const;
  readonly member: Member<Slot>;
  readonly framer: LineFramer;
  /** What goes in front of its messages: `<HOST:PORT> `, or `<NICK> ` after `/nick`. */
  prefix: Uint8Array;
  /** `(HOST, PORT)`, as notices name it. */
  readonly name: string;
  /** `HOST:PORT`. */
  readonly address: string;
  /** Chosen with `/nick`; null until then. */
  nick: string | null = null;
  tailTimer: Timer | null = null;
  limits: ClientLimits | null = null;

  constructor(
    readonly key: SelectorKey<Slot>,
    readonly conn: Connection,
    maxLine = Infinity,
  ) {
    this.framer = new LineFramer(maxLine);
    this.member = new Member(key);
    this.prefix = messagePrefix(conn.remote);
    this.name = addressTuple(conn.remote);
    this.address = formatHostPort(conn.remote.host, conn.remote.port);
  }
}

/** The listener's registration data. */
export interface ListenerSlot {
  readonly kind: "listener";
  readonly listener: Listener;
}

/** A handle owned by a helper (the cluster link): it serves its own events. */
export interface ServiceSlot {
  readonly kind: "service";
  onReadable(): void;
  onErrored(): void;
}

/** What a key of the server's reactor carries. */
export type Slot = Peer | ListenerSlot | ServiceSlot;

/** The chat server's dispatcher; see the top of this file. */
export class ChatServer implements CommandHost {
  readonly options: ChatServerOptions;
  readonly room: Room<Slot>;
  /** Lines, bytes and departures, counted once per event (for --stats and --metrics). */
  readonly counters = new ServerCounters();
  private listenerKey: SelectorKey<Slot> | null = null;
  private stopping = false;

  constructor(
    readonly reactor: Reactor<Slot>,
    readonly listener: Listener,
    options: Partial<ChatServerOptions> = {},
  ) {
    this.options = { ...defaultServerOptions, ...options };
    this.room = new Room(reactor, this.options.coalesce);
    // Registered after the room's seal hook: sees this tick's output queued.
    reactor.beforeSleep(() => this.evictSlowReaders());
    this.listenerKey = reactor.register(listener, Interest.READ, { kind: "listener", listener });
  }

  /** Clients currently in the room. */
  get clients(): number {
    return this.room.size;
  }

  /** Serve until `shutdown()` has finished. */
  run(): Promise<void> {
    return this.reactor.run((ready) => this.dispatch(ready));
  }

  /** Walk one tick's ready sets, as the original select loop did. */
  dispatch(ready: ReadySets<Slot>): void {
    for (const key of ready.readable) {
      if (!key.valid) continue; // evicted earlier in this tick
      const slot = key.data;
      if (slot.kind === "listener") this.acceptAll(slot.listener);
      else if (slot.kind === "service") slot.onReadable();
      else this.receive(slot);
    }
    for (const key of ready.errored) {
      if (!key.valid) continue;
      const slot = key.data;
      if (slot.kind === "listener") this.listenerFailed(slot.listener);
      else if (slot.kind === "service") slot.onErrored();
      else this.evict(slot, notice.offline(slot.conn.remote));
    }
    if (this.stopping && this.reactor.closing === 0) this.reactor.stop();
  }

  /**
   * Tell everyone the server is going, flush, close every connection.
   * `run()` returns once all output is out or `graceMs` has passed.
   */
  shutdown(graceMs = 2000): void {
    if (this.stopping) return;
    this.stopping = true;
    if (this.listenerKey) {
      this.reactor.closeKey(this.listenerKey);
      this.listenerKey = null;
    }
    this.room.broadcast(null, encode(notice.shutdown()), NEWLINE);
    this.room.seal();
    for (const m of [...this.room.list()]) {
      const peer = m.key.data as Peer;
      this.room.leave(m);
      peer.tailTimer?.cancel();
      this.reactor.closeKey(peer.key);
      this.options.relay?.notice(notice.offline(peer.conn.remote, "server shutting down"));
    }
    this.options.relay?.close();
    this.reactor.setTimer(graceMs, () => {
      this.reactor.abortClosing();
      this.reactor.stop();
    });
    this.reactor.flush();
    if (this.reactor.closing === 0) this.reactor.stop();
    else this.reactor.backend.wakeup();
  }

  private acceptAll(listener: Listener): void {
    for (let conn = listener.accept(); conn; conn = listener.accept()) {
      if (this.stopping) {
        conn.close();
        continue;
      }
      // Clients still flushing their last output hold a descriptor too.
      if (this.clients + this.reactor.closing >= this.options.limits.maxClients) {
        this.refuse(conn);
        continue;
      }
      const key = this.reactor.register(conn, Interest.READ, null as unknown as Slot);
      const peer = new Peer(key, conn, this.options.limits.maxLine);
      key.data = peer;
      peer.limits = new ClientLimits(this.reactor, this.options.limits, () =>
        this.dismiss(peer, limitMessages.idle(this.options.limits.idleTimeoutMs / 1000), offlineReason.idle),
      );
      this.counters.connects++;
      const text = notice.connected(conn.remote);
      this.options.log(text, conn.remote);
      this.room.broadcast(null, encode(text), NEWLINE);
      this.counters.linesOut += this.room.size;
      this.options.relay?.notice(text);
      this.room.join(peer.member);
    }
  }

  private receive(peer: Peer): void {
    const data = peer.conn.recv();
    if (data === null) return;
    this.counters.bytesIn += data.length;
    peer.limits!.received(this.reactor.now());
    if (data.length === 0) {
      // EOF: what the client sent without a newline is still its message.
      this.deliverTail(peer);
      if (peer.key.valid) this.evict(peer, notice.offline(peer.conn.remote));
      return;
    }
    const result = peer.framer.push(data, (line) => this.onLine(peer, line));
    if (result === FrameResult.STOPPED) return;
    if (result === FrameResult.TOO_LONG) {
      const max = this.options.limits.maxLine;
      return this.dismiss(peer, limitMessages.lineTooLong(max), offlineReason.lineTooLong);
    }
    this.armTail(peer);
  }

  /** Handle one complete line; false stops reading this connection. */
  private onLine(peer: Peer, line: Uint8Array): boolean {
    this.counters.linesIn++;
    if (isQuit(line)) {
      this.quit(peer);
      return false;
    }
    const verdict = peer.limits!.line();
    if (verdict !== LineVerdict.PASS) {
      if (verdict === LineVerdict.DROP_AND_WARN) {
        const { rate, burst } = this.options.limits;
        this.reply(peer, limitMessages.flooding(rate, burst));
      }
      return true;
    }
    if (line[0] === SLASH) return runCommand(this, peer, line);
    this.say(peer, peer.prefix, line);
    return true;
  }

  /** Relay a client's line to everyone else (and the cluster) behind `prefix`. */
  say(peer: Peer, prefix: Uint8Array, line: Uint8Array): void {
    this.room.broadcast(peer.member, prefix, line, NEWLINE);
    this.counters.linesOut += this.room.size - 1;
    this.options.relay?.line(prefix, line);
  }

  /** The clients connected to this server (for commands such as /who). */
  *peers(): Iterable<Peer> {
    for (const m of this.room.list()) yield m.key.data as Peer;
  }

  /** One line to one client only (command replies). */
  reply(peer: Peer, text: string): void {
    this.room.sendTo(peer.member, encode(text + "\n"));
  }

  /** A notice about `about` to every other client, the log and the cluster. */
  announce(about: Peer, text: string): void {
    this.options.log(text, about.conn.remote);
    this.room.broadcast(about.member, encode(text), NEWLINE);
    this.counters.linesOut += this.room.size - 1;
    this.options.relay?.notice(text);
  }

  /** The client leaves, as after `q`: its output is flushed, the others are told. */
  quit(peer: Peer): void {
    this.counters.quits++;
    this.evict(peer, notice.quits(peer.conn.remote));
  }

  /** A tail waits for its newline only until the connection goes quiet. */
  private armTail(peer: Peer): void {
    peer.tailTimer?.cancel();
    peer.tailTimer = peer.framer.pending
      ? this.reactor.setTimer(this.options.tailMs, () => this.deliverTail(peer))
      : null;
  }

  private deliverTail(peer: Peer): void {
    peer.tailTimer = null;
    const tail = peer.framer.takeTail();
    if (tail && peer.key.valid) this.onLine(peer, tail);
  }

  /**
   * Remove a client and tell the others why. A client that quit gets its
   * pending output flushed; a lost connection is simply closed.
   */
  private evict(peer: Peer, text: string, abort = false): void {
    if (!peer.key.valid) return;
    peer.tailTimer?.cancel();
    peer.limits?.close();
    this.room.leave(peer.member);
    const key = peer.key;
    this.reactor.closeKey(key, abort);
    if (key.pendingBytes > 0) {
      // Weak: a key that finished closing must not stay alive for the linger period.
      const ref = new WeakRef(key);
      this.reactor.setTimer(CLOSE_LINGER_MS, () => {
        const k = ref.deref();
        if (k) this.reactor.closeKey(k, true);
      });
    }
    this.counters.departures++;
    this.options.log(text, peer.conn.remote);
    this.room.broadcast(null, encode(text), NEWLINE);
    this.counters.linesOut += this.room.size;
    this.options.relay?.notice(text);
  }

  /** Evict a client for breaking a limit: tell it why, then the others. */
  private dismiss(peer: Peer, why: string, reason: string): void {
    if (!peer.key.valid) return;
    this.reply(peer, why);
    this.evict(peer, notice.offline(peer.conn.remote, reason));
  }

  /** One line saying the server is full, then close; the others never hear of it. */
  private refuse(conn: Connection): void {
    const max = this.options.limits.maxClients;
    conn.send(encode(limitMessages.full(max) + "\n"));
    conn.close();
    this.options.log(`Refused ${addressTuple(conn.remote)}: server is full`, conn.remote);
  }

  /**
   * Readers whose queued output passed --max-outbound are dropped at once
   * (reset, queue freed) so they cannot hold memory or slow anyone else.
   */
  private evictSlowReaders(): void {
    const slow = slowReaders(this.room.list(), this.options.limits.maxOutbound);
    if (slow.length === 0) return;
    for (const key of slow) {
      const peer = key.data as Peer;
      this.evict(peer, notice.offline(peer.conn.remote, offlineReason.tooSlow), true);
    }
    // The room sealed already in this flush: queue the notices now, not next tick.
    this.room.seal();
  }

  private listenerFailed(listener: Listener): void {
    // Accept errors (EMFILE and the like) are transient: report and go on.
    this.options.log(`Listener error: ${listener.error?.message ?? "unknown"}`);
    (listener as { error: Error | null }).error = null;
  }
}
