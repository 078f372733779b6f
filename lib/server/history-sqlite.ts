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
 */
import { Database, type SQLQueryBindings, type Statement } from "bun:sqlite";
import { accessSync, constants, statSync } from "node:fs";
import * as path from "node:path";
import { ENTRY_KIND_NAMES, entryKindByName, type LogEntry } from "../chat/entry.ts";
import { type HistoryStore, HistoryStoreError } from "./history.ts";

/** The schema this code writes (`PRAGMA user_version`); a newer file is refused. */
export const SCHEMA_VERSION = 1;
/** `PRAGMA application_id` of our files ("scht"): another program's SQLite file is refused. */
export const APPLICATION_ID = 0x73636874;
/** While writes fail, try again at most this often (ms). */
const RETRY_MS = 1000;

const SCHEMA = [
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
  // seq is the rowid: appends go to the end of the b-tree, trims cut its start.
  `CREATE TABLE entries (
    seq INTEGER PRIMARY KEY,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    sender TEXT NOT NULL,
    line BLOB NOT NULL,
    text_start INTEGER NOT NULL,
    new_name TEXT NOT NULL,
    origin TEXT NOT NULL
  )`,
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
}

/** What `load` finds. */
export interface StoredHistory {
  /** The log's epoch; null for a new database. */
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

interface Row {
  seq: number;
  time: number;
  kind: string;
  sender: string;
  line: Uint8Array;
  text_start: number;
  new_name: string;
  origin: string;
}

/** The room's log in a SQLite file; see the top of this file. */
export class SqliteHistoryStore implements HistoryStore {
  private db: Database | null = null;
  private statements: ReturnType<typeof prepare> | null = null;
  /** Entries kept by count (at least 1: the newest row carries `lastSeq`). */
  private keep = 1;
  /** Rows below this SEQ are gone (count trimming is done in steps from here). */
  private trimmedBelow = 1;
  /** When the next trim by age is due. */
  private nextAgeTrim = 0;
  /** Entries not committed yet (more than one tick's while writes fail). */
  private pending: LogEntry[] = [];
  /** In a failure episode: the last write failed. */
  private failing = false;
  private retryAt = 0;
  /** Entries dropped from `pending` in this failure episode (out of retention before they could be written). */
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

  /** Writes that failed (transactions rolled back), since start. */
  get failures(): number {
    return this.failedWrites;
  }

  /** Entries older than this (ms) are dropped (`maxAgeMs`); null: kept by count only. */
  get maxAgeMs(): number | null {
    return this.options.maxAgeMs ?? null;
  }

  /** Entries waiting to be written (while writes fail). */
  get unsaved(): number {
    return this.pending.length;
  }

  /**
   * Open the file (creating it), take its lock, and read the epoch and the
   * newest `capacity` entries within retention. Throws `HistoryStoreError`
   * with a one-line message when the file cannot be used.
   */
  load(capacity: number): StoredHistory {
    if (!this.db) this.open();
    this.keep = Math.max(1, capacity);
    const s = this.statements!;
    const epoch = s.epoch.get()?.value ?? null;
    const last = s.maxSeq.get()?.seq ?? 0;
    const first = s.minSeq.get()?.seq ?? last + 1;
    this.trimmedBelow = first;
    if (epoch === null) return { epoch: null, entries: [], lastSeq: 0 };
    let from = Math.max(first, last - capacity + 1);
    if (this.options.maxAgeMs !== undefined) from = Math.max(from, s.firstSince.get(this.now() - this.options.maxAgeMs)?.seq ?? last + 1);
    const entries: LogEntry[] = [];
    for (const row of s.rowsFrom.all(from)) {
      const kind = entryKindByName(row.kind);
      // Only a newer schema writes other kinds, and that is refused at open.
      if (kind === null) continue;
      entries.push({
        seq: row.seq,
        time: row.time,
        kind,
        sender: row.sender,
        line: row.line,
        textStart: row.text_start,
        newName: row.new_name,
        origin: row.origin,
      });
    }
    return { epoch, entries, lastSeq: last };
  }

  /** Start a new epoch: the entries of the previous one go (their ids would be reused). */
  setEpoch(epoch: string): void {
    const s = this.statements;
    if (!s) throw new HistoryStoreError(`history database ${this.file} is not open`);
    try {
      s.begin.run();
      s.deleteAll.run();
      s.setEpoch.run(epoch);
      s.commit.run();
    } catch (err) {
      this.rollback();
      throw new HistoryStoreError(`cannot use history database ${this.file}: ${describe(err)}`);
    }
    this.trimmedBelow = 1;
    this.pending = [];
  }

  /**
   * Write one tick's entries (SEQ increasing, after what was saved) in one
   * transaction, trimming what is out of retention. Never throws. The
   * entries' lines are views valid only during the call (see `RoomLog`):
   * written at once they are not copied; entries that must wait (writes
   * failing) are.
   */
  save(entries: readonly LogEntry[]): void {
    if (!this.statements) return;
    const now = this.now();
    if (this.failing && now < this.retryAt) return this.hold(entries);
    if (this.pending.length === 0) {
      if (entries.length > 0 && !this.write(entries, now)) this.hold(entries);
      return;
    }
    this.hold(entries);
    if (this.write(this.pending, now)) this.pending = [];
  }

