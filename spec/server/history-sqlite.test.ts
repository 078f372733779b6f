// The room's log in SQLite (lib/server/history-sqlite.ts), driven in a Bun
// child (bun:sqlite needs Bun; tap runs on Node): round trip, retention by
// count and by age, epochs, a really full "disk" (SQLite's page limit on
// the store's connection), and the files it refuses. Through the server
// program: spec/e2e/history-db.test.ts.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import t, { type Test } from "tap";
import { parseDuration } from "../../lib/cli/duration.ts";
import { bunPath, root } from "../support/bun.ts";
import type { EntryJson } from "../support/history-store-host.ts";

/** A reply of the host: what the op returned, and the store's counters and new log lines. */
interface Reply {
  ok: boolean;
  error?: { name: string; message: string };
  failures: number;
  unsaved: number;
  log: string[];
  // biome-ignore lint/suspicious/noExplicitAny: whatever the op returned, as the test reads it
  [field: string]: any;
}

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

/** spec/support/history-store-host.ts in a Bun child: one command, one reply. */
class StoreHost {
  private readonly child = spawn(bunPath, ["spec/support/history-store-host.ts"], { cwd: root, stdio: ["pipe", "pipe", "pipe"] });
  private readonly replies: Array<(reply: Reply) => void> = [];
  private stderr = "";

  constructor() {
    createInterface({ input: this.child.stdout! }).on("line", (line) => this.replies.shift()?.(JSON.parse(line)));
    this.child.stderr!.on("data", (d) => (this.stderr += d));
    this.child.on("exit", (code) => {
      for (const waiting of this.replies.splice(0)) {
        waiting({ ok: false, error: { name: "exit", message: `host exited ${code}: ${this.stderr}` }, failures: 0, unsaved: 0, log: [] });
      }
    });
  }

  send(cmd: Record<string, unknown>): Promise<Reply> {
    return new Promise((resolve) => {
      this.replies.push(resolve);
      this.child.stdin!.write(JSON.stringify(cmd) + "\n");
    });
  }

  /** Send, and fail the test with the host's error when the op threw. */
  async do(t: Test, cmd: Record<string, unknown>): Promise<Reply> {
    const reply = await this.send(cmd);
    if (!reply.ok) t.fail(`${cmd.op} threw`, { error: reply.error });
    return reply;
  }

