/**
 * A room's log entry as a Redis Stream entry, both ways: the entry's
 * fields as data, never a transport's wording (each server words entries
 * for its own clients).
 *
 * Stream id `SEQ-0`, fields (all bulk strings, so `redis-cli XRANGE` shows
 * them readably):
 *
 *   o  origin: the node that appended it      r  that node's run id
 *   n  the node's local ref (1, 2, 3... per run: idempotent resend)
 *   t  server time, ms since 1970              k  kind: line, action, join, leave, quit, nick, notice
 *   u  the sender's nickname ("" for none)     h, p  the sender's host and port ("" and 0 for the server)
 *   w  NICK: the new name                      m  the text (a message's bytes, a leave's reason)
 *
 * The sender's node is `o`. Entries a server of the first release wrote
 * (fields `s`, `x`, `l`: the TCP line) are read back as data too.
 *
 * Pure TypeScript (no Bun, no I/O), unit-tested under Node.
 */
import {
  type EntryContent,
  ENTRY_KIND_NAMES,
  entryFromLegacy,
  entryKindByName,
  type LogEntry,
  type PrivateMessage,
} from "../chat/entry.ts";
import { MemberName } from "../chat/naming.ts";
import { asText, type RespValue } from "./resp.ts";

const decoder = new TextDecoder();

/** The fields an append writes per entry, after `o`, `r` and `n` (the script's stride follows from these). */
export const ENTRY_FIELDS = ["t", "k", "u", "h", "p", "w", "m"] as const;

/** Values an append sends per entry, after its ref: see `entryArgs`. */
export const VALUES_PER_ENTRY = ENTRY_FIELDS.length;

/** An entry's values for the append script, in the order of `ENTRY_FIELDS`. */
export function entryArgs(e: EntryContent): (string | Uint8Array)[] {
  const s = e.sender;
  return [String(e.time), ENTRY_KIND_NAMES[e.kind], s?.nick ?? "", s?.host ?? "", String(s?.port ?? 0), e.newName, e.text];
}

/** A stream entry read back: the log entry, and who appended it. */
export interface StreamEntry {
  /** The stream id as Redis gave it: where the next read starts. */
  readonly id: string;
  /** The entry, or null when its id or fields are not ours (written by hand). */
  readonly entry: LogEntry | null;
  /** `ORIGIN/RUN` of the server that appended it ("" when unknown). */
  readonly producer: string;
  /** Its local ref in that run (0 when unknown). */
  readonly ref: number;
}

/** The SEQ of a stream id `SEQ-0`, or null for any other id. */
export function seqOfId(id: string): number | null {
  const m = /^(\d{1,15})-0$/.exec(id);
  return m ? Number(m[1]) : null;
}

/**
 * One entry of an XREAD/XRANGE reply (`[id, [field, value, ...]]`), or null
 * when the reply does not have that shape.
 */
export function decodeStreamEntry(raw: RespValue): StreamEntry | null {
  if (!Array.isArray(raw) || raw.length !== 2 || !Array.isArray(raw[1])) return null;
  const id = asText(raw[0]!);
  if (id === null) return null;
  const fields = raw[1];
  const get = new Map<string, Uint8Array>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = asText(fields[i]!);
    const value = fields[i + 1];
    if (name !== null && value instanceof Uint8Array) get.set(name, value);
  }
  const text = (name: string) => {
    const v = get.get(name);
    return v ? decoder.decode(v) : "";
  };
  const seq = seqOfId(id);
  const origin = text("o");
  const producer = origin || get.has("r") ? `${origin}/${text("r")}` : "";
  const ref = Number(text("n")) || 0;
  const entry = seq === null ? null : get.has("l") ? legacyEntry(seq, get, text) : entryOf(seq, get, text, origin);
  return { id, entry, producer, ref };
}

/** An entry's fields (`ENTRY_FIELDS`) as a log entry; null when they are not ours. */
function entryOf(seq: number, get: Map<string, Uint8Array>, text: (name: string) => string, origin: string): LogEntry | null {
  const kind = entryKindByName(text("k"));
  const body = get.get("m");
  if (kind === null || !body) return null;
  const nick = text("u");
  const host = text("h");
  const port = Number(text("p"));
  const sender = nick === "" && host === "" ? null : new MemberName(nick || null, host, Number.isInteger(port) ? port : 0, origin);
  // Copied: the reply's buffer is the socket's chunk, which the log must not keep alive.
  return { seq, time: Number(text("t")) || 0, kind, sender, text: body.slice(), newName: text("w") };
}

/** An entry a first-release server wrote (its TCP line in `l`). */
function legacyEntry(seq: number, get: Map<string, Uint8Array>, text: (name: string) => string): LogEntry | null {
  const line = get.get("l")!;
  const textStart = Number(text("x"));
  return entryFromLegacy({
    seq,
    time: Number(text("t")) || 0,
    kind: text("k"),
    sender: text("s"),
    line,
    textStart: Number.isInteger(textStart) && textStart >= 0 && textStart <= line.length ? textStart : 0,
    newName: text("w"),
    origin: text("o"),
  });
}

/**
 * The entries of an XREAD reply for one stream (`[[key, [entry, ...]]]`),
 * or of an XRANGE/XREVRANGE reply (`[entry, ...]`); [] for a nil reply
 * (an XREAD BLOCK that timed out). Null when the reply is none of these.
 */
export function streamEntries(reply: RespValue, xread: boolean): RespValue[] | null {
  if (reply === null) return [];
  if (!Array.isArray(reply)) return null;
  if (!xread) return reply;
  const first = reply[0];
  if (reply.length === 0) return [];
  if (!Array.isArray(first) || first.length !== 2 || !Array.isArray(first[1])) return null;
  return first[1];
}

/**
 * A private message's fields in a server's inbox stream: `t` time, `a` 1
 * for an action, `m` the text, the sender's `u h p o` (nick, host, port,
 * node) and the receiver's `tu th tp to`.
 */
export function privateArgs(m: PrivateMessage): (string | Uint8Array)[] {
  const f = m.from;
  const t = m.to;
  return [
    "t",
    String(m.time),
    "a",
    m.action ? "1" : "0",
    "m",
    m.text,
    "u",
    f.nick ?? "",
    "h",
    f.host,
    "p",
    String(f.port),
    "o",
    f.node,
    "tu",
    t.nick ?? "",
    "th",
    t.host,
    "tp",
    String(t.port),
    "to",
    t.node,
  ];
}

/** An inbox entry's fields (`[field, value, ...]`) as a private message, or null when they are not one. */
export function decodePrivate(raw: RespValue): PrivateMessage | null {
  if (!Array.isArray(raw)) return null;
  const get = new Map<string, Uint8Array>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = asText(raw[i]!);
    const value = raw[i + 1];
    if (name !== null && value instanceof Uint8Array) get.set(name, value);
  }
  const text = (name: string) => {
    const v = get.get(name);
    return v ? decoder.decode(v) : "";
  };
  const body = get.get("m");
  if (!body || !get.has("tu")) return null;
  const name = (prefix: string) =>
    new MemberName(text(`${prefix}u`) || null, text(`${prefix}h`), Number(text(`${prefix}p`)) || 0, text(`${prefix}o`));
  return { time: Number(text("t")) || 0, action: text("a") === "1", text: body.slice(), from: name(""), to: name("t") };
}
