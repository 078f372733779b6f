// The rooms' logs in SQLite (lib/server/history-sqlite.ts), driven in a Bun
// child (bun:sqlite needs Bun; tap runs on Node): round trip, rooms kept
// apart, retention by count and by age, epochs, a really full "disk"
// (SQLite's page limit on the store's connection), the files it refuses,
// and the migration of a first-release file (spec/fixtures/history-v1.db).
// Through the server program: spec/e2e/history-db.test.ts.
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import t, { type Test } from "tap";
import { ByteBuilder } from "../../lib/bytes.ts";
import { EntryKind, type LogEntry } from "../../lib/chat/entry.ts";
import { MemberName } from "../../lib/chat/naming.ts";
import { parseDuration } from "../../lib/cli/duration.ts";
import { LineCodec } from "../../lib/codecs/line.ts";
import { bunPath, root } from "../support/bun.ts";
import type { EntryJson, SenderJson } from "../support/history-store-host.ts";

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

/** `text`'s UTF-8 bytes as the host carries them (latin1: one character per byte). */
const bytes = (text: string) => Buffer.from(text, "utf8").toString("latin1");
const bob: SenderJson = { nick: "bob", host: "127.0.0.1", port: 5555, node: "" };
const address = (port: number, host = "127.0.0.1", node = ""): SenderJson => ({ nick: null, host, port, node });

function entry(seq: number, text: string, fields: Partial<EntryJson> = {}): EntryJson {
  return { seq, time: T0 + seq, kind: EntryKind.LINE, sender: bob, text: bytes(text), newName: "", ...fields };
}

/** An entry from the host as the server has it. */
function logEntry(e: EntryJson): LogEntry {
  const s = e.sender;
  return {
    ...e,
    kind: e.kind as EntryKind,
    sender: s && new MemberName(s.nick, s.host, s.port, s.node),
    text: new Uint8Array(Buffer.from(e.text, "latin1")),
  };
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
    entry(1, "", { kind: EntryKind.JOIN, sender: address(5001) }),
    entry(2, "héllo — ünïcode ✓"),
    entry(3, "", { kind: EntryKind.NICK, sender: address(5001), newName: "bob" }),
    entry(4, "waves", { kind: EntryKind.ACTION, sender: { nick: "carol", host: "::1", port: 7, node: "node-a" } }),
    entry(5, "", { kind: EntryKind.QUIT, sender: address(7, "::1", "node-a") }),
    entry(6, "too slow", { kind: EntryKind.LEAVE }),
    entry(7, "", { kind: EntryKind.LEAVE, sender: address(5002) }),
    entry(8, "", { kind: EntryKind.LINE, text: "\xff\xfe\r\0 raw" }),
    entry(9, "Server is shutting down", { kind: EntryKind.NOTICE, sender: null }),
    entry(10, "", { kind: EntryKind.ENTER, sender: address(5003) }),
    entry(11, "rust", { kind: EntryKind.PART, sender: address(5003) }),
    entry(12, "", { kind: EntryKind.PART }),
  ];
  await a.do(t, { op: "save", entries: saved.slice(0, 1) });
  await a.do(t, { op: "save", entries: saved.slice(1) });
  const pragmas = await a.do(t, { op: "sql", sql: "SELECT * FROM pragma_journal_mode, pragma_synchronous, pragma_user_version" });
  t.same(pragmas.rows, [{ journal_mode: "wal", synchronous: 1, user_version: 2 }], "WAL, synchronous=NORMAL (1), schema version 2");
  const lockingMode = await a.do(t, { op: "sql", sql: "PRAGMA locking_mode" });
  t.same(lockingMode.rows, [{ locking_mode: "exclusive" }]);
  await a.do(t, { op: "close" });
  await a.end();

  const b = host(t);
  await b.do(t, { op: "open", file });
  const loaded = await b.do(t, { op: "load", capacity: 100 });
  t.equal(loaded.epoch, "abc123", "the epoch is kept");
  t.same(
    loaded.entries,
    saved,
    "every kind, every field: senders (null, IPv6, a node), the texts' bytes exactly (only the view, not the buffer around it)",
  );
  t.same(new Set(saved.map((e) => e.kind)), new Set(Object.values(EntryKind).filter((k) => typeof k === "number")), "every kind");
  t.equal(loaded.lastSeq, 12);
  const fewer = await b.do(t, { op: "load", capacity: 2 });
  t.same(seqs(fewer.entries), [11, 12], "load(N) gives the newest N, oldest first");
  t.same([fresh.failures, loaded.failures, loaded.log], [0, 0, []], "no failure, nothing logged");
});

