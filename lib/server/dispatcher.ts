/**
 * The connection dispatcher: the original select() loop, on the reactor.
 *
 *   listener readable  -> accept every pending connection (it speaks the
 *                         listener's codec), let it in;
 *   client readable    -> receive, frame into lines, hand each to the room
 *                         service (a message, a command, `q`); EOF -> evict;
 *   client errored     -> evict as offline.
 *
 * What chat means is the room service's (room-service.ts); this file is
 * flow control: accept and refuse, the tick's intake budget, holding
 * senders back while a reader catches up, tails, limits, eviction and the
 * linger of a closing connection. Each key's attachment says what serves
 * it (`kind`): an acceptor, a session, or a service that serves itself.
 *
 * A client whose codec takes a raw byte stream and whose first bytes are
 * a TLS handshake (a TLS client on this plain port) is told so in one
 * plain line and closed; nothing it sent is relayed.
 *
 * Fixes over the original: notices name the client they are about (it used
 * the last accepted address), EOF evicts instead of spinning, input is
 * framed into lines, and writes never block the loop.
 */
import { type Connection, describeError, type Listener } from "../reactor/backend.ts";
import { Interest, Ready } from "../reactor/events.ts";
import type { ReadySets, Reactor, SelectorKey } from "../reactor/reactor.ts";
import type { Timer } from "../reactor/timers.ts";
import { concat, EMPTY_BYTES } from "../bytes.ts";
import { EntryKind } from "../chat/entry.ts";
import { FrameResult } from "../chat/framing.ts";
import { addressTuple } from "../chat/naming.ts";
import { isBareQuit, looksLikeTls, PLAIN_TCP_ONLY } from "../chat/protocol.ts";
import type { Codec } from "../codecs/codec.ts";
import { commandCost, runCommand } from "./commands.ts";
import { BacklogWatch, CLOSE_LINGER_MS, ClientLimits, type Limits, LineVerdict, limitMessages, offlineReason } from "./limits.ts";
import type { RoomService } from "./room-service.ts";
import { type Acceptor, type ServerAttachment, Session, type SessionProtocol, SessionState } from "./session.ts";
import type { ServerCounters } from "./stats.ts";

/** The least input a readable client is offered in a tick (bytes). */
const MIN_SHARE = 4096;
/**
 * While a reader is far behind, input is let in `TRICKLE_BYTES` at a time
 * every `TRICKLE_MS` (1 MiB/s): the pace a reader must keep to stay, and
 * the pace at which a reader that does not read fills up to eviction.
 */
const TRICKLE_MS = 250;
const TRICKLE_BYTES = 256 * 1024;

const SLASH = 0x2f;
/** How long a silent raw-stream newcomer waits for the presence line (see `admit`). */
const PRESENCE_WAIT_MS = 250;

/** Settings of a `Dispatcher`. */
export interface DispatcherOptions {
  /** Deliver an unterminated tail once its connection has been quiet this long (ms). */
  tailMs: number;
  limits: Limits;
  /** The server's log; `client` is the address a line is about. */
  log: (line: string, client?: { host: string; port: number }) => void;
  /** This server's node in a cluster ("" alone): its clients' names carry it. */
  node: string;
}

/** The chat server's dispatcher; see the top of this file. */
export class Dispatcher {
  private readonly listenerKeys: SelectorKey<ServerAttachment>[] = [];
  /** Every client connected, in no order (swap-removed; `Session.index`). */
  private readonly all: Session[] = [];
  private stopping = false;
  /** Where in the readable set the next tick starts taking input (round robin). */
  private rotation = 0;
  /** Clients out of the read set while a reader catches up. */
  private readonly heldBack: Session[] = [];
  /** Lets the next trickle in while a reader is behind (a reader that does not read sends no event). */
  private recheck: Timer | null = null;
  /** Bytes the next tick may take while a reader lags. */
  private trickle = 0;
  private readonly backlogs = new BacklogWatch<SelectorKey<ServerAttachment, Connection>>();

  /** Takes the reactor's before-sleep hook (see `beforeSleep`). */
  constructor(
    readonly reactor: Reactor<ServerAttachment>,
    readonly service: RoomService,
    readonly counters: ServerCounters,
    readonly options: DispatcherOptions,
  ) {
    reactor.setBeforeSleep(() => this.beforeSleep());
  }

