/**
 * Several chat servers as one room, through a Redis Stream: the room's log.
 *
 * Every server appends its own entries (its clients' lines and notices) to
 * the room's stream and reads everyone's back, its own included, in the
 * stream's order. The stream's ids are the room's message ids (`SEQ-0`,
 * numbered by one Lua script, lib/cluster/script.ts), so every server
 * numbers and orders the room the same way, and history and resume work
 * alike on all of them.
 *
 * Two connections, because a blocking read holds its connection:
 *
 * - the writer sends, once per tick (`endTick()`, from the server's
 *   before-sleep hook), one EVALSHA carrying the tick's entries, pipelined:
 *   it does not wait for the previous tick's reply. Each entry carries a
 *   local ref (1, 2, 3... per server run); a batch stays queued until its
 *   reply, and after a lost connection everything unanswered is sent again:
 *   the script skips refs it has already appended, so nothing is appended
 *   twice and nothing is lost (within `queueBytes`).
 * - the reader loops on `XREAD BLOCK ... STREAMS log LAST_ID`, from the last
 *   id it has seen; after a lost link or a paused Redis it goes on from
 *   there. A jump in SEQ means entries were trimmed (MAXLEN ~ retention)
 *   before it read them: it logs how many and tells the sink. A new epoch
 *   (Redis lost its data) resets the sink's log.
 *
 * While the link is down, entries wait in the bounded queue; `append`
 * returns false for them (the server shows them at once, unnumbered) and
 * they come back through the sink marked `shown`. Past the bound they are
 * not relayed, and the log counts them.
 */
import { randomBytes } from "node:crypto";
import type { Reactor } from "../reactor/reactor.ts";
import type { Service } from "../reactor/service.ts";
import { type EntryContent, formatId, type LogEntry, newEpoch, originOf } from "../chat/entry.ts";
import type { Relay, RelaySink } from "../server/relay.ts";
import { encodeCommand, RespError, type RespValue } from "./resp.ts";
import { backoffMs, type Command, defaultLinkTiming, RedisLink } from "./link.ts";
import { appendCommand, LOAD_SCRIPT, scriptReply, syncCommand } from "./script.ts";
import { decodeStreamEntry, entryArgs, type StreamEntry, streamEntries } from "./stream-entry.ts";
import { describeTarget, type RedisTarget, type RoomKeys, roomKeys } from "./url.ts";

/** How a server joins a cluster. */
export interface ClusterOptions {
  target: RedisTarget;
  /** Room name: servers with the same Redis, database and room are one chat room. */
  room: string;
  /** This server's name in the cluster (`--node`): shown after the address of its address-named clients. */
  node: string;
  /** Entries the stream keeps (`MAXLEN ~`): how far behind a server may fall and still miss nothing. */
  retention: number;
  /** Entries of the stream loaded into the log when the server first connects (its history size). */
  load: number;
  /** Bytes of entries kept while the link is down or Redis is slow; beyond that they are not relayed. */
  queueBytes: number;
  log: (line: string) => void;
  /** Reconnect and heartbeat timing (defaults: lib/cluster/link.ts). */
  timing?: Partial<typeof defaultLinkTiming>;
  /** How long one XREAD blocks (below the heartbeat's dead time: a PING waits behind it). */
  blockMs?: number;
  /** Entries one XREAD returns at most. */
  readCount?: number;
  /** This run's id (tests); 8 random hex digits by default. */
  runId?: string;
}

/** A default `--node`: 6 random base-36 characters. */
export function randomNodeName(): string {
  return Array.from(randomBytes(6), (b) => (b % 36).toString(36)).join("");
}

/** While the link stays down, the first "still down" line comes this far into the outage, then at twice that... up to a minute. */
const FIRST_REPORT_MS = 1000;
const MINUTE_MS = 60_000;

/** The longest wait before appending again after Redis refused appends in a row. */
const MAX_REFUSAL_RETRY_MS = 30_000;

/** A tick's entries go out as one call; a larger burst is split at these sizes. */
const MAX_BATCH_BYTES = 256 * 1024;
const MAX_BATCH_ENTRIES = 1000;

/** What a cluster relay has done, for logs and tests. */
export interface ClusterStats {
  /** Append calls answered (one per tick with local entries, at most, plus resends). */
  appendCalls: number;
  /** Entries the script appended (resends it skipped not counted). */
  appended: number;
  /** Entries read back from the stream and handed to the sink (history loaded at start not counted). */
  read: number;
  /** Of those, entries from other servers. */
  remote: number;
  /** Entries trimmed from the stream before this server read them. */
  missed: number;
  /** Times the stream started over (a new epoch). */
  resets: number;
  /** Local entries not relayed because the queue was full. */
  notRelayed: number;
}

