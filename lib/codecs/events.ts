/**
 * The events codec (the web page's): one JSON object per line of the room,
 * UTF-8, each ending in `\n`. A WebSocket text frame carries one or more
 * whole events (a tick's worth); a client splits a frame at `\n`.
 *
 * Out:
 *
 *   {"k":"line","r":"#chat","id":"lq3k9z0a1b:42","t":1764072000000,"s":"bob","x":"hi"}
 *   {"k":"join"|"leave"|"notice", r, id, t, s, x} x: the notice as TCP words it
 *   {"k":"nick", r, id, t, s, x, "to":"rob"}      s: the old name
 *   {"k":"private","t":...,"s":"bob","to":"ann","x":"hi"}  a private message (never stored)
 *   {"k":"reply","r":"#chat","x":"..."}             a command's answer, to one client (r: the room it was said in)
 *   {"k":"error","x":"..."}                        a refusal (flooding, line too long; r as for replies)
 *   {"k":"presence","r":"#chat","you":"...","n":3,"names":[...],"more":0,"last":"ID"|null}
 *   {"k":"history-end","r":"#chat","n":2,"missed":0,"reset":false,"last":"ID"|null}
 *
 * `r` is the room (a member may be in several). A `/me` line is
 * `"k":"line"` with `"me":1` (its x is the action, s who did it); a quit,
 * and a member going to another room, is a `leave`, a member coming from
 * one a `join`. Entries replayed by `/history` carry `"h":1`, and the
 * replay ends with `history-end`. `id` is `EPOCH:SEQ` of the room's log;
 * `t` is the server's time in ms since 1970; `o`, when present, is the
 * cluster node the entry came from. `x` is text: a client inserts it as
 * text, never as markup.
 *
 * In: one text line per frame, as over TCP (commands included), said in
 * the room the member joined last; or `{"r":"#rust","x":"LINE"}` to say
 * LINE (a message or a command, `/history` say) in that room.
 *
 * Unlike the line codec, a member gets its own entries too (with their
 * ids): a page shows what the room recorded, so ids stay consecutive. In a
 * cluster every address is shown with `@NODE`, this server's too: the page
 * gets this server's entries back from the shared log, named as every
 * server names them.
 */
import { ByteBuilder } from "../bytes.ts";
import { ENTRY_KIND_NAMES, EntryKind, type EntryContent, formatId, originOf, type PrivateMessage } from "../chat/entry.ts";
import { LineFramer } from "../chat/framing.ts";
import { shownRoom } from "../chat/rooms.ts";
import type { MemberName } from "../chat/naming.ts";
import type { Codec, HistoryAnswer, Presence, RoutedLine } from "./codec.ts";
import { noticeWords } from "./line.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const OPEN_BRACE = 0x7b;

/** One event as bytes, with its newline. */
function eventBytes(event: object): Uint8Array {
  return encoder.encode(`${JSON.stringify(event)}\n`);
}

/** The kind an event names: `/me` is a line, a quit a leave (the page's words). */
function eventKind(kind: EntryKind): string {
  if (kind === EntryKind.ACTION) return "line";
  if (kind === EntryKind.QUIT || kind === EntryKind.PART) return "leave";
  if (kind === EntryKind.ENTER) return "join";
  return ENTRY_KIND_NAMES[kind];
}

/** The events codec of a server whose cluster node is `node` ("" alone); see the top of this file. */
export class EventsCodec implements Codec {
  readonly name = "events";
  readonly echo = true;
  readonly numbered = true;
  readonly rawStream = false;
  readonly bareQuit = false;

  constructor(readonly node: string) {}

  newFramer(maxLine: number): LineFramer {
    return new LineFramer(maxLine);
  }

  /** `{"r":ROOM,"x":LINE}` (LINE without a newline): LINE for that room; anything else is a line for the member's current room. */
  route(line: Uint8Array): RoutedLine | null {
    if (line[0] !== OPEN_BRACE) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(line));
    } catch {
      return null;
    }
    const { r, x } = (parsed ?? {}) as { r?: unknown; x?: unknown };
    // A line is what the framer hands out: no newline in it. A JSON `\n` in x
    // would put a second line of the sender's choosing (`<alice> ...`) in
    // every line client's output: not a routed line.
    if (typeof r !== "string" || typeof x !== "string" || x.includes("\n")) return null;
    return { room: r, line: encoder.encode(x) };
  }

  /** How the page sees `name`: in a cluster every address gets `@NODE`. */
  shown(name: MemberName): string {
    return name.shown(true);
  }

  entry(out: ByteBuilder, room: string, e: EntryContent, id: string | null, replayed: boolean): void {
    const ev: Record<string, unknown> = {
      k: eventKind(e.kind),
      r: shownRoom(room),
      id,
      t: e.time,
      s: e.sender ? this.shown(e.sender) : "",
      x: this.text(e),
    };
    if (e.kind === EntryKind.NICK) ev.to = e.newName;
    else if (e.kind === EntryKind.ACTION) ev.me = 1;
    const origin = originOf(e);
    if (origin) ev.o = origin;
    if (replayed) ev.h = 1;
    out.append(eventBytes(ev));
  }

  /** `x`: a message's or action's text, a notice as the line codec words it (every address qualified). */
  private text(e: EntryContent): string {
    if (e.kind === EntryKind.LINE || e.kind === EntryKind.ACTION) return decoder.decode(e.text);
    return noticeWords(e, e.sender ? e.sender.noticeName(true) : "");
  }

  reply(text: string, room: string | null = null): Uint8Array {
    // Replies that report a refusal are errors to the page.
    if (text.startsWith("Error")) return this.error(text, room);
    return eventBytes(room === null ? { k: "reply", x: text } : { k: "reply", r: shownRoom(room), x: text });
  }

  replyParts(parts: readonly Uint8Array[], room: string | null = null): readonly Uint8Array[] {
    const text = parts.map((p) => decoder.decode(p)).join("");
    return [this.reply(text.endsWith("\n") ? text.slice(0, -1) : text, room)];
  }

  error(text: string, room: string | null = null): Uint8Array {
    return eventBytes(room === null ? { k: "error", x: text } : { k: "error", r: shownRoom(room), x: text });
  }

  presence(p: Presence): Uint8Array {
    const names = p.names.map((n) => this.shown(n));
    const r = shownRoom(p.room);
    return eventBytes({ k: "presence", r, you: this.shown(p.you), n: p.others, names, more: p.others - names.length, last: p.last });
  }

  privateMessage(m: PrivateMessage, _echo: boolean): Uint8Array {
    // Both ends get it: a page shows the conversation in a view of its own.
    const ev: Record<string, unknown> = { k: "private", t: m.time, s: this.shown(m.from), to: this.shown(m.to), x: decoder.decode(m.text) };
    if (m.action) ev.me = 1;
    return eventBytes(ev);
  }

  history(a: HistoryAnswer): Uint8Array {
    const out = new ByteBuilder();
    for (const e of a.entries) this.entry(out, a.room, e, formatId(a.epoch, e.seq), true);
    const r = shownRoom(a.room);
    out.append(eventBytes({ k: "history-end", r, n: a.entries.length, missed: a.missed, reset: a.reset, last: a.last }));
    return out.take();
  }
}
