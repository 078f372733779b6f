/**
 * Several chat servers as one set of rooms, through Redis Streams: one
 * stream per room, the room's log.
 *
 * Every server appends its own entries of a room (its clients' lines and
 * notices) to the room's stream and reads everyone's back, its own
 * included, in the stream's order. The stream's ids are the room's entry
 * ids (`SEQ-0`, numbered by one Lua script, lib/cluster/script.ts), so
 * every server numbers and orders a room the same way, and history and
 * resume work alike on all of them.
 *
 * A server reads only the rooms its clients are in (`openRoom`,
 * `closeRoom`): a room nobody here is in costs this server nothing, and an
 * idle room costs Redis a key. Private messages go to the receiving
 * server's inbox, a stream of its own (`select-chat:inbox:NODE`), read
 * with the rooms.
 *
 * Two connections, because a blocking read holds its connection:
 *
 * - the writer sends, once per tick (`endTick()`, from the server's
 *   before-sleep hook), one EVALSHA per room that had entries in the tick,
 *   pipelined: it does not wait for the previous tick's reply. Each entry
 *   carries a local ref (1, 2, 3... per server run); a batch stays queued
 *   until its reply, and after a lost connection everything unanswered is
 *   sent again: the script skips refs it has already appended, so nothing
 *   is appended twice and nothing is lost (within `queueBytes`). The
 *   writer also opens rooms (syncs a new room's epoch and loads its
 *   history) and sends private messages.
 * - the reader loops on one `XREAD BLOCK ... STREAMS log1 log2 ... inbox`
 *   over the open rooms, from the last id it has seen of each; after a lost
 *   link or a paused Redis it goes on from there. When a room is opened
 *   while it is blocked, the writer wakes it (`CLIENT UNBLOCK`) so that the
 *   next read takes the room in. A jump in SEQ means entries were trimmed
 *   (MAXLEN ~ retention) before it read them: it logs how many and tells
 *   the sink. A new epoch (Redis lost its data) resets the room's log.
 *
 * While the link is down, entries wait in the bounded queue; `append`
 * returns false for them (the server shows them at once, unnumbered) and
 * they come back through the sink marked `shown`. Past the bound they are
 * not relayed, and the log counts them.
 */
import { randomBytes } from "node:crypto";
import type { Reactor } from "../reactor/reactor.ts";
import type { Service } from "../reactor/service.ts";
import { type EntryContent, formatId, type LogEntry, newEpoch, originOf, type PrivateMessage } from "../chat/entry.ts";
import type { Relay, RelaySink } from "../server/relay.ts";
import { encodeCommand, RespError, type RespValue, asText } from "./resp.ts";
import { backoffMs, type Command, defaultLinkTiming, RedisLink } from "./link.ts";
import { LinkReport } from "./link-report.ts";
import { appendCommand, LOAD_SCRIPT, scriptReply, syncCommand } from "./script.ts";
import { decodePrivate, decodeStreamEntry, entryArgs, privateArgs, type StreamEntry, streamEntries } from "./stream-entry.ts";
import { describeTarget, inboxKey, type RedisTarget, type RoomKeys, roomKeys } from "./url.ts";

/** How a server joins a cluster. */
export interface ClusterOptions {
  target: RedisTarget;
  /** This server's name in the cluster (`--node`): shown after the address of its address-named clients. */
  node: string;
  /** Entries a room's stream keeps (`MAXLEN ~`): how far behind a server may fall and still miss nothing. */
  retention: number;
  /** Entries of a room's stream loaded into its log when the room is opened (its history size). */
  load: number;
  /** Bytes of entries kept while the link is down or Redis is slow; beyond that they are not relayed. */
  queueBytes: number;
  log: (line: string) => void;
  /** Reconnect and heartbeat timing (defaults: lib/cluster/link.ts). */
  timing?: Partial<typeof defaultLinkTiming>;
  /** How long one XREAD blocks (below the heartbeat's dead time: a PING waits behind it). */
  blockMs?: number;
  /** Entries one XREAD returns at most, per stream. */
  readCount?: number;
  /** This run's id (tests); 8 random hex digits by default. */
  runId?: string;
}