t.test("rooms in one file are kept apart: epochs, entries, ids, retention, a new epoch", async (t) => {
  const file = path.join(tempDir(t), "h.db");
  const a = host(t);
  await a.do(t, { op: "open", file });
  await a.do(t, { op: "load", room: "chat", capacity: 100 });
  const none = await a.do(t, { op: "load", room: "rust", capacity: 100 });
  t.same([none.epoch, none.entries, none.lastSeq], [null, [], 0], "a room never written has no epoch");
  await a.do(t, { op: "setEpoch", room: "chat", epoch: "chat1" });
  await a.do(t, { op: "setEpoch", room: "rust", epoch: "rust1" });
  // The same ids in both rooms, in interleaved ticks.
  for (const [from, to] of [
    [1, 3],
    [4, 6],
  ]) {
    await a.do(t, { op: "save", room: "chat", entries: range(from!, to!).map((s) => entry(s, `chat ${s}`)) });
    await a.do(t, { op: "save", room: "rust", entries: range(from!, to! + 1).map((s) => entry(s, `rust ${s}`)) });
  }
  await a.do(t, { op: "close" });
  await a.end();

  const b = host(t);
  await b.do(t, { op: "open", file });
  const chat = await b.do(t, { op: "load", room: "chat", capacity: 100 });
  const rust = await b.do(t, { op: "load", room: "rust", capacity: 100 });
  t.same([chat.epoch, chat.lastSeq, chat.entries.map((e: EntryJson) => e.text)], ["chat1", 6, range(1, 6).map((s) => `chat ${s}`)]);
  t.same([rust.epoch, rust.lastSeq, rust.entries.map((e: EntryJson) => e.text)], ["rust1", 7, range(1, 7).map((s) => `rust ${s}`)]);
  // Retention by count trims each room's own rows.
  await b.do(t, { op: "load", room: "chat", capacity: 10 });
  for (const tick of ticks(7, 400, 7)) await b.do(t, { op: "save", room: "chat", entries: tick });
  const left = await b.do(t, { op: "sql", sql: "SELECT room, count(*) AS n, min(seq) AS lo FROM entries GROUP BY room ORDER BY room" });
  t.ok(left.rows[0].room === "chat" && left.rows[0].lo > 1, "the busy room's old rows are trimmed");
  t.same(left.rows[1], { room: "rust", n: 7, lo: 1 }, "the other room's rows are untouched");
  // A new epoch drops that room's entries only.
  await b.do(t, { op: "setEpoch", room: "rust", epoch: "rust2" });
  const rust2 = await b.do(t, { op: "load", room: "rust", capacity: 100 });
  t.same([rust2.epoch, rust2.entries, rust2.lastSeq], ["rust2", [], 0]);
  const chatAfter = await b.do(t, { op: "load", room: "chat", capacity: 10 });
  t.same(
    [chatAfter.epoch, chatAfter.lastSeq, seqs(chatAfter.entries)],
    ["chat1", 400, range(391, 400)],
    "the other room's epoch and entries stay",
  );
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
    loaded.entries.map((e: EntryJson) => e.text),
    range(16, 25).map(() => "small"),
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
  await refuse(t, newer, /: its schema is version 7, newer than this server knows \(2\)$/, "a newer schema");

  // Someone else's SQLite file.
  const other = path.join(dir, "other.db");
  const o = host(t);
  await o.do(t, { op: "open", file: other });
  await o.do(t, { op: "load", capacity: 10 });
  await o.do(t, { op: "sql", sql: "PRAGMA application_id = 42" });
  await o.do(t, { op: "close" });
  await refuse(t, other, /: it is another program's SQLite database$/, "another program's database");
});

const FIXTURE = path.join(root, "spec/fixtures/history-v1.db");
/** The previous release's `/history 50` answer on the fixture, line by line (latin1: bytes as they are). */
const FIXTURE_ANSWER = readFileSync(path.join(root, "spec/fixtures/history-v1.answer.txt")).toString("latin1").split("\n").slice(0, -1);

/** A copy of the schema-1 fixture in a temporary directory (the fixture itself is never opened). */
function fixtureCopy(t: Test): string {
  const file = path.join(tempDir(t), "v1.db");
  copyFileSync(FIXTURE, file);
  return file;
}

const alice = (): SenderJson => ({ nick: "alice", host: "", port: 0, node: "" });
const nick = (name: string): SenderJson => ({ nick: name, host: "", port: 0, node: "" });
/** What the first release wrote into the fixture, as data: [kind, sender, text, new name] for SEQ 1, 2, 3... */
const FIXTURE_ENTRIES: [EntryKind, SenderJson | null, string, string][] = [
  [EntryKind.JOIN, address(54278), "", ""],
  [EntryKind.JOIN, address(54286), "", ""],
  [EntryKind.LINE, address(54278), "hello from an address", ""],
  [EntryKind.NICK, address(54278), "", "alice"],
  [EntryKind.LINE, alice(), bytes("café — unicode line"), ""],
  [EntryKind.ACTION, alice(), "waves", ""],
  [EntryKind.ACTION, address(54286), "waves by address", ""],
  [EntryKind.LINE, address(54286), "/slash text", ""],
  [EntryKind.NICK, address(54286), "", "bob"],
  [EntryKind.LINE, nick("bob"), "bytes \xff\xfe raw", ""],
  [EntryKind.JOIN, address(54294), "", ""],
  [EntryKind.QUIT, address(54294), "", ""],
  [EntryKind.JOIN, address(54298), "", ""],
  [EntryKind.LEAVE, address(54298), "", ""],
  [EntryKind.JOIN, address(54304), "", ""],
  [EntryKind.NICK, address(54304), "", "carol"],
  [EntryKind.QUIT, nick("carol"), "", ""],
  [EntryKind.LINE, alice(), "last words", ""],
  [EntryKind.NOTICE, null, "Server is shutting down", ""],
  [EntryKind.LEAVE, alice(), "server shutting down", ""],
  [EntryKind.LEAVE, nick("bob"), "server shutting down", ""],
];

t.test("a first-release file (schema 1) is migrated in place: every entry, same ids and epoch, the same words", async (t) => {
  const file = fixtureCopy(t);
  const h = host(t);
  const before = await h.do(t, { op: "inspect", file, sql: "SELECT seq, time FROM entries ORDER BY seq" });
  const epochBefore = await h.do(t, { op: "inspect", file, sql: "SELECT value FROM meta WHERE key = 'epoch'" });
  const version = await h.do(t, { op: "inspect", file, sql: "PRAGMA user_version" });
  t.same([version.rows, before.rows.length], [[{ user_version: 1 }], 21], "the fixture: schema 1, 21 entries");
  await h.do(t, { op: "open", file });
  const loaded = await h.do(t, { op: "load", room: "chat", capacity: 50 });
  t.same(loaded.log, [`History: ${file} migrated from schema 1 to 2 (21 entries kept)`], "the migration is logged, once");
  t.equal(loaded.epoch, epochBefore.rows[0].value, "the epoch kept");
  t.equal(loaded.epoch, "mxdzsd98znmd");
  t.equal(loaded.lastSeq, 21);
  t.same(
    loaded.entries.map((e: EntryJson) => [e.seq, e.time]),
    before.rows.map((r: { seq: number; time: number }) => [r.seq, r.time]),
    "every entry, ids and times unchanged",
  );
  t.same(
    loaded.entries.map((e: EntryJson) => [e.kind, e.sender, e.text, e.newName]),
    FIXTURE_ENTRIES,
    "kinds (a `* ` line an action, `quits` a quit), senders, texts and new names as data",
  );
  const codec = new LineCodec("");
  const answer = Buffer.from(
    codec.history({
      room: "chat",
      epoch: loaded.epoch,
      entries: loaded.entries.map(logEntry),
      missed: 0,
      reset: false,
      since: null,
      last: `${loaded.epoch}:21`,
    }),
  )
    .toString("latin1")
    .split("\n");
  t.same(answer.slice(0, 21), FIXTURE_ANSWER, "worded by the line codec: the previous release's /history answer, byte for byte");
  t.same(answer.slice(21), ["[history end] 21 entries, last mxdzsd98znmd:21", ""]);
  for (const [i, e] of loaded.entries.entries()) {
    const out = new ByteBuilder();
    codec.entry(out, "chat", logEntry(e), `${loaded.epoch}:${e.seq}`, true);
    if (Buffer.from(out.take()).toString("latin1") !== `${FIXTURE_ANSWER[i]}\n`) t.fail(`entry ${e.seq} worded differently`);
  }
  const schema = await h.do(t, {
    op: "sql",
    sql: "SELECT (SELECT user_version FROM pragma_user_version) AS v, (SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)) AS tables, (SELECT count(*) FROM meta WHERE key = 'epoch') AS oldEpoch",
  });
  t.same(schema.rows, [{ v: 2, tables: "entries,meta,rooms", oldEpoch: 0 }], "schema 2: the epoch moved to the rooms table");
  const other = await h.do(t, { op: "load", room: "rust", capacity: 50 });
  t.same([other.epoch, other.entries], [null, []], "the entries went to the default room only");
  await h.do(t, { op: "save", room: "chat", entries: [entry(22, "after the migration")] });
  await h.do(t, { op: "close" });
  await h.end();

  const again = host(t);
  await again.do(t, { op: "open", file });
  const reloaded = await again.do(t, { op: "load", room: "chat", capacity: 50 });
  t.same(reloaded.log, [], "a second open does not migrate again");
  t.same(reloaded.entries.slice(0, 21), loaded.entries, "the migrated entries as they were");
  t.same([reloaded.epoch, reloaded.lastSeq, reloaded.entries[21].text], ["mxdzsd98znmd", 22, "after the migration"], "numbering went on");
});

t.test("the migration goes into the server's default room", async (t) => {
  const file = fixtureCopy(t);
  const h = host(t);
  await h.do(t, { op: "open", file, options: { defaultRoom: "lobby" } });
  const lobby = await h.do(t, { op: "load", room: "lobby", capacity: 50 });
  t.same([lobby.epoch, lobby.entries.length, lobby.lastSeq], ["mxdzsd98znmd", 21, 21]);
  const chat = await h.do(t, { op: "load", room: "chat", capacity: 50 });
  t.same([chat.epoch, chat.entries], [null, []]);
});

t.test("a migration that fails (no room in the file for the new tables) leaves the schema-1 file as it was", async (t) => {
  const file = fixtureCopy(t);
  const h = host(t);
  // SQLite keeps the page limit at least the file's size: not one page more than the fixture has.
  await h.do(t, { op: "open", file, options: { maxPages: 1 } });
  const r = await h.send({ op: "load", room: "chat", capacity: 50 });
  t.equal(r.error?.name, "HistoryStoreError");
  t.match(r.error?.message, /^cannot use history database .*v1\.db: database or disk is full \(SQLITE_FULL\)$/, "one line, the reason");
  t.same(r.log, [], "no migration logged");
  await h.end();
  const left = await host(t).do(t, {
    op: "inspect",
    file,
    sql: "SELECT (SELECT user_version FROM pragma_user_version) AS v, (SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema ORDER BY name)) AS tables, (SELECT count(*) FROM entries) AS n, (SELECT value FROM meta WHERE key = 'epoch') AS epoch",
  });
  t.same(left.rows, [{ v: 1, tables: "entries,meta", n: 21, epoch: "mxdzsd98znmd" }], "still schema 1, every entry, the epoch");
  const retry = host(t);
  await retry.do(t, { op: "open", file });
  const loaded = await retry.do(t, { op: "load", room: "chat", capacity: 50 });
  t.same([loaded.log.length, loaded.entries.length, loaded.epoch], [1, 21, "mxdzsd98znmd"], "with room to grow, it migrates");
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