  async end(): Promise<void> {
    this.child.stdin!.end();
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.on("exit", resolve));
  }
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(path.join(tmpdir(), "history-sqlite-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function host(t: Test): StoreHost {
  const h = new StoreHost();
  t.teardown(() => h.end());
  return h;
}

function entry(seq: number, text: string, fields: Partial<EntryJson> = {}): EntryJson {
  return { seq, time: T0 + seq, kind: 0, sender: "bob", line: `<bob> ${text}`, textStart: 6, newName: "", origin: "", ...fields };
}

/** Entries from..to (inclusive), in ticks of `perTick`. */
function ticks(from: number, to: number, perTick: number, fields: Partial<EntryJson> = {}): EntryJson[][] {
  const out: EntryJson[][] = [];
  for (let s = from; s <= to; s += perTick) {
    const tick: EntryJson[] = [];
    for (let q = s; q <= Math.min(to, s + perTick - 1); q++) tick.push(entry(q, `line ${q}`, fields));
    out.push(tick);
  }
  return out;
}

const seqs = (entries: EntryJson[]) => entries.map((e) => e.seq);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

t.test("a new file: no epoch; entries come back byte for byte, same ids, after close and reopen", async (t) => {
  const file = path.join(tempDir(t), "h.db");
  const a = host(t);
  await a.do(t, { op: "open", file });
  const fresh = await a.do(t, { op: "load", capacity: 100 });
  t.same([fresh.epoch, fresh.entries, fresh.lastSeq], [null, [], 0], "a new database has no epoch yet");
  await a.do(t, { op: "setEpoch", epoch: "abc123" });
  const saved = [
    entry(1, "", { kind: 1, sender: "127.0.0.1:5001", line: "Client (127.0.0.1, 5001) connected", textStart: 0 }),
    entry(2, "héllo — ünïcode ✓"),
    entry(3, "", { kind: 3, sender: "127.0.0.1:5001", line: "127.0.0.1:5001 is now known as bob", textStart: 0, newName: "bob" }),
    entry(4, "", { kind: 4, sender: "", line: "Server shutting down", textStart: 0, origin: "node-a" }),
  ];
  await a.do(t, { op: "save", entries: saved.slice(0, 1) });
  await a.do(t, { op: "save", entries: saved.slice(1) });
  const pragmas = await a.do(t, { op: "sql", sql: "SELECT * FROM pragma_journal_mode, pragma_synchronous, pragma_user_version" });
  t.same(pragmas.rows, [{ journal_mode: "wal", synchronous: 1, user_version: 1 }], "WAL, synchronous=NORMAL (1), schema version 1");
  const lockingMode = await a.do(t, { op: "sql", sql: "PRAGMA locking_mode" });
  t.same(lockingMode.rows, [{ locking_mode: "exclusive" }]);
  await a.do(t, { op: "close" });
  await a.end();

  const b = host(t);
  await b.do(t, { op: "open", file });
  const loaded = await b.do(t, { op: "load", capacity: 100 });
  t.equal(loaded.epoch, "abc123", "the epoch is kept");
  t.same(loaded.entries, saved, "every field, the line's bytes exactly (only the view, not the buffer around it)");
  t.equal(loaded.lastSeq, 4);
  const fewer = await b.do(t, { op: "load", capacity: 2 });
  t.same(seqs(fewer.entries), [3, 4], "load(N) gives the newest N, oldest first");
  t.same([fresh.failures, loaded.failures, loaded.log], [0, 0, []], "no failure, nothing logged");
});

t.test("retention by count: rows beyond the capacity are trimmed in steps, not per tick", async (t) => {
  const file = path.join(tempDir(t), "h.db");
  const a = host(t);
  await a.do(t, { op: "open", file });
  await a.do(t, { op: "load", capacity: 100 });
  await a.do(t, { op: "setEpoch", epoch: "e1" });
  const counts: number[] = [];
  for (const tick of ticks(1, 1000, 7)) {
    await a.do(t, { op: "save", entries: tick });
    const r = await a.do(t, { op: "sql", sql: "SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM entries" });
    counts.push(r.rows[0].n);
    t.equal(r.rows[0].hi - r.rows[0].lo + 1, r.rows[0].n, "the rows kept are consecutive");
  }
  t.ok(Math.max(...counts) <= 100 + 64 + 7, `never more than capacity + one step + a tick (max ${Math.max(...counts)})`);
  t.ok(counts.at(-1)! >= 100, "never fewer than the capacity");
  t.ok(new Set(counts.slice(20)).size > 2, "rows pile up between trims (the trim is not run every tick)");
  const loaded = await a.do(t, { op: "load", capacity: 100 });
  t.same(seqs(loaded.entries), range(901, 1000));
});

t.test("capacity 0: nothing is loaded, but the last SEQ is kept so an id is never given twice", async (t) => {
  const file = path.join(tempDir(t), "h.db");
  const a = host(t);
  await a.do(t, { op: "open", file });
  await a.do(t, { op: "load", capacity: 0 });
  await a.do(t, { op: "setEpoch", epoch: "e0" });
  for (const tick of ticks(1, 300, 10)) await a.do(t, { op: "save", entries: tick });
  await a.do(t, { op: "close" });
  await a.end();
  const b = host(t);
  await b.do(t, { op: "open", file });
  const loaded = await b.do(t, { op: "load", capacity: 0 });
  t.same([loaded.epoch, loaded.entries, loaded.lastSeq], ["e0", [], 300]);
});

t.test("retention by age: old rows go, the newest row stays to carry the last SEQ", async (t) => {
  const file = path.join(tempDir(t), "h.db");
  const hour = 3_600_000;
  const a = host(t);
  await a.do(t, { op: "open", file, options: { maxAgeMs: hour } });
  await a.do(t, { op: "load", capacity: 1000 });
  await a.do(t, { op: "setEpoch", epoch: "e2" });
  await a.do(t, { op: "clock", ms: T0 });
  await a.do(t, { op: "save", entries: range(1, 50).map((s) => entry(s, "old", { time: T0 })) });
  // Two hours on: the first save trims what is older than an hour.
  await a.do(t, { op: "clock", ms: T0 + 2 * hour });
  await a.do(t, { op: "save", entries: range(51, 60).map((s) => entry(s, "new", { time: T0 + 2 * hour })) });
  const left = await a.do(t, { op: "sql", sql: "SELECT min(seq) AS lo, max(seq) AS hi FROM entries" });
  t.same(left.rows, [{ lo: 51, hi: 60 }], "the rows older than an hour were deleted");
  const loaded = await a.do(t, { op: "load", capacity: 1000 });
  t.same(seqs(loaded.entries), range(51, 60));
  // Much later, nothing is fresh: load gives none, but remembers where the ids are.
  await a.do(t, { op: "clock", ms: T0 + 10 * hour });
  const stale = await a.do(t, { op: "load", capacity: 1000 });
  t.same([stale.entries, stale.lastSeq], [[], 60], "all too old: none loaded, lastSeq kept");
  await a.do(t, { op: "save", entries: [entry(61, "later", { time: T0 + 10 * hour })] });
  const rows = await a.do(t, { op: "sql", sql: "SELECT seq FROM entries" });
  t.same(rows.rows, [{ seq: 61 }], "the trim by age deleted everything older, the newest row stays");
});

t.test("a new epoch drops the entries of the old one", async (t) => {
  const file = path.join(tempDir(t), "h.db");
  const a = host(t);
  await a.do(t, { op: "open", file });
  await a.do(t, { op: "load", capacity: 10 });
  await a.do(t, { op: "setEpoch", epoch: "old" });
  await a.do(t, { op: "save", entries: ticks(1, 5, 5)[0] });
  await a.do(t, { op: "setEpoch", epoch: "new" });
  const loaded = await a.do(t, { op: "load", capacity: 10 });
  t.same([loaded.epoch, loaded.entries, loaded.lastSeq], ["new", [], 0]);
});

t.test("disk full (SQLite's page limit, for real): counted, logged once per episode, retried once a second, nothing thrown", async (t) => {
  const file = path.join(tempDir(t), "h.db");
  const a = host(t);
  // 40 pages of 4 KiB: room for a few 20 KB lines, not for ten.
  await a.do(t, { op: "open", file, options: { maxPages: 40 } });
  await a.do(t, { op: "load", capacity: 10 });
  await a.do(t, { op: "setEpoch", epoch: "full" });
  await a.do(t, { op: "clock", ms: T0 });
  const small = (from: number, to: number) => range(from, to).map((s) => entry(s, "small"));
  await a.do(t, { op: "save", entries: small(1, 3) });
  const first = await a.do(t, { op: "save", entries: range(4, 13).map((s) => entry(s, "y".repeat(20_000))) });
  t.equal(first.failures, 1, "the failed write is counted");
  t.equal(first.log.length, 1, "and logged");
  t.match(first.log[0], /^History: cannot save to .*h\.db: database or disk is full \(SQLITE_FULL\); chat goes on/);
  t.equal(first.unsaved, 10, "its entries wait");
  const quiet = await a.do(t, { op: "save", entries: small(14, 14) });
  t.same([quiet.failures, quiet.log, quiet.unsaved], [1, [], 11], "within the second: no new attempt");
  await a.do(t, { op: "clock", ms: T0 + 1000 });
  const again = await a.do(t, { op: "save", entries: small(15, 15) });
  t.same(
    [again.failures, again.log, again.unsaved],
    [2, [], 12],
    "a second later the retry fails too: counted, not logged again (same episode)",
  );
  const bounded = await a.do(t, { op: "save", entries: small(16, 24) });
  t.same([bounded.failures, bounded.unsaved], [2, 10], "what waits is bounded by retention: the newest 10 (the big ones are out)");
  await a.do(t, { op: "clock", ms: T0 + 2000 });
  const ok = await a.do(t, { op: "save", entries: small(25, 25) });
  t.same([ok.failures, ok.unsaved], [2, 0], "the next attempt fits: written");
  t.equal(ok.log.length, 1);
  t.match(ok.log[0], /^History: saving to .* again \(11 entries written now; 2 writes had failed, 11 older entries were never saved\)$/);
  const loaded = await a.do(t, { op: "load", capacity: 10 });
  t.same(seqs(loaded.entries), range(16, 25), "what waited was written: the newest 10, consecutive");
  t.same(
    loaded.entries.map((e: EntryJson) => e.line),
    range(16, 25).map(() => "<bob> small"),
    "byte for byte, though the server's buffers were reused meanwhile",
  );
  await a.do(t, { op: "clock", ms: T0 + 3000 });
  const second = await a.do(t, { op: "save", entries: range(26, 35).map((s) => entry(s, "y".repeat(20_000))) });
  t.same([second.failures, second.log.length], [3, 1], "a new episode, a new line");
});

t.test("files it refuses, each with one line", async (t) => {
  const dir = tempDir(t);
  const refuse = async (t: Test, file: string, pattern: RegExp, what: string) => {
    const h = host(t);
    await h.do(t, { op: "open", file });
    const r = await h.send({ op: "load", capacity: 10 });
    t.equal(r.error?.name, "HistoryStoreError", what);
    t.match(r.error?.message, pattern, what);
    t.notMatch(r.error?.message, /\n/, "one line");
    await h.end();
  };
  await refuse(
    t,
    path.join(dir, "nowhere", "h.db"),
    /^cannot use history database .*h\.db: directory .*nowhere does not exist$/,
    "missing directory",
  );
  await refuse(t, dir, /: it is a directory$/, "a directory");
  const junk = path.join(dir, "junk.db");
  writeFileSync(junk, Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 251)));
  await refuse(t, junk, /: it is not a SQLite database$/, "random bytes");

  // Ours, then marked as a schema from the future.
  const newer = path.join(dir, "newer.db");
  const h = host(t);
  await h.do(t, { op: "open", file: newer });
  await h.do(t, { op: "load", capacity: 10 });
  await h.do(t, { op: "sql", sql: "PRAGMA user_version = 7" });
  await h.do(t, { op: "close" });
  await refuse(t, newer, /: its schema is version 7, newer than this server knows \(1\)$/, "a newer schema");

  // Someone else's SQLite file.
  const other = path.join(dir, "other.db");
  const o = host(t);
  await o.do(t, { op: "open", file: other });
  await o.do(t, { op: "load", capacity: 10 });
  await o.do(t, { op: "sql", sql: "PRAGMA application_id = 42" });
  await o.do(t, { op: "close" });
  await refuse(t, other, /: it is another program's SQLite database$/, "another program's database");
});

