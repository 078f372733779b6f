/**
 * The room's log: every line and notice the room broadcasts, numbered.
 *
 * This module owns the log. The server appends an entry for each broadcast
 * (a lone server numbers them itself), or, in a cluster, takes them as the
 * shared Redis Stream numbers them (lib/cluster/); a `HistoryStore` keeps
 * them across restarts (lib/server/history-sqlite.ts), flushed once per
 * tick from the server's before-sleep hook. `/history` and resume read
 * from here.
 *
 * An entry's id is `EPOCH:SEQ`. SEQ counts 1, 2, 3... with no gaps within
 * an epoch, so "what did I miss since SEQ" is a subtraction; EPOCH is
 * chosen when a log starts empty (a new database, a server started
 * without one, a Redis that lost its data), so an id from an earlier life
 * of the log is never taken for one of this life.
 */
import { formatId, type EntryContent, type LogEntry, newEpoch } from "../chat/entry.ts";
import { EMPTY_BYTES } from "../bytes.ts";

/** What a resume finds: the entries after the client's id, and what it cannot have. */
export interface Resume {
  readonly entries: LogEntry[];
  /** Entries after the client's id that are no longer kept. */
  readonly missed: number;
  /** The id is of another epoch: how much was missed cannot be told. */
  readonly reset: boolean;
}

/** How resumes went, for the metrics. */
export interface ResumeCounters {
  /** Resumes that got everything after the client's id. */
  complete: number;
  /** Resumes with a gap (entries no longer kept, or another epoch). */
  gaps: number;
  /** Entries those gaps left out (an epoch reset counts none: unknown). */
  missed: number;
}

/** What a store holds of one room's log. */
export interface StoredHistory {
  /** The log's epoch; null when the store has none for the room (a new file or room). */
  epoch: string | null;
  /** The newest entries within retention, oldest first. */
  entries: LogEntry[];
  /**
   * The last SEQ ever written in this epoch: the next entry is `lastSeq + 1`
   * even when no entry is within retention any more (all older than
   * `maxAgeMs`, or `capacity` 0), so an id is never given twice.
   */
  lastSeq: number;
}

/**
 * Keeps rooms' logs across restarts. A room is named by its canonical name
 * (`chat` for `#chat`: see lib/chat/rooms.ts).
 */
export interface HistoryStore {
  /** Where it keeps them, for the log (a file name). */
  readonly where: string;
  /** Entries older than this (ms) are dropped; null: kept by count only. */
  readonly maxAgeMs: number | null;
  /**
   * Open the store (once) and read what it holds of `room`: the epoch and
   * up to `capacity` newest entries, oldest first. Throws a
   * `HistoryStoreError` with a one-line message when it cannot be used.
   */
  load(room: string, capacity: number): StoredHistory;
  /** Keep a new epoch for `room` (its log started empty); its old entries go. */
  setEpoch(room: string, epoch: string): void;
  /**
   * Write one tick's entries of `room`, in one transaction. Never throws: a
   * failed write is logged and counted (`failures`), and chat goes on.
   */
  save(room: string, entries: readonly LogEntry[]): void;
  /** Write failures so far. */
  readonly failures: number;
  close(): void;
}

/** The store cannot be used (not a database, locked, newer schema...): one line for the user. */
export class HistoryStoreError extends Error {
  override readonly name = "HistoryStoreError";
}

/** Bytes of entries a log keeps at most by default, whatever their number (see `RoomLog`). */
export const DEFAULT_HISTORY_BYTES = 8 * 1024 * 1024;

/**
 * The newest `capacity` entries of the room's log, in a ring. A lone
 * server numbers entries with `append`; a cluster's relay hands them over
 * numbered with `insert`.
 *
 * Entries' bytes live in one byte ring (`arena`) of at most `maxBytes`,
 * written in order and wrapping round: keeping a line costs a copy into
 * memory allocated ahead, not an allocation per line (a relay handles
 * hundreds of thousands a second, and a garbage collector that lags behind
 * that many short-lived buffers shows as resident memory). The byte ring
 * starts small and doubles, up to `maxBytes`, only when the entries kept
 * and the tick's own would not fit otherwise: an idle room costs little,
 * and the collector, which counts the buffer as live memory and lets the
 * heap grow in proportion to what is live, is not told a quiet log holds
 * megabytes. The oldest entries go when either bound is reached. So an
 * entry's `text` is a view that the log reuses later: whoever keeps one
 * beyond the tick copies it. Within a tick (until `takeUnsaved`) the bytes
 * of the tick's entries are never reused, even those the ring has dropped.
 */
