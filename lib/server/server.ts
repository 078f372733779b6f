/**
 * The chat server: the original select() loop, on the reactor.
 *
 *   listener readable  -> accept every pending connection, announce each;
 *   client readable    -> receive, split into lines, broadcast each line
 *                         (`q` quits); EOF -> evict as offline;
 *   client errored     -> evict as offline.
 *
 * A TLS client on this plain port (its first bytes a TLS handshake) is
 * told so in one plain line and closed; nothing it sent is relayed.
 *
 * Fixes over the original: notices name the client they are about (it used
 * the last accepted address), EOF evicts instead of spinning, input is
 * framed into lines, and writes never block the loop.
 */
import { type Connection, describeError, type Listener } from "../reactor/backend.ts";
import { type Address, Interest, Ready } from "../reactor/events.ts";
import type { ReadySets, Reactor, SelectorKey } from "../reactor/reactor.ts";
import type { Timer } from "../reactor/timers.ts";
import { type CommandHost, commandCost, displayName, type HistoryRequest, runCommand } from "./commands.ts";
import { FrameResult } from "../chat/framing.ts";
import {
  CLOSE_LINGER_MS,
  ClientLimits,
  defaultLimits,
  type Limits,
  LineVerdict,
  limitMessages,
  offlineReason,
  BacklogWatch,
} from "./limits.ts";
import {
  addressTuple,
  encode,
  historyText,
  isBareQuit,
  looksLikeTls,
  notice,
  PLAIN_TCP_ONLY,
  PRESENCE_NAMES,
  presenceLine,
} from "../chat/protocol.ts";
import { EntryKind, formatId, type EntryContent, type LogEntry } from "../chat/entry.ts";
import { entryEvent, errorEvent, historyEndEvent, presenceEvent, replyEvent, unnumberedEvent } from "../chat/events.ts";
import { type HistoryStore, RoomLog } from "./history.ts";
import { Roster } from "./roster.ts";
import { qualifiedName, qualifySender } from "../cluster/stream-entry.ts";
import { concat, EMPTY_BYTES } from "../bytes.ts";
import { Peer, type ServerAttachment } from "./peer.ts";
import type { Relay, RelaySink } from "./relay.ts";
import { type Member, Room } from "./room.ts";
import { ServerCounters } from "./stats.ts";

const NEWLINE = encode("\n");
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
/** How long a silent TCP newcomer waits for the presence line (see `admit`). */
const PRESENCE_WAIT_MS = 250;

/** Options of a `ChatServer`; see `defaultServerOptions`. */
export interface ChatServerOptions {
  /** Deliver an unterminated tail once its connection has been quiet this long (ms). */
  tailMs: number;
  /** One send per receiver per tick (true) or one per message per receiver. */
  coalesce: boolean;
  /**
   * Where connect/leave lines go (the original printed them on stdout);
   * `client` is the address a line is about (see lib/server/logger.ts).
   */
  log: (line: string, client?: Address) => void;
  /** Told about what the room hears from local clients, e.g. to share it with other servers. */
  relay: Relay | null;
  /** Per-client limits (see limits.ts). */
  limits: Limits;
  /** The room's log (`--history` entries kept; default 1000); a lone server numbers its entries, a cluster's relay does. */
  history: RoomLog | null;
  /** Where the log is kept across restarts (`--history-db`), flushed once per tick. */
  historyStore: HistoryStore | null;
  /** This server's name in a cluster's log ("" alone). */
  origin: string;
}

/** A lone server: 100 ms tails, coalesced writes, no log, no relay. */
export const defaultServerOptions: ChatServerOptions = {
  tailMs: 100,
  coalesce: true,
  log: () => {},
  relay: null,
  limits: defaultLimits,
  history: null,
  historyStore: null,
  origin: "",
};

/** Where a notice goes (bits); see `ChatServer.announce`. */
export enum Reach {
  /** The server's log, naming the client the notice is about. */
  LOG = 1,
  /** The clients in the room (counted in `linesOut`). */
  ROOM = 2,
  /** The other servers of a cluster, through the relay. */
  CLUSTER = 4,
  ALL = LOG | ROOM | CLUSTER,
}