/** A default `--node`: 6 random base-36 characters. */
export function randomNodeName(): string {
  return Array.from(randomBytes(6), (b) => (b % 36).toString(36)).join("");
}

/** The longest wait before appending again after Redis refused appends in a row. */
const MAX_REFUSAL_RETRY_MS = 30_000;

/** A room's entries of a tick go out as one call; a larger burst is split at these sizes. */
const MAX_BATCH_BYTES = 256 * 1024;
const MAX_BATCH_ENTRIES = 1000;

/** Private messages a server's inbox keeps (MAXLEN ~): what a server that was away a moment still gets. */
const INBOX_RETENTION = 10_000;
/** An inbox expires this long after the last private message sent to it. */
const INBOX_TTL_S = 86_400;

/** What a cluster relay has done, for logs and tests. */
export interface ClusterStats {
  /** Append calls answered (one per room per tick with local entries, at most, plus resends). */
  appendCalls: number;
  /** Entries the script appended (resends it skipped not counted). */
  appended: number;
  /** Entries read back from the streams and handed to the sink (history loaded when a room opens not counted). */
  read: number;
  /** Of those, entries from other servers. */
  remote: number;
  /** Entries trimmed from a stream before this server read them. */
  missed: number;
  /** Times a room's stream started over (a new epoch). */
  resets: number;
  /** Local entries not relayed because the queue was full. */
  notRelayed: number;
  /** Private messages sent to other servers, and received from them. */
  privateSent: number;
  privateReceived: number;
}

/** A finished append call and what it carries. */
interface Batch {
  room: RoomStream;
  command: Uint8Array;
  entries: number;
}

/** Where this server is with one room's stream. */
interface RoomStream {
  readonly name: string;
  readonly keys: RoomKeys;
  readonly producerKey: string;
  /** The log's epoch as last synced; null before the room's first sync. */
  epoch: string | null;
  lastSeq: number;
  /** Where the next XREAD of this stream starts (the last id read). */
  cursor: string;
  /** In the reader's set: synced and its history loaded. */
  reading: boolean;
  /** The open call of the tick: per entry its ref and values. */
  tickArgs: (string | Uint8Array)[];
  tickEntries: number;
  tickBytes: number;
  /** Closed by the server: it is left out of the next read and forgotten. */
  closed: boolean;
}

/**
 * Shares a server's rooms with the other servers of a cluster through
 * Redis Streams. Its Redis links are `Service`s on the server's reactor,
 * whose other attachments (`T`) it never looks at.
 */
export class ClusterRelay<T> implements Relay {
  readonly node: string;
  readonly runId: string;
  readonly stats: ClusterStats = {
    appendCalls: 0,
    appended: 0,
    read: 0,
    remote: 0,
    missed: 0,
    resets: 0,
    notRelayed: 0,
    privateSent: 0,
    privateReceived: 0,
  };
  /** `NODE/RUN`: whose entries are this server's own. */
  private readonly producer: string;
  private readonly writer: RedisLink<T>;
  private readonly reader: RedisLink<T>;
  private readonly blockMs: number;
  private readonly readCount: number;
  private readonly inbox: string;
  private sink: RelaySink | null = null;
  private closed = false;
  private readonly rooms = new Map<string, RoomStream>();
  /** Rooms with entries in the open tick. */
  private tickRooms: RoomStream[] = [];

  // Writing.
  private nextRef = 1;
  /** Finished batches not yet answered, oldest first; the first `sent` went out on the current connection. */
  private batches: Batch[] = [];
  private sent = 0;
  private queuedBytes = 0;
  /** Refs of entries appended while the link was down (`append` said false): shown when they happened. */
  private readonly shownRefs = new Set<number>();
  /** Append calls refused in a row (each reconnect waits longer). */
  private refusals = 0;
  /** Likewise for the reader's commands. */
  private readRefusals = 0;