/** A finished append call and what it carries. */
interface Batch {
  command: Uint8Array;
  entries: number;
}

/**
 * Shares a server's room with the other servers of a cluster through a
 * Redis Stream. Its Redis links are `Service`s on the server's reactor,
 * whose other attachments (`T`) it never looks at.
 */
export class ClusterRelay<T> implements Relay {
  readonly node: string;
  readonly runId: string;
  readonly keys: RoomKeys;
  readonly stats: ClusterStats = { appendCalls: 0, appended: 0, read: 0, remote: 0, missed: 0, resets: 0, notRelayed: 0 };
  /** `NODE/RUN`: whose entries are this server's own. */
  private readonly producer: string;
  private readonly producerKey: string;
  private readonly writer: RedisLink<T>;
  private readonly reader: RedisLink<T>;
  private readonly blockMs: number;
  private readonly readCount: number;
  private sink: RelaySink | null = null;
  private closed = false;

  // Writing.
  private nextRef = 1;
  /** The open batch: per entry its ref and values. */
  private tickArgs: (string | Uint8Array)[] = [];
  private tickEntries = 0;
  private tickBytes = 0;
  /** Finished batches not yet answered, oldest first; the first `sent` went out on the current connection. */
  private batches: Batch[] = [];
  private sent = 0;
  private queuedBytes = 0;
  /** Refs of entries appended while the link was down (`append` said false), ascending; read from `shownHead`. */
  private shownRefs: number[] = [];
  private shownHead = 0;
  /** Append calls refused in a row (each reconnect waits longer). */
  private refusals = 0;
  /** Likewise for the reader's commands. */
  private readRefusals = 0;

  // Reading.
  /** The log's epoch as last synced; null before the first sync. */
  private epoch: string | null = null;
  private lastSeq = 0;
  /** Where the next XREAD starts (the last id read). */
  private cursor = "0-0";
  private synced = false;
  private warnedForeign = false;
  private warnedTwin = false;

  // The link as one thing, for the log.
  private linkUp = false;
  private everUp = false;
  private downSince: number;
  /** The outage's first failure was logged. */
  private reportedOutage = false;
  /** How long into the outage the next "still down" line is due (ms). */
  private nextReportMs = FIRST_REPORT_MS;
  /** Entries not relayed, and local entries queued, since the link last came up. */
  private dropped = 0;
  private queuedWhileDown = 0;

