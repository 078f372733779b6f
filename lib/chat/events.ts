/**
 * The structured wire format (the web page's): one JSON object per line of
 * the room, UTF-8, each ending in `\n`. A WebSocket text frame carries one
 * or more whole events (a tick's worth); a client splits a frame at `\n`.
 *
 *   {"k":"line","id":"lq3k9z0a1b:42","t":1764072000000,"s":"bob","x":"hi"}
 *   {"k":"join"|"leave"|"notice", id, t, s, x}   x: the notice as TCP words it
 *   {"k":"nick", id, t, s, x, "to":"rob"}        s: the old name
 *   {"k":"reply","x":"..."}                       a command's answer, to one client
 *   {"k":"error","x":"..."}                       a refusal (flooding, line too long)
 *   {"k":"presence","you":"...","n":3,"names":[...],"more":0,"last":"ID"|null}
 *   {"k":"history-end","n":2,"missed":0,"reset":false,"last":"ID"|null}
 *
 * A `/me` line carries `"me":1` (its x is the action, s who did it).
 * Entries replayed by `/history` carry `"h":1`, and the replay ends with
 * `history-end`. `id` is `EPOCH:SEQ` (lib/server/history.ts); `t` is the
 * server's time in ms since 1970; `o`, when present, is the cluster node
 * the entry came from. `x` is text: a client inserts it as text, never as
 * markup.
 *
 * Unlike the TCP format, a client gets its own lines too (with their ids):
 * a page shows what the room recorded, so ids stay consecutive.
 */
import { ENTRY_KIND_NAMES, EntryKind, formatId, type LogEntry } from "./entry.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One event as bytes, with its newline. */
function eventBytes(event: object): Uint8Array {
  return encoder.encode(`${JSON.stringify(event)}\n`);
}

/** A `/me` line: its prefix is `* NAME ` where a message's is `<NAME> `. */
const isAction = (e: Omit<LogEntry, "seq">): boolean => e.kind === EntryKind.LINE && e.line[0] === 0x2a;

/** A log entry as an event; `replayed` marks it as part of a `/history` answer. */
export function entryEvent(epoch: string, e: LogEntry, replayed = false): Uint8Array {
  return eventOf(e, formatId(epoch, e.seq), replayed);
}

/**
 * An entry not numbered yet (a cluster server's own line while it waits
 * for the stream's number, or while Redis is away): shown without an id.
 */
export function unnumberedEvent(e: Omit<LogEntry, "seq">): Uint8Array {
  return eventOf(e, null, false);
}

function eventOf(e: Omit<LogEntry, "seq">, id: string | null, replayed: boolean): Uint8Array {
  const ev: Record<string, unknown> = {
    k: ENTRY_KIND_NAMES[e.kind],
    id,
    t: e.time,
    s: e.sender,
    x: decoder.decode(e.line.subarray(e.textStart)),
  };
  if (e.kind === EntryKind.NICK) ev.to = e.newName;
  else if (isAction(e)) ev.me = 1;
  if (e.origin) ev.o = e.origin;
  if (replayed) ev.h = 1;
  return eventBytes(ev);
}

/** A command's answer, to one client. */
export const replyEvent = (text: string): Uint8Array => eventBytes({ k: "reply", x: text });

/** A refusal or limit message, to one client. */
export const errorEvent = (text: string): Uint8Array => eventBytes({ k: "error", x: text });

/** Who is here, told to a client as it joins. */
export function presenceEvent(you: string, names: readonly string[], more: number, last: string | null): Uint8Array {
  return eventBytes({ k: "presence", you, n: names.length + more, names, more, last });
}

/** The end of a `/history` replay. */
export function historyEndEvent(count: number, missed: number, reset: boolean, last: string | null): Uint8Array {
  return eventBytes({ k: "history-end", n: count, missed, reset, last });
}