  // Reading.
  /** The reader's connection id (for CLIENT UNBLOCK), once known. */
  private readerId: number | null = null;
  /** An XREAD is waiting in Redis on the reader. */
  private blocked = false;
  /** The reader is synced and reading. */
  private synced = false;
  /** Where the next read of the inbox starts; null before the first sync. */
  private inboxCursor: string | null = null;
  private warnedForeign = false;
  private warnedTwin = false;

  /** The link as one thing, for the log. */
  private readonly report: LinkReport;

  constructor(
    reactor: Reactor<T | Service>,
    private readonly options: ClusterOptions,
  ) {
    this.node = options.node;
    this.runId = options.runId ?? randomBytes(4).toString("hex");
    this.producer = `${this.node}/${this.runId}`;
    this.blockMs = options.blockMs ?? 1000;
    this.readCount = options.readCount ?? 1000;
    this.inbox = inboxKey(this.node);
    this.report = new LinkReport(
      describeTarget(options.target),
      () => reactor.now(),
      options.log,
      () => {
        const at = [...this.rooms.values()].map(
          (r) => `the room's log is at ${r.epoch ? formatId(r.epoch, r.lastSeq) : "none"} (#${r.name})`,
        );
        return at.length ? `, ${at.join("; ")}` : "";
      },
    );
    const timing = { ...defaultLinkTiming, ...options.timing };
    const login = handshakeFor(options.target);
    // Named connections: `CLIENT LIST` tells an operator (and the tests) whose they are.
    const named = (role: string): Command[] => [...login, ["CLIENT", "SETNAME", `select-chat:${this.node}:${role}`], LOAD_SCRIPT];
    this.writer = new RedisLink(
      reactor,
      { target: options.target, handshake: named("append"), ...timing },
      {
        up: () => this.writerUp(),
        down: (reason, retryMs) => {
          this.sent = 0; // unanswered batches go again on the next connection
          this.linkChanged("append", reason, retryMs);
        },
      },
    );
    this.reader = new RedisLink(
      reactor,
      { target: options.target, handshake: named("read"), ...timing },
      {
        up: () => this.readerUp(),
        down: (reason, retryMs) => {
          this.synced = false;
          this.blocked = false;
          this.readerId = null;
          for (const room of this.rooms.values()) room.reading = false;
          this.linkChanged("read", reason, retryMs);
        },
      },
    );
  }

  /** Connect to Redis; the open rooms' entries (this server's own included) go to `sink`. */
  start(sink: RelaySink): void {
    this.sink = sink;
    this.options.log(
      `Cluster: node ${this.node} on ${describeTarget(this.options.target)} ` +
        `(a stream per room, retention ~${this.options.retention} entries each); chat is local until the link is up`,
    );
    this.report.started();
    this.writer.start();
    this.reader.start();
  }

  /** Whether both connections are up and the reader is in step with the streams. */
  get up(): boolean {
    return this.report.up;
  }

  /** The rooms open now (being read or about to be). */
  get openRooms(): number {
    return this.rooms.size;
  }

  openRoom(name: string): void {
    const existing = this.rooms.get(name);
    if (existing && !existing.closed) return;
    const keys = roomKeys(name);
    const room: RoomStream = existing ?? {
      name,
      keys,
      producerKey: `${keys.producer}${this.producer}`,
      epoch: null,
      lastSeq: 0,
      cursor: "0-0",
      reading: false,
      tickArgs: [],
      tickEntries: 0,
      tickBytes: 0,
      closed: false,
    };
    room.closed = false;
    this.rooms.set(name, room);
    // Opened while the reader reads: the writer syncs it, then wakes the reader to take it in.
    if (this.synced && this.writer.up) this.openOnWriter(room);
  }

  opening(name: string): boolean {
    const room = this.rooms.get(name);
    return room !== undefined && !room.reading && !room.closed && this.synced && this.writer.up;
  }

