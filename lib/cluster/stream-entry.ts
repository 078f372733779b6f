/**
 * A room's log entry as a Redis Stream entry, both ways, and how a server
 * names its address-named clients to the other servers of a cluster.
 *
 * Stream id `SEQ-0`, fields (all bulk strings, so `redis-cli XRANGE` shows
 * them readably):
 *
 *   o  origin: the node that appended it      r  that node's run id
 *   n  the node's local ref (1, 2, 3... per run: idempotent resend)
 *   t  server time, ms since 1970              k  kind: line, join, leave, nick, notice
 *   s  sender as others see it                 w  NICK: the new name
 *   x  where the text starts in the line       l  the line as a TCP client gets it
 *
 * Pure TypeScript (no Bun, no I/O), unit-tested under Node.
 */
import { type EntryContent, EntryKind, ENTRY_KIND_NAMES, entryKindByName, type LogEntry } from "../chat/entry.ts";
import { startsWith } from "../bytes.ts";
import { asText, type RespValue } from "./resp.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Values an append sends per entry, in this order (after its ref): see `entryArgs`. */
export const VALUES_PER_ENTRY = 6;

/** An entry's values for the append script: time, kind, sender, new name, text start, line. */
export function entryArgs(e: EntryContent): (string | Uint8Array)[] {
  return [String(e.time), ENTRY_KIND_NAMES[e.kind], e.sender, e.newName, String(e.textStart), e.line];
}

/** A node name for `--node`: what fits in a Redis client name and reads well after `@`. */
export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/** How a notice names a client without a nickname: `Client (HOST, PORT) ...` (`noticeName` in protocol.ts). */
const NOTICE_BY_ADDRESS = encoder.encode("Client (");
const CLOSE_PAREN = 0x29;

/** A sender's name as every server shows it: an address (`HOST:PORT`) gets `@NODE`, a nickname stays. */
export function qualifiedName(name: string, node: string): string {
  return name.includes(":") ? `${name}@${node}` : name;
}

/**
 * How another server shows `e`: a client without a nickname is named by
 * its address, which another server's client may share, so the address
 * gets `@NODE`: `<127.0.0.1:5555@b7> hi`, `Client (127.0.0.1, 5555)@b7
 * connected`, sender `127.0.0.1:5555@b7`. Nicknames are unique in the
 * room as they are (they never contain `:`, and none starts with
 * `Client`), and so are the server's own notices: those are returned
 * unchanged.
 */
export function qualifySender(e: EntryContent, node: string): EntryContent {
  const byAddress = e.sender.includes(":");
  let at = -1;
  if (e.kind === EntryKind.LINE) {
    // `<HOST:PORT> text` or `* HOST:PORT action`: the address before the text.
    if (byAddress) {
      const written = encoder.encode(e.sender);
      const start = indexOf(e.line, written, e.textStart);
      if (start >= 0) at = start + written.length;
    }
  } else if (startsWith(e.line, NOTICE_BY_ADDRESS)) {
    // A notice about a client by address: after the tuple.
    const close = e.line.indexOf(CLOSE_PAREN, NOTICE_BY_ADDRESS.length);
    if (close >= 0) at = close + 1;
  }
  if (at < 0 && !byAddress) return e;
  let line = e.line;
  let textStart = e.textStart;
  if (at >= 0) {
    const suffix = encoder.encode(`@${node}`);
    line = new Uint8Array(e.line.length + suffix.length);
    line.set(e.line.subarray(0, at), 0);
    line.set(suffix, at);
    line.set(e.line.subarray(at), at + suffix.length);
    if (textStart >= at) textStart += suffix.length;
  }
  return { ...e, sender: qualifiedName(e.sender, node), line, textStart };
}

/** Where `needle` starts in `hay[0, limit)`, or -1. */
function indexOf(hay: Uint8Array, needle: Uint8Array, limit: number): number {
  const last = Math.min(limit, hay.length) - needle.length;
  outer: for (let i = 0; i <= last; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
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
 * when the reply does not have that shape. Bytes are copied: the reply's
 * buffer is the socket's chunk, which the log must not keep alive.
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
  const kind = entryKindByName(text("k"));
  const line = get.get("l");
  const origin = text("o");
  const producer = origin || get.has("r") ? `${origin}/${text("r")}` : "";
  const ref = Number(text("n")) || 0;
  if (seq === null || kind === null || !line) return { id, entry: null, producer, ref };
  const textStart = Number(text("x"));
  const entry: LogEntry = {
    seq,
    time: Number(text("t")) || 0,
    kind,
    sender: text("s"),
    line: line.slice(),
    textStart: Number.isInteger(textStart) && textStart >= 0 && textStart <= line.length ? textStart : 0,
    newName: text("w"),
    origin,
  };
  return { id, entry, producer, ref };
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
