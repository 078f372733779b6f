/**
 * The room's log on disk: `--history-db FILE`, a SQLite database
 * (bun:sqlite) in WAL mode, written once per tick in one transaction.
 *
 * Durability: `synchronous=NORMAL` in WAL mode, so a commit is not synced
 * on its own: what was committed survives the server's process crashing
 * or being killed, but an OS crash or power loss may lose the last
 * transactions (never the file: it stays consistent).
 *
 * The server holds the file with an exclusive lock for its whole life
 * (`locking_mode=EXCLUSIVE` and a first write at open), so a second server
 * on the same file is refused at start instead of interleaving ids.
 *
 * A write that fails (disk full, I/O error, the file made read-only) is
 * logged once per episode and counted in `failures`; the entries wait in
 * memory (the newest `capacity` of them: older ones are out of retention
 * anyway) and are written with the next attempt, at most one a second, so
 * a full disk costs the loop one failing transaction a second. Chat goes on.
 *
 * Schema 2 holds entries as data (kind, sender's nick, host, port and node,
 * text) for any number of rooms. A file of schema 1 (the first release:
 * one room, entries flattened into their TCP line) is migrated in place
 * when opened, in one transaction: every entry kept, ids unchanged, its
 * rows assigned to the server's default room.
 */
import { Database, type SQLQueryBindings, type Statement } from "bun:sqlite";
import { accessSync, constants, statSync } from "node:fs";
import * as path from "node:path";
import { describeError } from "../reactor/backend.ts";
import { ENTRY_KIND_NAMES, entryFromLegacy, entryKindByName, type LogEntry } from "../chat/entry.ts";
import { MemberName } from "../chat/naming.ts";
import { type HistoryStore, HistoryStoreError, type StoredHistory } from "./history.ts";

/** The schema this code writes (`PRAGMA user_version`); a newer file is refused, an older one migrated. */
export const SCHEMA_VERSION = 2;
/** `PRAGMA application_id` of our files ("scht"): another program's SQLite file is refused. */
export const APPLICATION_ID = 0x73636874;
/** While writes fail, try again at most this often (ms). */
const RETRY_MS = 1000;

/** Entries as data, per room; `(room, seq)` is the key, so a room's appends go to the end of its range. */
const ENTRIES_TABLE = `(
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    nick TEXT,
    host TEXT NOT NULL,
    port INTEGER NOT NULL,
    node TEXT NOT NULL,
    text BLOB NOT NULL,
    new_name TEXT NOT NULL,
    PRIMARY KEY (room, seq)
  ) WITHOUT ROWID`;

const SCHEMA = [
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
  "CREATE TABLE rooms (name TEXT PRIMARY KEY, epoch TEXT NOT NULL) WITHOUT ROWID",
  `CREATE TABLE entries ${ENTRIES_TABLE}`,
  `PRAGMA application_id = ${APPLICATION_ID}`,
  `PRAGMA user_version = ${SCHEMA_VERSION}`,
];

/** Settings of a `SqliteHistoryStore`. */
export interface SqliteHistoryOptions {
  /** Drop entries older than this (ms); absent: kept by count (`capacity`) only. */
  maxAgeMs?: number;
  /** Where write failures and recoveries are logged (one line each). */
  log?: (line: string) => void;
  /** Wall clock, ms since 1970 (entries' `time` is on it). */
  now?: () => number;
  /**
   * Largest size of the database in pages (`PRAGMA max_page_count`): past
   * it a write fails with SQLITE_FULL, as on a full disk. A hard size cap,
   * and how the specs fill the "disk" for real.
   */
  maxPages?: number;
  /** The room a file of schema 1 (one room) is migrated into. */
  defaultRoom?: string;
}

interface Row {
  seq: number;
  time: number;
  kind: string;
  nick: string | null;
  host: string;
  port: number;
  node: string;
  text: Uint8Array;
  new_name: string;
}

/** A row of schema 1. */
interface LegacyRow {
  seq: number;
  time: number;
  kind: string;
  sender: string;
  line: Uint8Array;
  text_start: number;
  new_name: string;
  origin: string;
}