  closeRoom(name: string): void {
    const room = this.rooms.get(name);
    if (!room) return;
    // Entries appended but not yet answered still go; the next read leaves the room out.
    room.closed = true;
    room.reading = false;
    if (room.tickEntries === 0) this.rooms.delete(name);
  }

  append(name: string, entry: EntryContent): boolean {
    const room = this.rooms.get(name);
    if (this.closed || !room) return false;
    const ref = this.nextRef++;
    const up = this.report.up && room.reading;
    if (!up) {
      this.shownRefs.add(ref);
      this.report.queuedWhileDown++;
    }
    const values = entryArgs(entry);
    if (room.tickEntries === 0) this.tickRooms.push(room);
    room.tickArgs.push(String(ref), ...values);
    room.tickEntries++;
    for (const v of values) room.tickBytes += v.length + 16;
    if (room.tickBytes >= MAX_BATCH_BYTES || room.tickEntries >= MAX_BATCH_ENTRIES) this.finishBatch(room);
    return up;
  }

  sendPrivate(m: PrivateMessage): boolean {
    if (this.closed || !this.writer.up || !m.to.node) return false;
    const command = encodeCommand(["XADD", inboxKey(m.to.node), "MAXLEN", "~", String(INBOX_RETENTION), "*", ...privateArgs(m)]);
    this.stats.privateSent++;
    const sent = this.writer.send(command, (reply) => {
      if (reply instanceof RespError) this.options.log(`Cluster: a private message to ${m.to.node} was refused: ${reply.message}`);
    });
    // An inbox nobody writes to for a day goes (servers started without --node have a name of their own each run).
    if (sent) this.writer.send(encodeCommand(["EXPIRE", inboxKey(m.to.node), String(INBOX_TTL_S)]), () => {});
    return sent;
  }

  /** The tick is over: each room's entries become one append call, sent now if the writer is up. */
  endTick(): void {
    if (this.closed) return;
    if (this.tickRooms.length > 0) {
      for (const room of this.tickRooms) {
        if (room.tickEntries > 0) this.finishBatch(room);
        if (room.closed) this.rooms.delete(room.name);
      }
      this.tickRooms = [];
    }
    if (this.writer.up) this.sendBatches();
  }

  close(): void {
    if (this.closed) return;
    this.endTick();
    this.closed = true;
    this.writer.close();
    this.reader.close();
    const st = this.stats;
    // Sent (or not) but unanswered: Redis may still append them.
    const unconfirmed = this.batches.reduce((n, b) => n + b.entries, 0);
    this.options.log(
      `Cluster: appended ${st.appended} entries in ${st.appendCalls} calls, read ${st.read} (${st.remote} from other servers), ` +
        `missed ${st.missed}, not relayed ${st.notRelayed}${unconfirmed ? `, unconfirmed at close ${unconfirmed}` : ""}`,
    );
  }

  // ---- Writing ----

  private finishBatch(room: RoomStream): void {
    const command = appendCommand(room.keys, room.producerKey, newEpoch(), this.options.retention, this.node, this.runId, room.tickArgs);
    const batch: Batch = { room, command, entries: room.tickEntries };
    room.tickArgs = [];
    room.tickEntries = 0;
    room.tickBytes = 0;
    if (this.queuedBytes + command.length > this.options.queueBytes) {
      const why = this.writer.up ? "redis is not taking our entries fast enough" : `link down and ${this.options.queueBytes} bytes queued`;
      if (this.report.notRelayed === 0) this.options.log(`Cluster: ${why}: entries are not relayed to other servers for now`);
      this.report.notRelayed += batch.entries;
      this.stats.notRelayed += batch.entries;
      return;
    }
    this.batches.push(batch);
    this.queuedBytes += command.length;
  }

  private sendBatches(): void {
    while (this.sent < this.batches.length) {
      if (!this.writer.send(this.batches[this.sent]!.command, this.onAppended)) return;
      this.sent++;
    }
  }