t.test("a second process on the same file is refused while the first holds it, and may take it once it is closed", async (t) => {
  const file = path.join(tempDir(t), "h.db");
  const a = host(t);
  await a.do(t, { op: "open", file });
  await a.do(t, { op: "load", capacity: 10 });
  await a.do(t, { op: "setEpoch", epoch: "held" });
  const b = host(t);
  await b.do(t, { op: "open", file });
  const refused = await b.send({ op: "load", capacity: 10 });
  t.match(refused.error?.message, /^cannot use history database .*h\.db: it is locked by another process \(another server using it\?\)$/);
  await a.do(t, { op: "close" });
  const c = host(t);
  await c.do(t, { op: "open", file });
  const taken = await c.do(t, { op: "load", capacity: 10 });
  t.equal(taken.epoch, "held");
});

t.test("throughput of save in ticks (printed, not asserted)", async (t) => {
  const file = path.join(tempDir(t), "h.db");
  const a = host(t);
  await a.do(t, { op: "open", file });
  await a.do(t, { op: "load", capacity: 1000 });
  await a.do(t, { op: "setEpoch", epoch: "fast" });
  const r = await a.do(t, { op: "flood", from: 1, ticks: 200, perTick: 500, size: 58 });
  t.equal(r.failures, 0);
  t.comment(`100,000 entries of 64 bytes in ticks of 500: ${r.ms.toFixed(0)} ms (${Math.round(100_000 / (r.ms / 1000))} entries/s)`);
  const loaded = await a.do(t, { op: "load", capacity: 1000 });
  t.same(seqs(loaded.entries), range(99_001, 100_000));
});

t.test("--history-age durations", async (t) => {
  t.equal(parseDuration("7d", "--history-age"), 7 * 86_400_000);
  t.equal(parseDuration("12h", "--history-age"), 12 * 3_600_000);
  t.equal(parseDuration("30m", "--history-age"), 1_800_000);
  t.equal(parseDuration("45s", "--history-age"), 45_000);
  t.equal(parseDuration("2w", "--history-age"), 14 * 86_400_000);
  t.throws(() => parseDuration("7", "--history-age"), { name: "UsageError", message: /--history-age needs a duration such as 7d/ });
  t.throws(() => parseDuration("1.5h", "--history-age"), { name: "UsageError" });
  t.throws(() => parseDuration("0d", "--history-age"), { name: "UsageError", message: /longer than 0/ });
  t.throws(() => parseDuration(undefined, "--history-age"), { message: "--history-age needs a value" });
});