/** What the store keeps per room it has written to. */
interface RoomState {
  /** Rows below this SEQ are gone (count trimming is done in steps from here). */
  trimmedBelow: number;
  /** When the next trim by age is due. */
  nextAgeTrim: number;
  /** Entries not committed yet (more than one tick's while writes fail). */
  pending: LogEntry[];
}

/** Rooms' logs in a SQLite file; see the top of this file. */
export class SqliteHistoryStore implements HistoryStore {
  private db: Database | null = null;
  private statements: ReturnType<typeof prepare> | null = null;
  /** Entries kept by count per room (at least 1: the newest row carries `lastSeq`). */
  private keep = 1;
  private readonly rooms = new Map<string, RoomState>();
  /** In a failure episode: the last write failed. */
  private failing = false;
  private retryAt = 0;
  /** Entries dropped from waiting in this failure episode (out of retention before they could be written). */
  private dropped = 0;
  private failuresInEpisode = 0;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private failedWrites = 0;

  constructor(
    readonly file: string,
    private readonly options: SqliteHistoryOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
  }

  get where(): string {
    return this.file;
  }

  /** Writes that failed (transactions rolled back), since start. */
  get failures(): number {
    return this.failedWrites;
  }

  /** Entries older than this (ms) are dropped (`maxAgeMs`); null: kept by count only. */
  get maxAgeMs(): number | null {
    return this.options.maxAgeMs ?? null;
  }

  /** Entries waiting to be written (while writes fail), in all rooms. */
  get unsaved(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.pending.length;
    return n;
  }

  /**
   * Open the file (creating it, migrating an older schema) and take its
   * lock on the first call; read `room`'s epoch and its newest `capacity`
   * entries within retention. Throws `HistoryStoreError` with a one-line
   * message when the file cannot be used.
   */
  load(room: string, capacity: number): StoredHistory {
    if (!this.db) this.open();
    this.keep = Math.max(1, capacity);
    const s = this.statements!;
    const epoch = s.epoch.get(room)?.epoch ?? null;
    const last = s.maxSeq.get(room)?.seq ?? 0;
    const first = s.minSeq.get(room)?.seq ?? last + 1;
    this.roomState(room).trimmedBelow = first;
    if (epoch === null) return { epoch: null, entries: [], lastSeq: 0 };
    let from = Math.max(first, last - capacity + 1);
    if (this.options.maxAgeMs !== undefined) {
      from = Math.max(from, s.firstSince.get(room, this.now() - this.options.maxAgeMs)?.seq ?? last + 1);
    }
    const entries: LogEntry[] = [];
    for (const row of s.rowsFrom.all(room, from)) {
      const entry = entryOfRow(row);
      // Only a newer schema writes other kinds, and that is refused at open.
      if (entry) entries.push(entry);
    }
    return { epoch, entries, lastSeq: last };
  }

  /** Start a new epoch for `room`: the entries of the previous one go (their ids would be reused). */
  setEpoch(room: string, epoch: string): void {
    const s = this.statements;
    if (!s) throw new HistoryStoreError(`history database ${this.file} is not open`);
    try {
      s.begin.run();
      s.deleteRoom.run(room);
      s.setEpoch.run(room, epoch);
      s.commit.run();
    } catch (err) {
      this.rollback();
      throw new HistoryStoreError(`cannot use history database ${this.file}: ${describeSqliteError(err)}`);
    }
    const state = this.roomState(room);
    state.trimmedBelow = 1;
    state.pending = [];
  }

  /**
   * Write one tick's entries of `room` (SEQ increasing, after what was
   * saved) in one transaction, trimming what is out of retention. Never
   * throws. The entries' texts are views valid only during the call (see
   * `RoomLog`): written at once they are not copied; entries that must
   * wait (writes failing) are.
   */
  save(room: string, entries: readonly LogEntry[]): void {
    if (!this.statements) return;
    const state = this.roomState(room);
    const now = this.now();
    if (this.failing && now < this.retryAt) return this.hold(state, entries);
    if (state.pending.length === 0) {
      if (entries.length > 0 && !this.write(room, state, entries, now)) this.hold(state, entries);
      return;
    }
    this.hold(state, entries);
    if (this.write(room, state, state.pending, now)) state.pending = [];
  }