  /** The reply to the oldest batch sent (Redis answers in order). */
  private readonly onAppended = (reply: RespValue): void => {
    const r = scriptReply(reply);
    if (!r) {
      // NOSCRIPT (someone ran SCRIPT FLUSH), OOM, a key of another type...:
      // reconnect (the handshake loads the script again) and resend, later
      // each time it happens again: OOM or a wrong key type may last.
      const why = reply instanceof RespError ? `redis refused the append: ${reply.message}` : "unexpected reply to the append";
      this.writer.reconnect(why, backoffMs(this.refusals++, 100, MAX_REFUSAL_RETRY_MS));
      return;
    }
    this.refusals = 0;
    const batch = this.batches.shift()!;
    this.sent--;
    this.queuedBytes -= batch.command.length;
    this.stats.appendCalls++;
    this.stats.appended += r.third;
    // The stream started over while the reader was blocked on the old one
    // (FLUSHALL under a live link): make the reader sync again.
    const room = batch.room;
    if (room.reading && room.epoch !== null && r.epoch !== room.epoch) this.reader.reconnect(`the log of #${room.name} started over`);
  };

  private writerUp(): void {
    this.sendBatches();
    // Rooms opened while the writer was away, with the reader reading the others.
    if (this.synced) for (const room of this.rooms.values()) if (!room.reading && !room.closed) this.openOnWriter(room);
    this.linkChanged("append");
  }

  /** A room opened while the reader reads: sync and load it on the writer, then wake the reader. */
  private openOnWriter(room: RoomStream): void {
    this.syncRoom(this.writer, room, () => {
      if (room.closed || !this.synced) return;
      room.reading = true;
      this.wakeReader();
      this.sink?.opened(room.name);
    });
  }

  /** The reader waits in Redis with the old set of streams: end that read, so the next one takes the new room in. */
  private wakeReader(): void {
    if (!this.blocked || this.readerId === null) return;
    this.writer.send(encodeCommand(["CLIENT", "UNBLOCK", String(this.readerId)]), () => {});
  }

  // ---- Reading ----

  /** The reader is connected: learn its id and where each open room's log is, then read on. */
  private readerUp(): void {
    this.reader.send(encodeCommand(["CLIENT", "ID"]), (reply) => {
      this.readerId = typeof reply === "number" ? reply : null;
    });
    this.reader.send(encodeCommand(["XREVRANGE", this.inbox, "+", "-", "COUNT", "1"]), (reply) => {
      if (this.inboxCursor !== null) return;
      const newest = streamEntries(reply, false)?.[0];
      const id = Array.isArray(newest) ? asText(newest[0]!) : null;
      this.inboxCursor = id ?? "0-0";
    });
    const rooms = [...this.rooms.values()].filter((r) => !r.closed);
    let waiting = rooms.length;
    const done = () => {
      if (--waiting > 0) return;
      this.synced = true;
      for (const room of rooms) {
        if (room.closed) continue;
        room.reading = true;
        this.sink?.opened(room.name);
      }
      // Rooms opened while these were syncing: the writer takes them in.
      if (this.writer.up) for (const room of this.rooms.values()) if (!room.reading && !room.closed) this.openOnWriter(room);
      this.linkChanged("read");
      this.readNext();
    };
    if (rooms.length === 0) {
      waiting = 1;
      done();
      return;
    }
    for (const room of rooms) this.syncRoom(this.reader, room, done);
  }

  /**
   * Find out where `room`'s log is (over `link`): its epoch, and on first
   * sight its history, then `done`. A new epoch (Redis lost its data)
   * resets the room's log in the sink.
   */
  private syncRoom(link: RedisLink<T>, room: RoomStream, done: () => void): void {
    link.send(syncCommand(room.keys, newEpoch(), room.epoch ?? "", room.lastSeq), (reply) => {
      const r = scriptReply(reply);
      if (!r) return this.refused(link, "the sync", reply);
      const { epoch, seq, third: start } = r;
      if (room.epoch === null) return this.loadHistory(link, room, epoch, seq, start, done);
      if (epoch !== room.epoch) {
        this.options.log(
          `Cluster: the room's log started over in Redis (was ${formatId(room.epoch, room.lastSeq)}, now epoch ${epoch} after ${start}): ` +
            `Redis lost its data; what was said meanwhile in #${room.name} is unknown`,
        );
        this.stats.resets++;
        room.epoch = epoch;
        room.lastSeq = start;
        room.cursor = `${start}-0`;
        this.sink?.reset(room.name, epoch, start);
      }
      done();
    });
  }