export class RoomLog {
  private ring: (LogEntry | undefined)[];
  /** Index in `ring` of the oldest entry. */
  private head = 0;
  private count = 0;
  private last = 0;
  private arena: Uint8Array | null = null;
  /** Where the next entry's bytes go in `arena`. */
  private writeAt = 0;
  /**
   * Bytes of `arena` behind `writeAt` written since `takeUnsaved` (a tail
   * skipped at a wrap included): the tick's, which the writer must not reach.
   */
  private tickBytes = 0;
  /** Entries not yet handed to the store (see `takeUnsaved`). */
  private unsaved: LogEntry[] = [];
  readonly resumes: ResumeCounters = { complete: 0, gaps: 0, missed: 0 };
  /**
   * Entries older than this (ms) are dropped too, as the store drops them
   * (`--history-age`): an entry past its age is not replayed, before a
   * restart or after. Null: kept by count and bytes only.
   */
  maxAgeMs: number | null = null;
  /** The wall clock that ages are measured on (entries' `time` is on it). */
  now: () => number = Date.now;

  /**
   * @param capacity entries kept (0: none; ids are still given)
   * @param epoch this life of the log (see `newEpoch`)
   * @param maxBytes bytes of entries kept at most (allocated as needed, from `FIRST_ARENA_BYTES`)
   */
  constructor(
    readonly capacity: number,
    public epoch: string = newEpoch(),
    readonly maxBytes = DEFAULT_HISTORY_BYTES,
  ) {
    this.ring = new Array(Math.min(capacity, FIRST_RING_SLOTS));
  }

  /** Entries kept now. */
  get size(): number {
    return this.count;
  }

  /** Bytes allocated for kept lines (the byte ring, which grows as needed up to `maxBytes`). */
  get bytesAllocated(): number {
    return this.arena?.length ?? 0;
  }

  /** The newest entry's SEQ (0: none yet in this epoch). */
  get lastSeq(): number {
    return this.last;
  }

  /** The oldest kept entry's SEQ; `lastSeq + 1` when none is kept. */
  get oldestSeq(): number {
    return this.last - this.count + 1;
  }

  /** The newest entry's id, or null when the epoch has none yet. */
  get lastId(): string | null {
    return this.last > 0 ? formatId(this.epoch, this.last) : null;
  }

  /** Number the entry next in this epoch and keep it (its text copied into the log's own bytes). */
  append(c: EntryContent): LogEntry {
    const entry: LogEntry = {
      seq: this.last + 1,
      time: c.time,
      kind: c.kind,
      sender: c.sender,
      text: this.copyIn(c.text),
      newName: c.newName,
    };
    this.keep(entry);
    return entry;
  }

  /**
   * Keep an entry numbered elsewhere (a cluster's stream, a store). Its
   * SEQ must be past `lastSeq`; a jump means entries were missed, and the
   * ring then holds no gap: what is older than the jump is dropped.
   */
  insert(entry: LogEntry): void {
    if (entry.seq <= this.last) return;
    if (entry.seq !== this.last + 1) this.clear(entry.seq - 1);
    this.keep({ ...entry, text: this.copyIn(entry.text) });
  }

  /** Start another epoch (`epoch`), empty, after `lastSeq` = `seq`. */
  reset(epoch: string, seq = 0): void {
    this.epoch = epoch;
    this.clear(seq);
  }

  /** Load entries a store kept (oldest first, consecutive), replacing what is here. */
  restore(epoch: string, entries: readonly LogEntry[]): void {
    this.epoch = epoch;
    this.clear(entries.length > 0 ? entries[0]!.seq - 1 : 0);
    for (const e of entries) this.insert(e);
    this.unsaved = [];
    this.tickBytes = 0;
  }

  /** The newest `n` entries, oldest first. */
  latest(n: number): LogEntry[] {
    this.expire(this.now());
    return this.range(Math.max(0, this.count - Math.max(0, n)), this.count);
  }

  /**
   * Everything after `epoch:seq`, as a client that saw that entry asks to
   * resume. Nothing is missed when the oldest kept entry is at most
   * `seq + 1`: a quiet client's id may have left the ring long ago while
   * nothing since has. Counted in `resumes`.
   */
  since(epoch: string, seq: number): Resume {
    this.expire(this.now());
    let result: Resume;
    if (epoch !== this.epoch || seq > this.last) {
      // Another life of the log (or an id from its future, which is the same).
      result = { entries: this.latest(this.count), missed: 0, reset: true };
    } else {
      const from = Math.max(seq + 1, this.oldestSeq);
      result = { entries: this.range(from - this.oldestSeq, this.count), missed: from - (seq + 1), reset: false };
    }
    if (result.reset || result.missed > 0) {
      this.resumes.gaps++;
      this.resumes.missed += result.missed;
    } else this.resumes.complete++;
    return result;
  }

  /** Entries appended or inserted since the last call, for the store (their texts are views: see the class). */
  takeUnsaved(): LogEntry[] {
    // The tick is over: its bytes may be reused.
    this.tickBytes = 0;
    if (this.unsaved.length === 0) return NONE;
    const out = this.unsaved;
    this.unsaved = [];
    return out;
  }