  /** Write what waits (one last attempt), and close the file, releasing its lock. Never throws. */
  close(): void {
    if (!this.db) return;
    for (const [room, state] of this.rooms) {
      if (state.pending.length > 0 && this.write(room, state, state.pending, this.now())) state.pending = [];
    }
    try {
      this.statements?.finalize();
      // In WAL mode the last connection checkpoints and removes the -wal file.
      this.db.close();
    } catch (err) {
      this.log(`History: closing ${this.file} failed: ${describeSqliteError(err)}`);
    }
    this.db = null;
    this.statements = null;
  }

  private roomState(room: string): RoomState {
    let state = this.rooms.get(room);
    if (!state) this.rooms.set(room, (state = { trimmedBelow: 1, nextAgeTrim: 0, pending: [] }));
    return state;
  }

  private open(): void {
    let db: Database | null = null;
    try {
      db = new Database(this.file, { create: true, readwrite: true, strict: true });
      // Never wait for a lock: another holder is another server, refused at once.
      db.run("PRAGMA busy_timeout = 0");
      db.run("PRAGMA locking_mode = EXCLUSIVE");
      // The first read: NOTADB for a file that is not a database, BUSY when another server holds it.
      const version = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version;
      const appId = db.query<{ application_id: number }, []>("PRAGMA application_id").get()!.application_id;
      const objects = db.query<{ n: number }, []>("SELECT count(*) AS n FROM sqlite_schema").get()!.n;
      if (appId !== APPLICATION_ID && (appId !== 0 || version !== 0 || objects > 0)) {
        throw new HistoryStoreError(`cannot use history database ${this.file}: it is another program's SQLite database`);
      }
      if (version > SCHEMA_VERSION) {
        throw new HistoryStoreError(
          `cannot use history database ${this.file}: its schema is version ${version}, newer than this server knows (${SCHEMA_VERSION})`,
        );
      }
      db.run("PRAGMA journal_mode = WAL");
      db.run("PRAGMA synchronous = NORMAL");
      if (this.options.maxPages !== undefined) db.run(`PRAGMA max_page_count = ${Math.floor(this.options.maxPages)}`);
      // A write, even an empty one, takes the exclusive lock, held until close.
      db.run("BEGIN IMMEDIATE");
      if (version === 0) for (const sql of SCHEMA) db.run(sql);
      const migrated = version === 1 ? migrateFromSchema1(db, this.options.defaultRoom ?? "chat") : -1;
      db.run("COMMIT");
      if (migrated >= 0) this.log(`History: ${this.file} migrated from schema 1 to ${SCHEMA_VERSION} (${migrated} entries kept)`);
      this.statements = prepare(db);
      this.db = db;
    } catch (err) {
      try {
        db?.close();
      } catch {
        // Already failing: the first error is the one to tell.
      }
      if (err instanceof HistoryStoreError) throw err;
      throw new HistoryStoreError(`cannot use history database ${this.file}: ${openProblem(this.file, err)}`);
    }
  }

  /** One transaction: `entries` of `room`, then the trims. False when it failed (logged and counted). */
  private write(room: string, state: RoomState, entries: readonly LogEntry[], now: number): boolean {
    const s = this.statements!;
    const last = entries[entries.length - 1]!.seq;
    let trimmedBelow = state.trimmedBelow;
    let ageTrimmed = false;
    try {
      s.begin.run();
      for (const e of entries) s.insert.run(...rowOf(room, e));
      // By count, in steps: a range delete on the key every `step` entries, not a scan per tick.
      const below = last - this.keep + 1;
      if (below - trimmedBelow >= trimStep(this.keep)) {
        s.deleteBelow.run(room, below);
        trimmedBelow = below;
      }
      if (this.options.maxAgeMs !== undefined && now >= state.nextAgeTrim) {
        // Walks from the oldest row to the first fresh one: costs what it deletes. The newest row stays (it carries lastSeq).
        const fresh = Math.min(s.firstSince.get(room, now - this.options.maxAgeMs)?.seq ?? last, last);
        if (fresh > trimmedBelow) {
          s.deleteBelow.run(room, fresh);
          trimmedBelow = fresh;
        }
        ageTrimmed = true;
      }
      s.commit.run();
    } catch (err) {
      this.rollback();
      this.failed(err, now);
      return false;
    }
    state.trimmedBelow = trimmedBelow;
    if (ageTrimmed) state.nextAgeTrim = now + ageTrimPeriod(this.options.maxAgeMs!);
    if (this.failing) {
      this.failing = false;
      this.log(
        `History: saving to ${this.file} again (${entries.length} entries written now; ${this.failuresInEpisode} writes had failed` +
          `${this.dropped > 0 ? `, ${this.dropped} older entries were never saved` : ""})`,
      );
      this.failuresInEpisode = 0;
      this.dropped = 0;
    }
    return true;
  }

