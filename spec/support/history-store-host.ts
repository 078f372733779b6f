/**
 * Runs under Bun (bun:sqlite): a `SqliteHistoryStore` driven by JSON
 * commands, one per stdin line, each answered by one JSON line on stdout,
 * for spec/server/history-sqlite.test.ts (tap runs on Node).
 *
 *   {"op":"open","file":F,"options":{"maxAgeMs":N,"maxPages":N}}
 *   {"op":"load","capacity":N}            -> {epoch, entries, lastSeq}
 *   {"op":"setEpoch","epoch":E}
 *   {"op":"save","entries":[{seq,time,kind,sender,line,textStart,newName,origin}]}
 *                                          (the lines' bytes are overwritten with "#" once save returns)
 *   {"op":"flood","from":SEQ,"ticks":N,"perTick":N,"size":BYTES}  (generated entries)
 *   {"op":"clock","ms":N}                   the store's wall clock
 *   {"op":"sql","sql":S}                   on the store's own connection (it holds the lock)
 *   {"op":"close"}
 *
 * Every reply carries `failures`, `unsaved` and the log lines since the last reply.
 */
import { createInterface } from "node:readline";
import type { EntryKind, LogEntry } from "../../lib/chat/entry.ts";
import { SqliteHistoryStore } from "../../lib/server/history-sqlite.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An entry as the spec writes it: `line` as text. */
export interface EntryJson {
  seq: number;
  time: number;
  kind: number;
  sender: string;
  line: string;
  textStart: number;
  newName: string;
  origin: string;
}

let store = null as SqliteHistoryStore | null;
let clock = Date.UTC(2026, 10, 25, 12, 0, 0);
let logged: string[] = [];

/** The line as a view into a larger buffer, as the server's are: only the view must be stored. */
function toEntry(e: EntryJson): LogEntry {
  const whole = encoder.encode(`[[${e.line}]]`);
  return { ...e, kind: e.kind as EntryKind, line: whole.subarray(2, whole.length - 2) };
}

function toJson(e: LogEntry): EntryJson {
  return { ...e, line: decoder.decode(e.line) };
}

function run(cmd: Record<string, unknown>): unknown {
  switch (cmd.op) {
    case "open":
      store = new SqliteHistoryStore(cmd.file as string, {
        ...(cmd.options as object),
        now: () => clock,
        log: (line) => logged.push(line),
      });
      return {};
    case "load": {
      const loaded = store!.load(cmd.capacity as number);
      return { ...loaded, entries: loaded.entries.map(toJson) };
    }
    case "setEpoch":
      store!.setEpoch(cmd.epoch as string);
      return {};
    case "save": {
      const batch = (cmd.entries as EntryJson[]).map(toEntry);
      store!.save(batch);
      // As the log reuses its bytes after the tick: what the store kept must be its own copy.
      for (const e of batch) new Uint8Array(e.line.buffer).fill(0x23);
      return {};
    }
    case "flood": {
      let seq = cmd.from as number;
      const text = "x".repeat(cmd.size as number);
      const started = performance.now();
      for (let tick = 0; tick < (cmd.ticks as number); tick++) {
        const batch: LogEntry[] = [];
        for (let i = 0; i < (cmd.perTick as number); i++, seq++) {
          batch.push(toEntry({ seq, time: clock, kind: 0, sender: "bob", line: `<bob> ${text}`, textStart: 6, newName: "", origin: "" }));
        }
        store!.save(batch);
      }
      return { next: seq, ms: performance.now() - started };
    }
    case "clock":
      clock = cmd.ms as number;
      return {};
    case "sql":
      // biome-ignore lint/suspicious/noExplicitAny: the spec looks at the store's own connection, which holds the file's lock
      return { rows: (store as any).db.query(cmd.sql as string).all() };
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