/** The chat server's dispatcher; see the top of this file. */
export class ChatServer implements CommandHost {
  readonly options: ChatServerOptions;
  readonly room: Room<ServerAttachment>;
  /** Lines, bytes and departures, counted once per event (for --stats and --metrics). */
  readonly counters = new ServerCounters();
  /** The room's log: every line and notice the room broadcast, numbered (history.ts). */
  readonly log: RoomLog;
  /** Who is on the other servers of a cluster, from their entries. */
  private readonly roster = new Roster();
  private readonly listenerKeys: SelectorKey<ServerAttachment>[] = [];
  private stopping = false;
  /** Where in the readable set the next tick starts taking input (round robin). */
  private rotation = 0;
  /** Clients out of the read set while a reader catches up. */
  private readonly heldBack: Peer[] = [];
  /** Lets the next trickle in while a reader is behind (a reader that does not read sends no event). */
  private recheck: Timer | null = null;
  /** Bytes the next tick may take while a reader lags. */
  private trickle = 0;
  private readonly backlogs = new BacklogWatch<SelectorKey<ServerAttachment, Connection>>();

  /** Takes the reactor's before-sleep hook (see `beforeSleep`). */
  constructor(
    readonly reactor: Reactor<ServerAttachment>,
    readonly listener: Listener,
    options: Partial<ChatServerOptions> = {},
  ) {
    this.options = { ...defaultServerOptions, ...options };
    this.room = new Room(reactor, this.options.coalesce);
    this.log = this.options.history ?? new RoomLog(1000);
    reactor.setBeforeSleep(() => this.beforeSleep());
    this.addListener(listener);
  }

  /** Accept clients on another listener too (the web gateway's WebSockets): one room, one loop. */
  addListener(listener: Listener): void {
    this.listenerKeys.push(this.reactor.register(listener, Interest.READ, { kind: "listener", listener }));
  }

  /** Clients currently in the room. */
  get clients(): number {
    return this.room.size;
  }

  /** Web clients among them. */
  get webClients(): number {
    return this.room.eventReaders;
  }