  /** Accept clients on `listener`; they speak `codec`. */
  addListener(listener: Listener, codec: Codec, protocol: SessionProtocol | null = null): void {
    const acceptor: Acceptor = { kind: "listener", listener, codec, protocol };
    this.listenerKeys.push(this.reactor.register(listener, Interest.READ, acceptor));
  }

  /** Clients connected. */
  get clients(): number {
    return this.all.length;
  }

  /** Clients that speak `codec`. */
  clientsOf(codec: Codec): number {
    let n = 0;
    for (const s of this.all) if (s.codec === codec) n++;
    return n;
  }

  /** Every client connected, in no order. */
  sessions(): readonly Session[] {
    return this.all;
  }

  /** Serve until `shutdown()` has finished. */
  run(): Promise<void> {
    return this.reactor.run((ready) => this.dispatch(ready));
  }

  /**
   * Walk one tick's ready sets, as the original select loop did.
   *
   * Intake is bounded: a tick takes at most `intakeBytes` (and at most a
   * quarter of --max-outbound) from its clients and broadcasts about that much at
   * most, and handles at most `intakeLines` lines, each readable
   * client at most an even share of the bytes, starting one place further
   * round the set every tick so that no client is always first (or last).
   * What is not taken stays buffered and the key stays readable
   * (level-triggered): it is served next tick. So a tick's batch is small
   * whatever the senders do.
   *
   * And intake waits for the readers: while any reader is far behind (see
   * `checkBacklogs`), clients are taken out of the read set, so their bytes
   * wait in the kernel and TCP flow control pushes back on the senders, and
   * only a trickle (`TRICKLE_BYTES` every `TRICKLE_MS`) is let in: a reader
   * that reads at least that fast catches up, and one that does not read
   * fills up to --max-outbound and is evicted.
   */
  dispatch(ready: ReadySets<ServerAttachment>): void {
    const readable = ready.readable;
    const n = readable.length;
    const { intakeBytes, intakeLines, maxOutbound } = this.options.limits;
    const lagging = this.backlogs.lagging > 0;
    // A quarter of --max-outbound at most: a reader just short of the lag line
    // (half of it) plus one tick's batch stays under the limit.
    const cap = maxOutbound > 0 ? Math.min(intakeBytes, maxOutbound >> 2) : intakeBytes;
    // While a reader lags, only the trickle the timer lets through (see checkBacklogs).
    let bytesLeft = lagging ? Math.min(cap, this.trickle) : cap;
    this.trickle = 0;
    const share = Math.max(MIN_SHARE, Math.ceil(bytesLeft / Math.max(1, n)));
    const lineLimit = this.counters.linesIn + intakeLines;
    const first = n > 0 ? this.rotation++ % n : 0;
    for (let i = 0; i < n; i++) {
      const key = readable[(first + i) % n]!;
      if (!key.valid) continue; // evicted earlier in this tick
      const attachment = key.data;
      if (attachment.kind === "listener") this.acceptAll(attachment);
      else if (attachment.kind === "service") attachment.onReadable();
      // Bytes taken are not the whole bound: lines that filled up over many
      // ticks can all end in one, so the tick's batch is bounded as well.
      else if (bytesLeft > 0 && this.service.batchBytes < cap && this.counters.linesIn < lineLimit) {
        bytesLeft -= this.receive(attachment, Math.min(share, bytesLeft));
      } else if (lagging) this.holdBack(attachment);
    }
    for (const key of ready.errored) {
      if (!key.valid) continue;
      const attachment = key.data;
      if (attachment.kind === "listener") this.listenerFailed(attachment.listener);
      else if (attachment.kind === "service") attachment.onErrored();
      else this.evict(attachment, EntryKind.LEAVE, "");
    }
    if (this.stopping && this.reactor.lingeringCount === 0) this.reactor.stop();
  }