  /**
   * `bytes` copied to the byte ring (see `placeFor`). A text too big for a
   * quarter of `maxBytes`, or one that finds the ring full of this tick's
   * entries, gets bytes of its own.
   */
  private copyIn(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (n === 0) return EMPTY_BYTES;
    if (this.capacity === 0 || n > this.maxBytes / 4) return bytes.slice();
    this.arena ??= new Uint8Array(Math.min(this.maxBytes, FIRST_ARENA_BYTES));
    let at = this.placeFor(n);
    while (at < 0) {
      if (this.arena.length < this.maxBytes) this.growArena();
      // At full size the oldest entries give way, but not the tick's.
      else if (this.count > 0 && this.keptSpan() > this.tickBytes) this.dropOldest();
      else return bytes.slice();
      at = this.placeFor(n);
    }
    const arena = this.arena;
    if (at < this.writeAt) this.tickBytes += arena.length - this.writeAt; // the tail skipped by the wrap
    arena.set(bytes, at);
    this.writeAt = at + n;
    this.tickBytes += n;
    return arena.subarray(at, at + n);
  }

  /**
   * Where `n` bytes go: at `writeAt`, or at 0 when they do not fit before
   * the end (the tail is skipped); -1 when that would reach bytes still in
   * use, the kept entries' or this tick's, which lie just behind `writeAt`.
   */
  private placeFor(n: number): number {
    const length = this.arena!.length;
    const free = length - Math.max(this.keptSpan(), this.tickBytes);
    if (this.writeAt + n <= length) return n <= free ? this.writeAt : -1;
    return length - this.writeAt + n <= free ? 0 : -1;
  }

  /** Bytes of the ring from the oldest kept entry in it up to `writeAt` (all of it when they meet). */
  private keptSpan(): number {
    const arena = this.arena!;
    for (let i = 0; i < this.count; i++) {
      const text = this.ring[(this.head + i) % this.ring.length]!.text;
      // Entries with bytes of their own are in nobody's way.
      if (text.buffer !== arena.buffer) continue;
      const span = this.writeAt - text.byteOffset;
      return span > 0 ? span : span + arena.length;
    }
    return 0;
  }

  /**
   * Double the byte ring (up to `maxBytes`), moving the kept entries' bytes
   * to its start, oldest first. Entries the ring no longer holds keep their
   * views of the old buffer, which is not written again: the tick's among
   * them stay as they were for the store.
   */
  private growArena(): void {
    const old = this.arena!;
    const next = new Uint8Array(Math.min(this.maxBytes, old.length * 2));
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head + i) % this.ring.length;
      const entry = this.ring[slot]!;
      if (entry.text.buffer !== old.buffer) continue;
      next.set(entry.text, at);
      this.ring[slot] = { ...entry, text: next.subarray(at, at + entry.text.length) };
      at += entry.text.length;
    }
    this.arena = next;
    this.writeAt = at;
    // Some of the moved bytes may be the tick's: all are kept from reuse until it ends.
    this.tickBytes = at;
  }

  /** With `maxAgeMs`: drop the entries older than it at `now` (the oldest are first). */
  private expire(now: number): void {
    if (this.maxAgeMs === null) return;
    const cutoff = now - this.maxAgeMs;
    while (this.count > 0 && this.ring[this.head]!.time < cutoff) this.dropOldest();
  }

  private dropOldest(): void {
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
  }

  private keep(entry: LogEntry): void {
    this.last = entry.seq;
    this.unsaved.push(entry);
    if (this.capacity === 0) return;
    if (this.count === this.capacity) this.dropOldest();
    // The new entry's time is the clock's: no clock read per entry.
    this.expire(entry.time);
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) % this.ring.length] = entry;
    this.count++;
  }

  /** The ring starts small and doubles up to `capacity`: an idle room costs little. */
  private grow(): void {
    const size = Math.min(this.capacity, this.ring.length * 2);
    const next: (LogEntry | undefined)[] = new Array(size);
    for (let i = 0; i < this.count; i++) next[i] = this.ring[(this.head + i) % this.ring.length];
    this.ring = next;
    this.head = 0;
  }

  private clear(lastSeq: number): void {
    this.ring = new Array(Math.min(this.capacity, FIRST_RING_SLOTS));
    this.head = 0;
    this.count = 0;
    this.last = lastSeq;
    // The byte ring goes on where it was: this tick's unsaved entries may still be in it.
  }

  /** Kept entries from position `from` to `to` (0: the oldest kept). */
  private range(from: number, to: number): LogEntry[] {
    const out: LogEntry[] = [];
    for (let i = from; i < to; i++) out.push(this.ring[(this.head + i) % this.ring.length]!);
    return out;
  }
}

const NONE: LogEntry[] = [];

/**
 * The byte ring's first size: a few dozen typical lines. Small, since
 * every room has a log: a thousand rooms with a line each hold 4 MiB, not
 * 64; a busy room doubles it a few times in its first seconds.
 */
const FIRST_ARENA_BYTES = 4 * 1024;
/** The entry ring's first size, likewise (it doubles up to the log's capacity). */
const FIRST_RING_SLOTS = 16;