  /**
   * Where a cluster's relay hands the shared log's entries, in its order:
   * another server's entry goes to every local client, one of this
   * server's own only to the web clients, who wait for its number.
   */
  readonly relaySink: RelaySink = {
    entry: (e, local, shown) => {
      this.log.insert(e);
      if (!local) this.roster.note(e);
      // `shown`: history loaded as the relay connects, or a local entry shown when it happened.
      if (shown) return;
      if (!local) this.counters.linesOut += this.room.broadcast(null, e.line, NEWLINE);
      if (this.room.eventReaders > 0) {
        this.counters.linesOut += this.room.broadcastEvent(entryEvent(this.log.epoch, e));
      }
    },
    reset: (epoch, lastSeq) => this.log.reset(epoch, lastSeq),
    missed: (count) => {
      this.counters.clusterMissed += count;
    },
  };

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
      if (attachment.kind === "listener") this.acceptAll(attachment.listener);
      else if (attachment.kind === "service") attachment.onReadable();
      // Bytes taken are not the whole bound: lines that filled up over many
      // ticks can all end in one, so the tick's batch is bounded as well.
      else if (bytesLeft > 0 && this.room.batchBytes < cap && this.counters.linesIn < lineLimit) {
        bytesLeft -= this.receive(attachment, Math.min(share, bytesLeft));
      } else if (lagging) this.holdBack(attachment);
    }
    for (const key of ready.errored) {
      if (!key.valid) continue;
      const attachment = key.data;
      if (attachment.kind === "listener") this.listenerFailed(attachment.listener);
      else if (attachment.kind === "service") attachment.onErrored();
      else this.evict(attachment, notice.offline(attachment.noticeName));
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
    // The local clients hear that the server goes; the other servers hear who left.
    this.announce(null, notice.shutdown(), Reach.ROOM);
    this.room.seal();
    for (const peer of [...this.peers()]) {
      this.room.leave(peer.member);
      peer.tailTimer?.cancel();
      this.reactor.closeKey(peer.key);
      this.announce(peer, notice.offline(peer.noticeName, "server shutting down"), Reach.CLUSTER, EntryKind.LEAVE);
    }
    this.flushHistory();
    this.options.relay?.close();
    this.reactor.setTimer(graceMs, () => {
      this.reactor.abortLingering();
      this.reactor.stop();
    });
    this.reactor.flush();
    if (this.reactor.lingeringCount === 0) this.reactor.stop();
  }

  /** Relay a client's line to everyone else (and the cluster) behind `prefix`, and log it. */
  say(peer: Peer, prefix: Uint8Array, line: Uint8Array): void {
    this.counters.linesOut += this.room.broadcast(peer.member, prefix, line, NEWLINE);
    this.record(EntryKind.LINE, displayName(peer), prefix, line, "", true);
  }

  /**
   * Log an entry the room broadcast to its TCP clients (its line: `head`
   * then `rest`), and show it to its web clients (`show`). A lone server
   * numbers it now; in a cluster the relay does, and hands it back (see
   * `relaySink`), unless the link is down: then web clients see it now,
   * without a number.
   */
  private record(kind: EntryKind, sender: string, head: Uint8Array, rest: Uint8Array | null, newName: string, show: boolean): void {
    const time = Date.now();
    const origin = this.options.origin;
    const textStart = rest ? head.length : 0;
    const relay = this.options.relay;
    if (relay) {
      const line = rest ? concat([head, rest]) : head;
      const content: EntryContent = { time, kind, sender, line, textStart, newName, origin };
      if (!relay.append(content) && show && this.room.eventReaders > 0) {
        // Named as the stream names it, as web clients get every entry.
        this.counters.linesOut += this.room.broadcastEvent(unnumberedEvent(qualifySender(content, origin)));
      }
      return;
    }
    const entry = this.log.append({ time, kind, sender, line: head, textStart, newName, origin }, rest);
    if (show && this.room.eventReaders > 0) this.counters.linesOut += this.room.broadcastEvent(entryEvent(this.log.epoch, entry));
  }

  /** The clients connected to this server. */
  *peers(): Iterable<Peer> {
    for (const m of this.room.list()) yield m.key.data as Peer;
  }

  /** The room's members, for commands (each one's `Peer` is its `key.data`). */
  members(): readonly Member<ServerAttachment>[] {
    return this.room.list();
  }

  /** Command replies stay within a share of this (see `REPLY_SHARE` in commands.ts). */
  get maxOutbound(): number {
    return this.options.limits.maxOutbound;
  }

  /** Whether a client of another server goes by `nick` (the cluster's roster; a lone server has none). */
  nickElsewhere(nick: string): boolean {
    return this.roster.has(nick);
  }

  /** One line to one client only (command replies; to a web client, an `error` event when it starts with "Error"). */
  reply(peer: Peer, text: string): void {
    if (!peer.member.events) return this.room.sendTo(peer.member, encode(text + "\n"));
    this.room.sendTo(peer.member, text.startsWith("Error") ? errorEvent(text) : replyEvent(text));
  }

  /** A limit's message to one client: a line, or to a web client an `error` event. */
  private warn(peer: Peer, text: string): void {
    this.room.sendTo(peer.member, peer.member.events ? errorEvent(text) : encode(text + "\n"));
  }

  /** Bytes to one TCP client only, kept by reference (`/who`'s shared list). */
  send(peer: Peer, bytes: Uint8Array): void {
    this.room.sendTo(peer.member, bytes);
  }

  /**
   * `/history`: the newest entries, or those after an id (a resume), each
   * marked as replay, then the end of the replay with the id to resume
   * from; the gap first, if there is one. False when it does not fit in
   * what the client may have waiting (`fits`).
   */
  replay(peer: Peer, request: HistoryRequest, fits: (bytes: number) => boolean): boolean {
    const log = this.log;
    let entries: LogEntry[];
    let missed = 0;
    let reset = false;
    if (request.since) ({ entries, missed, reset } = log.since(request.since.epoch, request.since.seq));
    else entries = log.latest(request.count);
    const parts: Uint8Array[] = [];
    if (peer.member.events) {
      for (const e of entries) parts.push(entryEvent(log.epoch, e, true));
      parts.push(historyEndEvent(entries.length, missed, reset, log.lastId));
    } else {
      const since = request.since;
      if (reset && since) parts.push(encode(historyText.reset(formatId(since.epoch, since.seq)) + "\n"));
      else if (missed > 0) parts.push(encode(historyText.missed(missed) + "\n"));
      for (const e of entries) parts.push(encode(historyText.mark(formatId(log.epoch, e.seq), e.time)), e.line, NEWLINE);
      parts.push(encode(historyText.end(entries.length, log.lastId) + "\n"));
    }
    const bytes = concat(parts);
    if (!fits(bytes.length)) return false;
    this.room.sendTo(peer.member, bytes);
    return true;
  }

  /**
   * The one fan-out of notices (connect, leave, rename, shutdown): to the
   * log naming `about`'s address, to every client in the room but `about`
   * (counted), and to the cluster, as far as `reach` says.
   */
  announce(about: Peer | null, text: string, reach: Reach = Reach.ALL, kind = EntryKind.NOTICE, newName = ""): void {
    if (reach & Reach.LOG) this.options.log(text, about?.conn.remote);
    const bytes = encode(text);
    if (reach & Reach.ROOM) this.counters.linesOut += this.room.broadcast(about?.member ?? null, bytes, NEWLINE);
    // In a cluster the log is the cluster's: what stays here is not in it.
    const logged = this.options.relay ? reach & Reach.CLUSTER : reach & (Reach.ROOM | Reach.CLUSTER);
    const sender = about ? displayName(about) : "";
    if (logged) this.record(kind, sender, bytes, null, newName, (reach & Reach.ROOM) !== 0);
    else if (reach & Reach.ROOM && this.room.eventReaders > 0) {
      const content = { time: Date.now(), kind, sender, line: bytes, textStart: 0, newName, origin: this.options.origin };
      this.counters.linesOut += this.room.broadcastEvent(unnumberedEvent(content));
    }
  }

  /** The client leaves, as after `q`: its output is flushed, the others are told. */
  quit(peer: Peer): void {
    this.counters.quits++;
    this.evict(peer, notice.quits(peer.noticeName));
  }

  /**
   * The reactor's one before-sleep hook. The order matters:
   *   1. check the readers' backlogs before this tick's batch is queued: a
   *      backlog is what earlier flushes could not send, not what this tick
   *      is about to; slow readers are evicted and their offline notices go
   *      into this tick's batch;
   *   2. seal the room's batch, so every remaining client gets this tick's
   *      lines and notices in this flush;
   *   3. write the tick's log entries to the history store (one transaction);
   *   4. the relay ends its tick last, so that everything this tick relayed,
   *      eviction notices included, leaves for the cluster in this tick.
   */
  private beforeSleep(): void {
    this.checkBacklogs();
    this.room.seal();
    this.flushHistory();
    this.options.relay?.endTick();
  }

  /** The tick's new entries go to the store in one transaction (a failure is the store's to log and count). */
  private flushHistory(): void {
    const fresh = this.log.takeUnsaved();
    if (fresh.length > 0) this.options.historyStore?.save(fresh);
  }

  private acceptAll(listener: Listener): void {
    for (let conn = listener.accept(); conn; conn = listener.accept()) {
      if (this.stopping) {
        conn.close();
        continue;
      }
      // Clients still flushing their last output hold a descriptor too.
      if (this.clients + this.reactor.lingeringCount >= this.options.limits.maxClients) {
        this.refuse(conn);
        continue;
      }
      this.admit(conn);
    }
  }

  /** A new client: register it, start its limits, tell the others, then let it in. */
  private admit(conn: Connection): void {
    const key = this.reactor.register(conn, Interest.READ, null as unknown as ServerAttachment);
    const peer = new Peer(key, conn, this.options.limits.maxLine);
    key.data = peer;
    const idleSeconds = this.options.limits.idleTimeoutMs / 1000;
    peer.limits = new ClientLimits(this.reactor, this.options.limits, () => {
      // Bytes already waiting (after a stall, say) are activity, not idleness;
      // and while intake is held back for a slow reader, nobody's bytes are read.
      if (conn.readiness() & Ready.READABLE || this.heldBack.length > 0) return false;
      this.evictOverLimit(peer, limitMessages.idle(idleSeconds), offlineReason.idle);
    });
    // Nothing but WebSockets' text frames reaches a web client's framer: no TLS check.
    if (conn.transport === "websocket") peer.firstBytes = null;
    this.counters.connects++;
    // Announced before it joins: a client is not told about itself.
    this.announce(peer, notice.connected(conn.remote), Reach.ALL, EntryKind.JOIN);
    this.room.join(peer.member);
    // A TCP client hears who is here once its first bytes show it is no TLS
    // client (a TLS client would take the line for a broken handshake and
    // never read why it is closed), or after PRESENCE_WAIT_MS of silence.
    if (peer.firstBytes === null) this.tellPresence(peer);
    else peer.presenceTimer = this.reactor.setTimer(PRESENCE_WAIT_MS, () => this.tellPresence(peer));
  }

  /** Who else is here, as the client joins: one line (TCP) or a `presence` event. */
  private tellPresence(peer: Peer): void {
    peer.presenceTimer?.cancel();
    peer.presenceTimer = null;
    if (!peer.key.valid) return;
    const nameOf = peer.member.events ? (p: Peer) => this.eventName(p) : displayName;
    const names: string[] = [];
    for (const m of this.room.list()) {
      if (names.length >= PRESENCE_NAMES) break;
      if (m !== peer.member) names.push(nameOf(m.key.data as Peer));
    }
    if (names.length < PRESENCE_NAMES) names.push(...this.roster.names(PRESENCE_NAMES - names.length));
    const others = this.room.size - 1 + this.roster.size;
    if (peer.member.events) {
      this.room.sendTo(peer.member, presenceEvent(nameOf(peer), names, others - names.length, this.log.lastId));
    } else this.room.sendTo(peer.member, encode(presenceLine(names, others) + "\n"));
  }

  /**
   * A client's name in web events: in a cluster, as the stream names it
   * (an address gets `@NODE`, see `qualifySender`), since web clients get
   * even this server's entries back from the stream.
   */
  private eventName(peer: Peer): string {
    return this.options.relay ? qualifiedName(displayName(peer), this.options.origin) : displayName(peer);
  }

  /** Take up to `maxBytes` of a client's input and handle its lines; returns the bytes taken. */
  private receive(peer: Peer, maxBytes: number): number {
    const received = peer.conn.recv(maxBytes);
    if (received === null) return 0;
    this.counters.bytesIn += received.length;
    peer.limits!.noteActivity(this.reactor.now());
    const data = peer.firstBytes ? this.checkFirstBytes(peer, received) : received;
    if (received.length === 0) {
      // EOF: what the client sent without a newline is still its message.
      if (data.length > 0) peer.framer.push(data, (line) => this.onLine(peer, line));
      this.deliverTail(peer);
      if (peer.key.valid) this.evict(peer, notice.offline(peer.noticeName));
      return 0;
    }
    if (data.length === 0 || !peer.key.valid) return received.length;
    const result = peer.framer.push(data, (line) => this.onLine(peer, line));
    if (result === FrameResult.TOO_LONG) {
      const max = this.options.limits.maxLine;
      this.evictOverLimit(peer, limitMessages.lineTooLong(max), offlineReason.lineTooLong);
    } else if (result === FrameResult.OK) {
      this.armTail(peer);
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
  private checkFirstBytes(peer: Peer, received: Uint8Array): Uint8Array {
    const held = peer.firstBytes!;
    const bytes = held.length > 0 ? concat([held, received]) : received;
    const tls = received.length === 0 ? false : looksLikeTls(bytes);
    if (tls === null) {
      peer.firstBytes = bytes;
      return EMPTY_BYTES;
    }
    peer.firstBytes = null;
    if (!tls) {
      if (peer.presenceTimer) this.tellPresence(peer);
      return bytes;
    }
    // Eviction cancels the presence line too: a TLS client is told only why it is refused.
    this.evictOverLimit(peer, PLAIN_TCP_ONLY, offlineReason.tls);
    return EMPTY_BYTES;
  }

  /** Handle one complete line; false stops reading this connection. */
  private onLine(peer: Peer, line: Uint8Array): boolean {
    this.counters.linesIn++;
    // A page's user who types `q` means the letter: only /quit leaves.
    if (isBareQuit(line) && !peer.member.events) {
      this.quit(peer);
      return false;
    }
    // A command pays before it runs, /who more in a bigger room (commandCost).
    const command = line[0] === SLASH;
    const verdict = peer.limits!.admitLine(command ? commandCost(line, this.room.size) : 1);
    if (verdict !== LineVerdict.PASS) {
      if (verdict === LineVerdict.DROP_AND_WARN) {
        const { rate, burst } = this.options.limits;
        this.warn(peer, limitMessages.flooding(rate, burst));
      }
      return true;
    }
    if (command) return runCommand(this, peer, line);
    this.say(peer, peer.prefix, line);
    return true;
  }

  /** A tail waits for its newline only until the connection goes quiet. */
  private armTail(peer: Peer): void {
    peer.tailTimer?.cancel();
    peer.tailTimer = peer.framer.pending ? this.reactor.setTimer(this.options.tailMs, () => this.onTailTimeout(peer)) : null;
  }

  /** The tail timer: the sender went quiet with a line unfinished. */
  private onTailTimeout(peer: Peer): void {
    peer.tailTimer = null;
    // Input already waiting (after a stall, say) may hold the tail's newline:
    // read it first; only a tail that stays unterminated is a message.
    if (peer.key.valid && peer.conn.readiness() & Ready.READABLE) return this.armTail(peer);
    this.deliverTail(peer);
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
    peer.presenceTimer?.cancel();
    peer.limits?.close();
    this.room.leave(peer.member);
    this.closeClient(peer.key, abort);
    this.counters.departures++;
    this.announce(peer, text, Reach.ALL, EntryKind.LEAVE);
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
  private evictOverLimit(peer: Peer, why: string, reason: string): void {
    if (!peer.key.valid) return;
    this.warn(peer, why);
    this.evict(peer, notice.offline(peer.noticeName, reason));
  }

  /** One line saying the server is full, then close; the others never hear of it. */
  private refuse(conn: Connection): void {
    const max = this.options.limits.maxClients;
    const text = limitMessages.full(max);
    conn.send(conn.transport === "websocket" ? errorEvent(text) : encode(text + "\n"));
    conn.close();
    this.options.log(`Refused ${addressTuple(conn.remote)}: server is full`, conn.remote);
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
    const slow = this.backlogs.check(this.room.list(), this.options.limits.maxOutbound, this.reactor.now());
    for (const key of slow) {
      const peer = key.data as Peer;
      this.evict(peer, notice.offline(peer.noticeName, offlineReason.tooSlow), true);
    }
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
  private holdBack(peer: Peer): void {
    this.reactor.modify(peer.key, Interest.NONE);
    this.heldBack.push(peer);
  }

  /** Every reader caught up (or was evicted): clients held back are read again. */
  private resumeIntake(): void {
    if (this.heldBack.length === 0) return;
    for (const peer of this.heldBack) if (peer.key.valid) this.reactor.modify(peer.key, Interest.READ);
    this.heldBack.length = 0;
  }

  private listenerFailed(listener: Listener): void {
    // Accept errors (EMFILE and the like) are transient: report and go on.
    this.options.log(`Listener error: ${describeError(listener.error ?? "unknown")}`);
    (listener as { error: Error | null }).error = null;
  }
}
