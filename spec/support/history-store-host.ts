/**
 * Runs under Bun (bun:sqlite): a `SqliteHistoryStore` driven by JSON
 * commands, one per stdin line, each answered by one JSON line on stdout,
 * for spec/server/history-sqlite.test.ts (tap runs on Node).
 *
 *   {"op":"open","file":F,"options":{"maxAgeMs":N,"maxPages":N,"defaultRoom":R}}
 *   {"op":"load","room":R,"capacity":N}   -> {epoch, entries, lastSeq}
 *   {"op":"setEpoch","room":R,"epoch":E}
 *   {"op":"save","room":R,"entries":[EntryJson...]}
 *                                          (the texts' bytes are overwritten with "#" once save returns)
 *   {"op":"flood","room":R,"from":SEQ,"ticks":N,"perTick":N,"size":BYTES}  (generated entries)
 *   {"op":"clock","ms":N}                  the store's wall clock
 *   {"op":"sql","sql":S}                   on the store's own connection (it holds the lock)
 *   {"op":"inspect","file":F,"sql":S}      on a read-only connection of its own, opened and closed for it
 *   {"op":"close"}
 *
 * `room` is "chat" when absent. Every reply carries `failures`, `unsaved`
 * and the log lines since the last reply.
 */
import { Database } from "bun:sqlite";
import { createInterface } from "node:readline";
import type { EntryKind, LogEntry } from "../../lib/chat/entry.ts";
import { MemberName } from "../../lib/chat/naming.ts";
import { SqliteHistoryStore } from "../../lib/server/history-sqlite.ts";

/** A sender as the spec writes it. */
export interface SenderJson {
  nick: string | null;
  host: string;
  port: number;
  node: string;
}

/** An entry as the spec writes it: `text` is its bytes as a latin1 string (one character per byte). */
export interface EntryJson {
  seq: number;
  time: number;
  kind: number;
  sender: SenderJson | null;
  text: string;
  newName: string;
}

let store = null as SqliteHistoryStore | null;
let clock = Date.UTC(2026, 10, 25, 12, 0, 0);
let logged: string[] = [];

/** The text as a view into a larger buffer, as the server's are: only the view must be stored. */
function toEntry(e: EntryJson): LogEntry {
  const bytes = Buffer.from(e.text, "latin1");
  const whole = new Uint8Array(bytes.length + 4).fill(0x5b);
  whole.set(bytes, 2);
  const s = e.sender;
  return {
    seq: e.seq,
    time: e.time,
    kind: e.kind as EntryKind,
    sender: s && new MemberName(s.nick, s.host, s.port, s.node),
    text: whole.subarray(2, whole.length - 2),
    newName: e.newName,
  };
}

function toJson(e: LogEntry): EntryJson {
  const s = e.sender;
  return {
    seq: e.seq,
    time: e.time,
    kind: e.kind,
    sender: s && { nick: s.nick, host: s.host, port: s.port, node: s.node },
    text: Buffer.from(e.text).toString("latin1"),
    newName: e.newName,
  };
}

/** Rows as JSON can carry them: blobs as latin1 strings. */
function rowsJson(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  return rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : v])),
  );
}

function run(cmd: Record<string, unknown>): unknown {
  const room = (cmd.room as string | undefined) ?? "chat";
  switch (cmd.op) {
    case "open":
      store = new SqliteHistoryStore(cmd.file as string, {
        ...(cmd.options as object),
        now: () => clock,
        log: (line) => logged.push(line),
      });
      return {};
    case "load": {
      const loaded = store!.load(room, cmd.capacity as number);
      return { ...loaded, entries: loaded.entries.map(toJson) };
    }
    case "setEpoch":
      store!.setEpoch(room, cmd.epoch as string);
      return {};
    case "save": {
      const batch = (cmd.entries as EntryJson[]).map(toEntry);
      store!.save(room, batch);
      // As the log reuses its bytes after the tick: what the store kept must be its own copy.
      for (const e of batch) new Uint8Array(e.text.buffer).fill(0x23);
      return {};
    }
    case "flood": {
      let seq = cmd.from as number;
      const text = "x".repeat(cmd.size as number);
      const sender = { nick: "bob", host: "127.0.0.1", port: 5555, node: "" };
      const started = performance.now();
      for (let tick = 0; tick < (cmd.ticks as number); tick++) {
        const batch: LogEntry[] = [];
        for (let i = 0; i < (cmd.perTick as number); i++, seq++) {
          batch.push(toEntry({ seq, time: clock, kind: 0, sender, text, newName: "" }));
        }
        store!.save(room, batch);
      }
      return { next: seq, ms: performance.now() - started };
    }
    case "clock":
      clock = cmd.ms as number;
      return {};
    case "sql":
      // biome-ignore lint/suspicious/noExplicitAny: the spec looks at the store's own connection, which holds the file's lock
      return { rows: rowsJson((store as any).db.query(cmd.sql as string).all()) };
    case "inspect": {
      const db = new Database(cmd.file as string, { readonly: true });
      try {
        return { rows: rowsJson(db.query(cmd.sql as string).all() as Record<string, unknown>[]) };
      } finally {
        db.close();
      }
    }
    case "close":
      store!.close();
      return {};
    default:
      throw new Error(`unknown op ${String(cmd.op)}`);
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "") continue;
  let reply: Record<string, unknown>;
  try {
    reply = { ok: true, ...(run(JSON.parse(line)) as object) };
  } catch (err) {
    const e = err as Error;
    reply = { ok: false, error: { name: e.name, message: e.message } };
  }
  reply.failures = store?.failures ?? 0;
  reply.unsaved = store?.unsaved ?? 0;
  reply.log = logged;
  logged = [];
  process.stdout.write(JSON.stringify(reply) + "\n");
}