  /** Entries that must wait for a later write: kept with texts of their own (the log reuses its bytes). */
  private hold(state: RoomState, entries: readonly LogEntry[]): void {
    // Only the newest `keep` can ever be written (see `boundPending`): the rest are not copied.
    const skip = Math.max(0, entries.length - 2 * this.keep);
    if (skip > 0 && this.failing) this.dropped += skip;
    for (let i = skip; i < entries.length; i++) {
      const e = entries[i]!;
      state.pending.push({ ...e, text: e.text.slice() });
    }
    this.boundPending(state);
  }

  private failed(err: unknown, now: number): void {
    this.failedWrites++;
    this.failuresInEpisode++;
    this.retryAt = now + RETRY_MS;
    if (!this.failing) {
      this.failing = true;
      this.log(
        `History: cannot save to ${this.file}: ${describeSqliteError(err)}; chat goes on, new entries wait in memory (retrying every second)`,
      );
    }
  }

  /**
   * Keep only the newest entries retention keeps: older ones could never
   * be loaded (while writes fail they pile up here; counted as dropped).
   */
  private boundPending(state: RoomState): void {
    // Cut when twice over, so the copy is paid once per `keep` entries, not every tick.
    if (state.pending.length <= 2 * this.keep) return;
    const cut = state.pending.length - this.keep;
    if (this.failing) this.dropped += cut;
    state.pending = state.pending.slice(cut);
  }

  private rollback(): void {
    try {
      if (this.db?.inTransaction) this.statements!.rollback.run();
    } catch {
      // SQLite rolls back by itself after the errors that leave no transaction to roll back.
    }
  }
}

/** An entry's row, in the columns' order (room, seq, time, kind, nick, host, port, node, text, new_name). */
function rowOf(room: string, e: LogEntry): [string, number, number, string, string | null, string, number, string, Uint8Array, string] {
  const name = e.sender;
  return [
    room,
    e.seq,
    e.time,
    ENTRY_KIND_NAMES[e.kind] ?? "notice",
    name?.nick ?? null,
    name?.host ?? "",
    name?.port ?? 0,
    name?.node ?? "",
    e.text,
    e.newName,
  ];
}

/** A row as an entry; null for a kind this code does not know. */
function entryOfRow(row: Row): LogEntry | null {
  const kind = entryKindByName(row.kind);
  if (kind === null) return null;
  const sender = row.host === "" && row.nick === null ? null : new MemberName(row.nick, row.host, row.port, row.node);
  return { seq: row.seq, time: row.time, kind, sender, text: row.text, newName: row.new_name };
}

/**
 * Schema 1 to 2, inside the caller's transaction: every entry parsed back
 * from its TCP line into data (`entryFromLegacy`) under `room`, the epoch
 * moved to the rooms table. Returns the entries kept.
 */