  /** Write what waits (one last attempt), and close the file, releasing its lock. Never throws. */
  close(): void {
    if (!this.db) return;
    if (this.pending.length > 0 && this.write(this.pending, this.now())) this.pending = [];
    try {
      this.statements?.finalize();
      // In WAL mode the last connection checkpoints and removes the -wal file.
      this.db.close();
    } catch (err) {
      this.log(`History: closing ${this.file} failed: ${describe(err)}`);
    }
    this.db = null;
    this.statements = null;
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
      db.run("COMMIT");
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

  /** One transaction: `entries`, then the trims. False when it failed (logged and counted). */
  private write(entries: readonly LogEntry[], now: number): boolean {
    const s = this.statements!;
    const last = entries[entries.length - 1]!.seq;
    let trimmedBelow = this.trimmedBelow;
    let ageTrimmed = false;
    try {
      s.begin.run();
      for (const e of entries) {
        s.insert.run(e.seq, e.time, ENTRY_KIND_NAMES[e.kind] ?? "notice", e.sender, e.line, e.textStart, e.newName, e.origin);
      }
      // By count, in steps: a range delete on the rowid every `step` entries, not a scan per tick.
      const below = last - this.keep + 1;
      if (below - trimmedBelow >= trimStep(this.keep)) {
        s.deleteBelow.run(below);
        trimmedBelow = below;
      }
      if (this.options.maxAgeMs !== undefined && now >= this.nextAgeTrim) {
        // Walks from the oldest row to the first fresh one: costs what it deletes. The newest row stays (it carries lastSeq).
        const fresh = Math.min(s.firstSince.get(now - this.options.maxAgeMs)?.seq ?? last, last);
        if (fresh > trimmedBelow) {
          s.deleteBelow.run(fresh);
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
    this.trimmedBelow = trimmedBelow;
    if (ageTrimmed) this.nextAgeTrim = now + ageTrimPeriod(this.options.maxAgeMs!);
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

  /** Entries that must wait for a later write: kept with lines of their own (the log reuses its bytes). */
  private hold(entries: readonly LogEntry[]): void {
    // Only the newest `keep` can ever be written (see `boundPending`): the rest are not copied.
    const skip = Math.max(0, entries.length - 2 * this.keep);
    if (skip > 0 && this.failing) this.dropped += skip;
    for (let i = skip; i < entries.length; i++) {
      const e = entries[i]!;
      this.pending.push({ ...e, line: e.line.slice() });
    }
    this.boundPending();
  }

  private failed(err: unknown, now: number): void {
    this.failedWrites++;
    this.failuresInEpisode++;
    this.retryAt = now + RETRY_MS;
    if (!this.failing) {
      this.failing = true;
      this.log(`History: cannot save to ${this.file}: ${describe(err)}; chat goes on, new entries wait in memory (retrying every second)`);
    }
  }

  /**
   * Keep only the newest entries retention keeps: older ones could never
   * be loaded (while writes fail they pile up here; counted as dropped).
   */
  private boundPending(): void {
    // Cut when twice over, so the copy is paid once per `keep` entries, not every tick.
    if (this.pending.length <= 2 * this.keep) return;
    const cut = this.pending.length - this.keep;
    if (this.failing) this.dropped += cut;
    this.pending = this.pending.slice(cut);
  }

  private rollback(): void {
    try {
      if (this.db?.inTransaction) this.statements!.rollback.run();
    } catch {
      // SQLite rolls back by itself after the errors that leave no transaction to roll back.
    }
  }
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
    epoch: p<{ value: string }>("SELECT value FROM meta WHERE key = 'epoch'"),
    setEpoch: p<unknown, [string]>("INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', ?)"),
    deleteAll: p("DELETE FROM entries"),
    // OR REPLACE: a retry after a failure the caller could not see must not fail on its own rows.
    insert: p<unknown, [number, number, string, string, Uint8Array, number, string, string]>(
      "INSERT OR REPLACE INTO entries (seq, time, kind, sender, line, text_start, new_name, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    ),
    deleteBelow: p<unknown, [number]>("DELETE FROM entries WHERE seq < ?"),
    maxSeq: p<{ seq: number | null }>("SELECT max(seq) AS seq FROM entries"),
    minSeq: p<{ seq: number | null }>("SELECT min(seq) AS seq FROM entries"),
    firstSince: p<{ seq: number }, [number]>("SELECT seq FROM entries WHERE time >= ? ORDER BY seq LIMIT 1"),
    rowsFrom: p<Row, [number]>("SELECT * FROM entries WHERE seq >= ? ORDER BY seq"),
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

/** A SQLite error as one line: its message and code. */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string };
  if (typeof e?.code === "string" && e.code.startsWith("SQLITE_")) return `${e.message} (${e.code})`;
  return String(e?.message ?? err);
}

/** Why the file could not be opened, in the user's words. */
function openProblem(file: string, err: unknown): string {
  const code = String((err as { code?: unknown })?.code ?? "");
  if (code === "SQLITE_NOTADB") return "it is not a SQLite database";
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"))
    return "it is locked by another process (another server using it?)";
  if (code.startsWith("SQLITE_READONLY")) return "it cannot be written (read-only file or directory)";
  if (code.startsWith("SQLITE_CORRUPT")) return `it is damaged (${describe(err)})`;
  if (code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_PERM")) return cannotOpen(file, err);
  return describe(err);
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
  return describe(err);
}