  constructor(
    private readonly reactor: Reactor<T | Service>,
    private readonly options: ClusterOptions,
  ) {
    this.node = options.node;
    this.runId = options.runId ?? randomBytes(4).toString("hex");
    this.producer = `${this.node}/${this.runId}`;
    this.keys = roomKeys(options.room);
    this.producerKey = `${this.keys.producer}${this.producer}`;
    this.blockMs = options.blockMs ?? 1000;
    this.readCount = options.readCount ?? 1000;
    this.downSince = reactor.now();
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
        up: () => this.sync(),
        down: (reason, retryMs) => {
          this.synced = false;
          this.linkChanged("read", reason, retryMs);
        },
      },
    );
  }

  /** Connect to Redis; the room's entries (this server's own included) go to `sink`. */
  start(sink: RelaySink): void {
    this.sink = sink;
    this.options.log(
      `Cluster: node ${this.node}, room "${this.options.room}" on ${describeTarget(this.options.target)} ` +
        `(stream ${this.keys.log}, retention ~${this.options.retention} entries); chat is local until the link is up`,
    );
    this.downSince = this.reactor.now();
    this.writer.start();
    this.reader.start();
  }

  /** Whether both connections are up and the reader is in step with the stream. */
  get up(): boolean {
    return this.linkUp;
  }

  append(entry: EntryContent): boolean {
    if (this.closed) return false;
    const ref = this.nextRef++;
    const up = this.linkUp;
    if (!up) {
      this.shownRefs.push(ref);
      this.queuedWhileDown++;
    }
    const values = entryArgs(entry);
    this.tickArgs.push(String(ref), ...values);
    this.tickEntries++;
    for (const v of values) this.tickBytes += v.length + 16;
    if (this.tickBytes >= MAX_BATCH_BYTES || this.tickEntries >= MAX_BATCH_ENTRIES) this.finishBatch();
    return up;
  }

  /** The tick is over: its entries become one append call, sent now if the writer is up. */
  endTick(): void {
    if (this.closed) return;
    if (this.tickEntries > 0) this.finishBatch();
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

  private finishBatch(): void {
    const command = appendCommand(this.keys, this.producerKey, newEpoch(), this.options.retention, this.node, this.runId, this.tickArgs);
    const batch: Batch = { command, entries: this.tickEntries };
    this.tickArgs = [];
    this.tickEntries = 0;
    this.tickBytes = 0;
    if (this.queuedBytes + command.length > this.options.queueBytes) {
      const why = this.writer.up ? "redis is not taking our entries fast enough" : `link down and ${this.options.queueBytes} bytes queued`;
      if (this.dropped === 0) this.options.log(`Cluster: ${why}: entries are not relayed to other servers for now`);
      this.dropped += batch.entries;
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
    if (this.synced && r.epoch !== this.epoch) this.reader.reconnect("the stream started over");
  };

  private writerUp(): void {
    this.sendBatches();
    this.linkChanged("append");
  }

  // ---- Reading ----

  /** The reader is connected: find out where the log is, then read on. */
  private sync(): void {
    this.reader.send(syncCommand(this.keys, newEpoch(), this.epoch ?? "", this.lastSeq), (reply) => {
      const r = scriptReply(reply);
      if (!r) return this.readRefused("the sync", reply);
      const { epoch, seq, third: start } = r;
      if (this.epoch === null) return this.loadHistory(epoch, seq, start);
      if (epoch !== this.epoch) {
        this.options.log(
          `Cluster: the room's log started over in Redis (was ${formatId(this.epoch, this.lastSeq)}, now epoch ${epoch} after ${start}): ` +
            "Redis lost its data; what was said meanwhile is unknown",
        );
        this.stats.resets++;
        this.epoch = epoch;
        this.lastSeq = start;
        this.cursor = `${start}-0`;
        this.sink?.reset(epoch, start);
      }
      this.inStep();
    });
  }

  /** The reader's command got an error or a reply that makes no sense: reconnect, later each time. */
  private readRefused(what: string, reply: RespValue): void {
    const why = reply instanceof RespError ? `redis refused ${what}: ${reply.message}` : `unexpected reply to ${what}`;
    this.reader.reconnect(why, backoffMs(this.readRefusals++, 100, MAX_REFUSAL_RETRY_MS));
  }

  /** First sync: the newest `load` entries of this epoch become the log's history (not shown as live). */
  private loadHistory(epoch: string, seq: number, start: number): void {
    /** `kept`: this epoch's entries, oldest first; `lastId`: the newest id in the stream. */
    const adopt = (kept: StreamEntry[], lastId: string | null) => {
      this.epoch = epoch;
      this.lastSeq = kept.length > 0 ? kept[0]!.entry!.seq - 1 : seq;
      this.cursor = lastId ?? `${seq}-0`;
      this.sink?.reset(epoch, this.lastSeq);
      for (const se of kept) this.deliver(se.entry!, se.producer, se.ref, true);
      if (kept.length > 0) this.options.log(`Cluster: loaded ${kept.length} entries of the room's history`);
      this.inStep();
    };
    if (this.options.load <= 0) return adopt([], null);
    const command = encodeCommand(["XREVRANGE", this.keys.log, "+", "-", "COUNT", String(this.options.load)]);
    this.reader.send(command, (reply) => {
      const raw = streamEntries(reply, false);
      if (raw === null) return this.readRefused("XREVRANGE", reply);
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

  /** Synced: the link is up as far as the reader goes; read on. */
  private inStep(): void {
    this.synced = true;
    this.linkChanged("read");
    this.readNext();
  }

  private readNext(): void {
    const command = encodeCommand([
      "XREAD",
      "COUNT",
      String(this.readCount),
      "BLOCK",
      String(this.blockMs),
      "STREAMS",
      this.keys.log,
      this.cursor,
    ]);
    this.reader.send(command, this.onRead);
  }

  private readonly onRead = (reply: RespValue): void => {
    const raw = streamEntries(reply, true);
    if (raw === null) {
      this.readRefused("XREAD", reply);
      return;
    }
    this.readRefusals = 0;
    for (const item of raw) {
      const se = decodeStreamEntry(item);
      if (!se) continue;
      this.cursor = se.id;
      if (!se.entry) {
        if (!this.warnedForeign) this.options.log(`Cluster: skipped stream entry ${se.id}: not written by a chat server`);
        this.warnedForeign = true;
        continue;
      }
      this.deliver(se.entry, se.producer, se.ref, false);
    }
    if (this.reader.up && this.synced) this.readNext();
  };

  /** Hand one entry to the sink, after telling it about any entries missed before it. */
  private deliver(e: LogEntry, producer: string, ref: number, history: boolean): void {
    if (e.seq <= this.lastSeq) return;
    const gap = e.seq - this.lastSeq - 1;
    if (gap > 0) {
      this.stats.missed += gap;
      this.options.log(
        `Cluster: ${gap} entr${gap === 1 ? "y" : "ies"} (${formatId(this.epoch!, this.lastSeq + 1)} to ${formatId(this.epoch!, e.seq - 1)}) ` +
          `left the stream before this server read them; raise --cluster-retention (now ~${this.options.retention})`,
      );
      this.sink?.missed(gap);
    }
    this.lastSeq = e.seq;
    const local = producer === this.producer;
    const shown = local ? this.takeShown(ref) || history : history;
    if (!local && originOf(e) === this.node && !history && !this.warnedTwin) {
      this.warnedTwin = true;
      this.options.log(`Cluster: another server also calls itself ${this.node}: give each server its own --node`);
    }
    if (!history) {
      this.stats.read++;
      if (!local) this.stats.remote++;
    }
    this.sink?.entry(e, local, shown);
  }

  /** Whether local entry `ref` was appended while the link was down (so the server showed it already). */
  private takeShown(ref: number): boolean {
    const refs = this.shownRefs;
    while (this.shownHead < refs.length && refs[this.shownHead]! < ref) this.shownHead++;
    const shown = this.shownHead < refs.length && refs[this.shownHead] === ref;
    if (shown) this.shownHead++;
    if (this.shownHead > 1024 && this.shownHead * 2 > refs.length) {
      this.shownRefs = refs.slice(this.shownHead);
      this.shownHead = 0;
    }
    return shown;
  }

  // ---- The link, for the log ----

  /**
   * Log the link as one thing: up when the writer is up and the reader in
   * step, down otherwise. While it stays down, say so again at 1 s, 2 s,
   * 4 s ... of the outage, then once a minute: a mistyped URL is not a
   * server silently alone, nor a log full of retries.
   */
  private linkChanged(which: string, reason?: string, retryMs?: number): void {
    if (this.closed) return;
    const up = this.writer.up && this.reader.up && this.synced;
    const now = this.reactor.now();
    if (up === this.linkUp) {
      if (up || reason === undefined) return;
      if (!this.reportedOutage) {
        // The first failure of an outage says why at once.
        this.reportedOutage = true;
        this.options.log(
          `Cluster link to ${describeTarget(this.options.target)} not up (${which}: ${reason}); local chat goes on, retrying with backoff`,
        );
        return;
      }
      if (now - this.downSince < this.nextReportMs) return;
      const secs = ((now - this.downSince) / 1000).toFixed(1);
      this.options.log(
        `Cluster link to ${describeTarget(this.options.target)} still down after ${secs} s (${which}: ${reason}); ` +
          `chat is local until it is up; retrying${retryMs !== undefined ? ` in ${retryMs} ms` : ""}`,
      );
      this.nextReportMs = this.nextReportMs < MINUTE_MS ? Math.min(2 * this.nextReportMs, MINUTE_MS) : this.nextReportMs + MINUTE_MS;
      return;
    }
    this.linkUp = up;
    if (up) return this.linkCameUp();
    this.downSince = now;
    this.nextReportMs = FIRST_REPORT_MS;
    this.reportedOutage = true;
    this.options.log(`Cluster link down (${which}: ${reason ?? "closed"}); local chat goes on, reconnecting in ${retryMs ?? 0} ms`);
  }

  private linkCameUp(): void {
    const now = this.reactor.now();
    if (!this.everUp) {
      this.options.log(
        `Cluster link up: ${describeTarget(this.options.target)}, the room's log is at ${formatId(this.epoch!, this.lastSeq)}`,
      );
    } else {
      const secs = ((now - this.downSince) / 1000).toFixed(1);
      const what =
        this.queuedWhileDown || this.dropped ? ` (entries queued meanwhile: ${this.queuedWhileDown}, not relayed: ${this.dropped})` : "";
      this.options.log(`Cluster link back after ${secs} s${what}`);
    }
    this.everUp = true;
    this.nextReportMs = FIRST_REPORT_MS;
    this.reportedOutage = false;
    this.queuedWhileDown = 0;
    this.dropped = 0;
  }
}

/** AUTH and SELECT, as the URL asks; sent first on every connection. */
function handshakeFor(t: RedisTarget): Command[] {
  const steps: Command[] = [];
  if (t.password !== null) steps.push(t.username ? ["AUTH", t.username, t.password] : ["AUTH", t.password]);
  if (t.db !== 0) steps.push(["SELECT", String(t.db)]);
  return steps;
}