function migrateFromSchema1(db: Database, room: string): number {
  db.run(`CREATE TABLE entries_v2 ${ENTRIES_TABLE}`);
  db.run("CREATE TABLE rooms (name TEXT PRIMARY KEY, epoch TEXT NOT NULL) WITHOUT ROWID");
  const insert = db.prepare<unknown, SQLQueryBindings[]>(
    "INSERT INTO entries_v2 (room, seq, time, kind, nick, host, port, node, text, new_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  );
  let kept = 0;
  for (const row of db.query<LegacyRow, []>("SELECT * FROM entries ORDER BY seq").iterate()) {
    const e = entryFromLegacy({ ...row, textStart: row.text_start, newName: row.new_name });
    if (!e) continue;
    insert.run(...rowOf(room, e));
    kept++;
  }
  insert.finalize();
  db.run("DROP TABLE entries");
  db.run("ALTER TABLE entries_v2 RENAME TO entries");
  db.run("INSERT INTO rooms (name, epoch) SELECT ?, value FROM meta WHERE key = 'epoch'", [room]);
  db.run("DELETE FROM meta WHERE key = 'epoch'");
  db.run(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  return kept;
}

/** The statements the store runs, prepared once. */
function prepare(db: Database) {
  const list: Statement[] = [];
  const p = <R, P extends SQLQueryBindings[] = []>(sql: string) => {
    const st = db.prepare<R, P>(sql);
    list.push(st as unknown as Statement);
    return st;
  };
  return {
    begin: p("BEGIN"),
    commit: p("COMMIT"),
    rollback: p("ROLLBACK"),
    epoch: p<{ epoch: string }, [string]>("SELECT epoch FROM rooms WHERE name = ?"),
    setEpoch: p<unknown, [string, string]>("INSERT OR REPLACE INTO rooms (name, epoch) VALUES (?, ?)"),
    deleteRoom: p<unknown, [string]>("DELETE FROM entries WHERE room = ?"),
    // OR REPLACE: a retry after a failure the caller could not see must not fail on its own rows.
    insert: p<unknown, [string, number, number, string, string | null, string, number, string, Uint8Array, string]>(
      "INSERT OR REPLACE INTO entries (room, seq, time, kind, nick, host, port, node, text, new_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    deleteBelow: p<unknown, [string, number]>("DELETE FROM entries WHERE room = ? AND seq < ?"),
    maxSeq: p<{ seq: number | null }, [string]>("SELECT max(seq) AS seq FROM entries WHERE room = ?"),
    minSeq: p<{ seq: number | null }, [string]>("SELECT min(seq) AS seq FROM entries WHERE room = ?"),
    firstSince: p<{ seq: number }, [string, number]>("SELECT seq FROM entries WHERE room = ? AND time >= ? ORDER BY seq LIMIT 1"),
    rowsFrom: p<Row, [string, number]>("SELECT * FROM entries WHERE room = ? AND seq >= ? ORDER BY seq"),
    finalize() {
      for (const st of list) st.finalize();
    },
  };
}

/** Rows past retention before a count trim: about 1/16 more than kept, at least 64. */
function trimStep(keep: number): number {
  return Math.max(64, Math.ceil(keep / 16));
}

/** How often to trim by age: a tenth of the age, between 1 s and 1 min. */
function ageTrimPeriod(maxAgeMs: number): number {
  return Math.min(60_000, Math.max(1000, maxAgeMs / 10));
}

/** A SQLite error as one line with its code (`describeError` words the others). */
function describeSqliteError(err: unknown): string {
  const e = err as { message?: string; code?: string };
  if (typeof e?.code === "string" && e.code.startsWith("SQLITE_")) return `${e.message} (${e.code})`;
  return describeError(err);
}

/** Why the file could not be opened, in the user's words. */
function openProblem(file: string, err: unknown): string {
  const code = String((err as { code?: unknown })?.code ?? "");
  if (code === "SQLITE_NOTADB") return "it is not a SQLite database";
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
    return "it is locked by another process (another server using it?)";
  if (code.startsWith("SQLITE_READONLY")) return "it cannot be written (read-only file or directory)";
  if (code.startsWith("SQLITE_CORRUPT")) return `it is damaged (${describeSqliteError(err)})`;
  if (code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_PERM")) return cannotOpen(file, err);
  return describeSqliteError(err);
}

/** SQLite says only "unable to open database file": find out which. */
function cannotOpen(file: string, err: unknown): string {
  const dir = path.dirname(path.resolve(file));
  try {
    if (statSync(file).isDirectory()) return "it is a directory";
    accessSync(file, constants.R_OK | constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") return "permission denied";
    if (code === "ENOTDIR") return `${dir} is not a directory`;
    if (code === "ENOENT") {
      try {
        if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
        accessSync(dir, constants.W_OK | constants.X_OK);
      } catch (d) {
        const dcode = (d as NodeJS.ErrnoException).code;
        if (dcode === "ENOENT") return `directory ${dir} does not exist`;
        if (dcode === "ENOTDIR") return `${dir} is not a directory`;
        return `permission denied (cannot create files in ${dir})`;
      }
    }
  }
  return describeSqliteError(err);
}