  /**
   * Tell everyone the server is going, flush, close every connection.
   * `run()` returns once all output is out or `graceMs` has passed.
   */
  shutdown(graceMs = 2000): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const key of this.listenerKeys.splice(0)) this.reactor.closeKey(key);
    const sessions = [...this.all];
    this.service.shutdown(sessions);
    // A protocol of its own says the last word (IRC: an ERROR line), after the rooms' notices.
    for (const session of sessions) session.protocol?.shuttingDown?.(session);
    for (const session of sessions) {
      session.tailTimer?.cancel();
      this.reactor.closeKey(session.key);
    }
    this.reactor.setTimer(graceMs, () => {
      this.reactor.abortLingering();
      this.reactor.stop();
    });
    this.reactor.runBeforeSleep();
    if (this.reactor.lingeringCount === 0) this.reactor.stop();
  }

  /** The client leaves, as after `q`: its output is flushed, the others are told. */
  quit(session: Session): void {
    this.counters.quits++;
    this.evict(session, EntryKind.QUIT);
  }

  /**
   * Drop a client of a protocol of its own for a reason of that protocol
   * (IRC: no answer to PING): `why` is told to it (its codec's words for a
   * limit), `reason` to the others, as a limit's eviction is.
   */
  drop(session: Session, why: string, reason: string): void {
    this.evictOverLimit(session, why, reason);
  }

  /**
   * The reactor's one before-sleep hook. The order matters:
   *   1. check the readers' backlogs before this tick's batch is queued: a
   *      backlog is what earlier flushes could not send, not what this tick
   *      is about to; slow readers are evicted and their offline notices go
   *      into this tick's batch;
   *   2. the room service ends its tick (seals the rooms' batches, writes
   *      the tick's entries to the store, and last lets the relay send
   *      the tick on, eviction notices included).
   */
  private beforeSleep(): void {
    this.checkBacklogs();
    this.service.endTick();
  }

  private acceptAll(acceptor: Acceptor): void {
    const listener = acceptor.listener;
    for (let conn = listener.accept(); conn; conn = listener.accept()) {
      if (this.stopping) {
        conn.close();
        continue;
      }
      // Clients still flushing their last output hold a descriptor too.
      if (this.clients + this.reactor.lingeringCount >= this.options.limits.maxClients) {
        this.refuse(conn, acceptor.codec);
        continue;
      }
      this.admit(conn, acceptor);
    }
  }

  /** A new client: register it, start its limits, let it in (the others are told). */
  private admit(conn: Connection, acceptor: Acceptor): void {
    const key = this.reactor.register(conn, Interest.READ, null as unknown as ServerAttachment);
    const session = new Session(key, conn, acceptor.codec, this.options.node, this.options.limits.maxLine);
    session.protocol = acceptor.protocol;
    key.data = session;
    session.index = this.all.length;
    this.all.push(session);
    const idleSeconds = this.options.limits.idleTimeoutMs / 1000;
    session.limits = new ClientLimits(this.reactor, this.options.limits, () => {
      // Bytes already waiting (after a stall, say) are activity, not idleness;
      // and while intake is held back for a slow reader, nobody's bytes are read.
      if (conn.readiness() & Ready.READABLE || this.heldBack.length > 0) return false;
      this.evictOverLimit(session, limitMessages.idle(idleSeconds), offlineReason.idle);
    });
    this.counters.connects++;
    // A protocol of its own registers the client when it says so (IRC: after NICK and USER).
    if (session.protocol) return session.protocol.accepted(session);
    this.service.connect(session);
    // A raw-stream client hears who is here once its first bytes show it is
    // no TLS client (a TLS client would take the line for a broken handshake
    // and never read why it is closed), or after PRESENCE_WAIT_MS of silence.
    if (session.firstBytes === null) this.tellPresence(session);
    else session.presenceTimer = this.reactor.setTimer(PRESENCE_WAIT_MS, () => this.tellPresence(session));
  }

  private tellPresence(session: Session): void {
    session.presenceTimer?.cancel();
    session.presenceTimer = null;
    const room = session.current === null ? null : this.service.room(session.current);
    if (session.key.valid && room) this.service.tellPresence(room, session);
  }

  /** Take up to `maxBytes` of a client's input and handle its lines; returns the bytes taken. */
  private receive(session: Session, maxBytes: number): number {
    const received = session.conn.recv(maxBytes);
    if (received === null) return 0;
    this.counters.bytesIn += received.length;
    session.limits!.noteActivity(this.reactor.now());
    const data = session.firstBytes ? this.checkFirstBytes(session, received) : received;
    if (received.length === 0) {
      // EOF: what the client sent without a newline is still its message.
      if (data.length > 0) session.framer.push(data, (line) => this.onLine(session, line));
      this.deliverTail(session);
      if (session.key.valid) this.evict(session, EntryKind.LEAVE, "");
      return 0;
    }
    if (data.length === 0 || !session.key.valid) return received.length;
    const result = session.framer.push(data, (line) => this.onLine(session, line));
    if (result === FrameResult.TOO_LONG) {
      const max = this.options.limits.maxLine;
      this.evictOverLimit(session, limitMessages.lineTooLong(max), offlineReason.lineTooLong);
    } else if (result === FrameResult.OK) {
      this.armTail(session);
    }
    return received.length;
  }

  /**
   * A connection's first bytes: a TLS client on this plain port (a
   * ClientHello, see `looksLikeTls`) gets one plain line saying so and is
   * closed, none of its bytes relayed; the others, who heard it connect,
   * hear it go offline. Returns the bytes to frame: none while too few
   * have come to tell (they are kept; at EOF they are given back).
   */
  private checkFirstBytes(session: Session, received: Uint8Array): Uint8Array {
    const held = session.firstBytes!;
    const bytes = held.length > 0 ? concat([held, received]) : received;
    const tls = received.length === 0 ? false : looksLikeTls(bytes);
    if (tls === null) {
      session.firstBytes = bytes;
      return EMPTY_BYTES;
    }
    session.firstBytes = null;
    if (!tls) {
      if (session.presenceTimer) this.tellPresence(session);
      return bytes;
    }
    // Eviction cancels the presence line too: a TLS client is told only why it is refused.
    this.evictOverLimit(session, PLAIN_TCP_ONLY, offlineReason.tls);
    return EMPTY_BYTES;
  }

  /** Handle one complete line; false stops reading this connection. */
  private onLine(session: Session, line: Uint8Array): boolean {
    this.counters.linesIn++;
    const protocol = session.protocol;
    if (protocol) {
      const verdict = session.limits!.admitLine(protocol.cost(session, line));
      if (verdict === LineVerdict.DROP_AND_WARN) {
        const { rate, burst } = this.options.limits;
        const why = limitMessages.flooding(rate, burst);
        if (protocol.warn) protocol.warn(session, why);
        else this.service.warn(session, why);
      }
      return verdict === LineVerdict.PASS ? protocol.line(session, line) : true;
    }
    if (session.codec.bareQuit && isBareQuit(line)) {
      this.quit(session);
      return false;
    }
    // A line names its room (a client in several) or goes to the client's current one.
    const routed = session.codec.route?.(line) ?? null;
    if (routed) line = routed.line;
    const room = this.service.roomFor(session, routed?.room ?? null);
    // A command pays before it runs, /who more in a bigger room (commandCost).
    const command = line[0] === SLASH;
    const size = typeof room === "string" ? 0 : room.population;
    const verdict = session.limits!.admitLine(command ? commandCost(line, size) : 1);
    if (verdict !== LineVerdict.PASS) {
      if (verdict === LineVerdict.DROP_AND_WARN) {
        const { rate, burst } = this.options.limits;
        this.service.warn(session, limitMessages.flooding(rate, burst));
      }
      return true;
    }
    if (typeof room === "string") {
      this.service.warn(session, room);
      return true;
    }
    if (command) {
      session.replyRoom = room.name;
      const stays = runCommand(this.service, session, room, line);
      session.replyRoom = null;
      if (stays) return true;
      this.quit(session);
      return false;
    }
    this.service.say(session, room, EntryKind.LINE, line);
    return true;
  }

  /**
   * A tail waits for its newline only until the connection goes quiet. The
   * session's one tail timer is pushed back in place on every chunk: a
   * byte trickled every few ms must not cost a timer and a closure each.
   */
  private armTail(session: Session): void {
    const timer = session.tailTimer;
    if (!session.framer.pending) timer?.cancel();
    else if (timer) this.reactor.rearm(timer, this.options.tailMs);
    else session.tailTimer = this.reactor.setTimer(this.options.tailMs, () => this.onTailTimeout(session));
  }

  /** The tail timer: the sender went quiet with a line unfinished. */
  private onTailTimeout(session: Session): void {
    // Input already waiting (after a stall, say) may hold the tail's newline:
    // read it first; only a tail that stays unterminated is a message.
    if (session.key.valid && session.conn.readiness() & Ready.READABLE) return this.armTail(session);
    this.deliverTail(session);
  }

  private deliverTail(session: Session): void {
    session.tailTimer?.cancel();
    const tail = session.framer.takeTail();
    if (tail && session.key.valid) this.onLine(session, tail);
  }

  /**
   * Remove a client and tell the others (`kind` QUIT: it chose to; LEAVE:
   * it was disconnected, for `reason`). A client that quit gets its
   * pending output flushed; a lost connection is simply closed, and one
   * evicted for a limit (`abort`) reset.
   */
  private evict(session: Session, kind: EntryKind.QUIT | EntryKind.LEAVE, reason = "", abort = false): void {
    if (!session.key.valid) return;
    session.tailTimer?.cancel();
    session.presenceTimer?.cancel();
    session.limits?.close();
    this.forget(session);
    this.closeClient(session.key, abort);
    this.counters.departures++;
    if (session.state === SessionState.JOINED) this.service.disconnect(session, kind, reason);
    else session.state = SessionState.GONE;
    session.protocol?.closed(session);
  }

  /** Take a session out of the list of clients. */
  private forget(session: Session): void {
    const last = this.all.pop()!;
    if (last !== session) {
      this.all[session.index] = last;
      last.index = session.index;
    }
    session.index = -1;
  }

  /** Close a client's key; one that keeps output waiting is reset after `CLOSE_LINGER_MS`. */
  private closeClient(key: SelectorKey<ServerAttachment, Connection>, abort: boolean): void {
    this.reactor.closeKey(key, abort);
    if (key.pendingBytes === 0) return;
    // Weak: a key that finished closing must not stay alive for the linger period.
    const ref = new WeakRef(key);
    this.reactor.setTimer(CLOSE_LINGER_MS, () => {
      const k = ref.deref();
      if (k) this.reactor.closeKey(k, true);
    });
  }

  /** Evict a client for breaking a limit: tell it why, then the others. */
  private evictOverLimit(session: Session, why: string, reason: string): void {
    if (!session.key.valid) return;
    this.service.warn(session, why);
    this.evict(session, EntryKind.LEAVE, reason);
  }

  /** One line saying the server is full, then close; the others never hear of it. */
  private refuse(conn: Connection, codec: Codec): void {
    const max = this.options.limits.maxClients;
    conn.send(codec.error(limitMessages.full(max)));
    conn.close();
    this.options.log(`Refused ${addressTuple(conn.remote.host, conn.remote.port)}: server is full`, conn.remote);
  }

  /**
   * Look at every reader's backlog (output queued before this tick that its
   * socket has not taken yet). One over half of --max-outbound is far
   * behind: intake slows to a trickle until it catches up (see `dispatch`).
   * One that stays over --max-outbound for `SLOW_READER_GRACE_MS`, or
   * passes twice that, is dropped (reset, queue freed): it cannot hold
   * memory or hold the room up. A reader that drains what it is sent, at
   * the trickle's pace at least, never gets there.
   */
  private checkBacklogs(): void {
    const slow = this.backlogs.check(this.all, this.options.limits.maxOutbound, this.reactor.now());
    for (const key of slow) this.evict(key.data as Session, EntryKind.LEAVE, offlineReason.tooSlow, true);
    if (this.backlogs.lagging === 0) return this.resumeIntake();
    // Let a trickle in every TRICKLE_MS; this also wakes the loop to look
    // again at a reader that does not read (it sends no event).
    this.recheck ??= this.reactor.setTimer(TRICKLE_MS, () => {
      this.recheck = null;
      this.trickle = TRICKLE_BYTES;
      this.resumeIntake();
    });
  }

  /** Take a client out of the read set while a reader is far behind: its bytes wait in the kernel. */
  private holdBack(session: Session): void {
    this.reactor.modify(session.key, Interest.NONE);
    this.heldBack.push(session);
  }

  /** Every reader caught up (or was evicted): clients held back are read again. */
  private resumeIntake(): void {
    if (this.heldBack.length === 0) return;
    for (const session of this.heldBack) if (session.key.valid) this.reactor.modify(session.key, Interest.READ);
    this.heldBack.length = 0;
  }

  private listenerFailed(listener: Listener): void {
    // Accept errors (EMFILE and the like) are transient: report and go on.
    this.options.log(`Listener error: ${describeError(listener.error ?? "unknown")}`);
    listener.clearError();
  }
}