  /** A command on `link` got an error or a reply that makes no sense: reconnect, later each time. */
  private refused(link: RedisLink<T>, what: string, reply: RespValue): void {
    const why = reply instanceof RespError ? `redis refused ${what}: ${reply.message}` : `unexpected reply to ${what}`;
    link.reconnect(why, backoffMs(this.readRefusals++, 100, MAX_REFUSAL_RETRY_MS));
  }

  /** First sync of a room: the newest `load` entries of this epoch become its log's history (not shown as live). */
  private loadHistory(link: RedisLink<T>, room: RoomStream, epoch: string, seq: number, start: number, done: () => void): void {
    /** `kept`: this epoch's entries, oldest first; `lastId`: the newest id in the stream. */
    const adopt = (kept: StreamEntry[], lastId: string | null) => {
      room.epoch = epoch;
      room.lastSeq = kept.length > 0 ? kept[0]!.entry!.seq - 1 : seq;
      room.cursor = lastId ?? `${seq}-0`;
      this.sink?.reset(room.name, epoch, room.lastSeq);
      for (const se of kept) this.deliver(room, se.entry!, se.producer, se.ref, true);
      if (kept.length > 0) this.options.log(`Cluster: loaded ${kept.length} entries of the room's history (#${room.name})`);
      done();
    };
    if (this.options.load <= 0) return adopt([], null);
    const command = encodeCommand(["XREVRANGE", room.keys.log, "+", "-", "COUNT", String(this.options.load)]);
    link.send(command, (reply) => {
      const raw = streamEntries(reply, false);
      if (raw === null) return this.refused(link, "XREVRANGE", reply);
      const kept: StreamEntry[] = [];
      let lastId: string | null = null;
      for (const item of raw) {
        const se = decodeStreamEntry(item);
        if (!se) continue;
        lastId ??= se.id; // newest first
        // Entries of an earlier life of the log (ids up to `start`) are not this epoch's.
        if (se.entry && se.entry.seq > start) kept.push(se);
      }
      adopt(kept.reverse(), lastId);
    });
  }

  /** One XREAD over every room being read and the inbox. */
  private readNext(): void {
    const reading = [...this.rooms.values()].filter((r) => r.reading && !r.closed);
    const keys = reading.map((r) => r.keys.log);
    const ids = reading.map((r) => r.cursor);
    const command = encodeCommand([
      "XREAD",
      "COUNT",
      String(this.readCount),
      "BLOCK",
      String(this.blockMs),
      "STREAMS",
      ...keys,
      this.inbox,
      ...ids,
      this.inboxCursor ?? "$",
    ]);
    // Sent at once, not at the end of the tick: the read waits in Redis while this tick delivers what the last one brought.
    this.blocked = this.reader.send(command, this.onRead, true);
  }

  private readonly onRead = (reply: RespValue): void => {
    this.blocked = false;
    const streams = readReply(reply);
    if (streams === null) {
      this.refused(this.reader, "XREAD", reply);
      return;
    }
    this.readRefusals = 0;
    // The next read goes out first, from the newest id of each stream, so
    // that it is waiting in Redis while these entries are handed out.
    const rooms: [RoomStream, RespValue[]][] = [];
    let inbox: RespValue[] | null = null;
    for (const [key, items] of streams) {
      if (key === this.inbox) {
        inbox = items;
        const newest = lastIdOf(items);
        if (newest !== null) this.inboxCursor = newest;
        continue;
      }
      const room = this.roomOfKey(key);
      // This read named the stream before the room was closed (and maybe
      // opened again, not synced yet): what it has of the room goes nowhere.
      // A room opened again loads it as history, or reads it from there.
      if (!room?.reading) continue;
      rooms.push([room, items]);
      const newest = lastIdOf(items);
      if (newest !== null) room.cursor = newest;
    }
    if (this.reader.up && this.synced) this.readNext();
    if (inbox) this.readInbox(inbox);
    for (const [room, items] of rooms) {
      for (const item of items) {
        const se = decodeStreamEntry(item);
        if (!se) continue;
        if (!se.entry) {
          if (!this.warnedForeign)
            this.options.log(`Cluster: skipped stream entry ${se.id} of #${room.name}: not written by a chat server`);
          this.warnedForeign = true;
          continue;
        }
        this.deliver(room, se.entry, se.producer, se.ref, false);
      }
    }
  };

  private readInbox(items: RespValue[]): void {
    for (const item of items) {
      if (!Array.isArray(item) || item.length !== 2) continue;
      const m = decodePrivate(item[1]!);
      if (!m) continue;
      this.stats.privateReceived++;
      this.sink?.private(m);
    }
  }

  private roomOfKey(key: string): RoomStream | null {
    for (const room of this.rooms.values()) if (room.keys.log === key) return room;
    return null;
  }

  /** Hand one entry to the sink, after telling it about any entries missed before it. */
  private deliver(room: RoomStream, e: LogEntry, producer: string, ref: number, history: boolean): void {
    if (e.seq <= room.lastSeq) return;
    const gap = e.seq - room.lastSeq - 1;
    if (gap > 0) {
      this.stats.missed += gap;
      this.options.log(
        `Cluster: ${gap} entr${gap === 1 ? "y" : "ies"} (${formatId(room.epoch!, room.lastSeq + 1)} to ${formatId(room.epoch!, e.seq - 1)}) ` +
          `left the stream before this server read them (#${room.name}); raise --cluster-retention (now ~${this.options.retention})`,
      );
      this.sink?.missed(room.name, gap);
    }
    room.lastSeq = e.seq;
    const local = producer === this.producer;
    const shown = local ? this.shownRefs.delete(ref) || history : history;
    if (!local && originOf(e) === this.node && !history && !this.warnedTwin) {
      this.warnedTwin = true;
      this.options.log(`Cluster: another server also calls itself ${this.node}: give each server its own --node`);
    }
    if (!history) {
      this.stats.read++;
      if (!local) this.stats.remote++;
    }
    this.sink?.entry(room.name, e, local, shown);
  }

  // ---- The link, for the log ----

  private linkChanged(which: string, reason?: string, retryMs?: number): void {
    if (this.closed) return;
    this.report.changed(this.writer.up && this.reader.up && this.synced, which, reason, retryMs);
  }
}

/** The id of the last of a stream's entries in a reply, or null. */
function lastIdOf(items: RespValue[]): string | null {
  const last = items[items.length - 1];
  return Array.isArray(last) && last.length === 2 ? asText(last[0]!) : null;
}

/** An XREAD reply as `[key, entries]` per stream; [] for a nil reply (a timeout, or CLIENT UNBLOCK); null for anything else. */
function readReply(reply: RespValue): [string, RespValue[]][] | null {
  if (reply === null) return [];
  if (!Array.isArray(reply)) return null;
  const out: [string, RespValue[]][] = [];
  for (const stream of reply) {
    if (!Array.isArray(stream) || stream.length !== 2 || !Array.isArray(stream[1])) return null;
    const key = asText(stream[0]!);
    if (key === null) return null;
    out.push([key, stream[1]]);
  }
  return out;
}

/** AUTH and SELECT, as the URL asks; sent first on every connection. */
function handshakeFor(t: RedisTarget): Command[] {
  const steps: Command[] = [];
  if (t.password !== null) steps.push(t.username ? ["AUTH", t.username, t.password] : ["AUTH", t.password]);
  if (t.db !== 0) steps.push(["SELECT", String(t.db)]);
  return steps;
}
