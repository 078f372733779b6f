/**
 * An entry of a room's log, as data: what happened, who it is about, the
 * text, when, and (once numbered) its id. Every wire format words it at
 * the edge (lib/codecs/); the log, the SQLite store and the cluster's
 * stream hold these fields, never a transport's wording.
 *
 * Ids: `EPOCH:SEQ`. Each room's log has an epoch of its own (chosen at
 * random when that log starts empty), so an id names one entry of one
 * room without naming the room; SEQ counts 1, 2, 3... with no gaps within
 * an epoch.
 */
import { type MemberName, parseShownName } from "./naming.ts";

/** What an entry records. The numbers are stable: stores and streams keep names, not numbers. */
export enum EntryKind {
  /** A member's message. */
  LINE = 0,
  /** A member connected (joined). */
  JOIN = 1,
  /** A member was disconnected; `text` is why ("" for none said). */
  LEAVE = 2,
  /** A member took a nickname: `newName`. */
  NICK = 3,
  /** The server's own notice (shutting down): `text`. */
  NOTICE = 4,
  /** A member's `/me` action: `text`. */
  ACTION = 5,
  /** A member chose to leave (`q`, `/quit`). */
  QUIT = 6,
  /** A member already connected came into the room (`/join`). */
  ENTER = 7,
  /** A member left the room but not the server (`/join` elsewhere, `/part`); `text`: the room it went to, if any. */
  PART = 8,
}

/** The kinds by name, as stores and streams write them. */
export const ENTRY_KIND_NAMES = ["line", "join", "leave", "nick", "notice", "action", "quit", "enter", "part"] as const;

/** Whether an entry of `kind` brings its sender into the room (for rosters and member lists). */
export const arrives = (kind: EntryKind): boolean => kind === EntryKind.JOIN || kind === EntryKind.ENTER;

/** Whether an entry of `kind` takes its sender out of the room. */
export const departs = (kind: EntryKind): boolean => kind === EntryKind.LEAVE || kind === EntryKind.QUIT || kind === EntryKind.PART;

/** An entry's kind by name, or null for a name that is none. */
export function entryKindByName(name: string): EntryKind | null {
  const i = (ENTRY_KIND_NAMES as readonly string[]).indexOf(name);
  return i < 0 ? null : (i as EntryKind);
}

/** An entry before the log has numbered it. */
export interface EntryContent {
  /** Server time, ms since 1970. */
  readonly time: number;
  readonly kind: EntryKind;
  /** Who it is about; null for the server's own notices. Its `node` is where the entry came from. */
  readonly sender: MemberName | null;
  /**
   * LINE and ACTION: the member's bytes, unchanged (not necessarily UTF-8);
   * LEAVE: why; NOTICE: the notice; empty otherwise.
   */
  readonly text: Uint8Array;
  /** NICK: the new name; "" otherwise. */
  readonly newName: string;
}

/** A private message, member to member, whichever rooms, transports or servers they are on: never in a log. */
export interface PrivateMessage {
  readonly time: number;
  readonly from: MemberName;
  readonly to: MemberName;
  /** A `/me` action. */
  readonly action: boolean;
  readonly text: Uint8Array;
}

/** A numbered entry of a room's log. */
export interface LogEntry extends EntryContent {
  /** Position in its epoch: 1, 2, 3... */
  readonly seq: number;
}

/** The node an entry came from ("" on a lone server or for the server's notices). */
export const originOf = (e: EntryContent): string => e.sender?.node ?? "";

/** `EPOCH:SEQ`. */
export function formatId(epoch: string, seq: number): string {
  return `${epoch}:${seq}`;
}

/** An id a client sent back, or null when it is not `EPOCH:SEQ`. */
export function parseId(text: string): { epoch: string; seq: number } | null {
  const m = /^([0-9a-z]{1,32}):(\d{1,15})$/.exec(text);
  return m ? { epoch: m[1]!, seq: Number(m[2]) } : null;
}

/** A new epoch: the time in base 36 and a random tail, so two logs started in the same millisecond differ. */
export function newEpoch(now = Date.now(), random = Math.random): string {
  return (
    now.toString(36) +
    Math.floor(random() * 36 ** 4)
      .toString(36)
      .padStart(4, "0")
  );
}

/** An entry as the first release stored it: flattened into the TCP line. */
export interface LegacyEntry {
  readonly seq: number;
  readonly time: number;
  /** line, join, leave, nick or notice. */
  readonly kind: string;
  /** As others saw the name: `bob`, `HOST:PORT`, `HOST:PORT@NODE`; "" for the server. */
  readonly sender: string;
  /** The TCP line: `<bob> hi`, `* bob waves`, `bob quits`, `Client (H, P) is offline (too slow)`. */
  readonly line: Uint8Array;
  /** Where the text starts in `line`. */
  readonly textStart: number;
  readonly newName: string;
  readonly origin: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const OFFLINE = / is offline(?: \((.*)\))?$/;

/**
 * A first-release entry as data (the SQLite migration, and a stream that a
 * server of that release wrote): its words parsed back into kind, sender,
 * text. Null for a kind that release never wrote.
 */
export function entryFromLegacy(old: LegacyEntry): LogEntry | null {
  const kind = entryKindByName(old.kind);
  if (kind === null) return null;
  const sender = old.sender === "" ? null : parseShownName(old.sender, old.origin);
  const base = { seq: old.seq, time: old.time, sender, newName: old.newName };
  const start = Math.min(Math.max(0, old.textStart), old.line.length);
  switch (kind) {
    case EntryKind.LINE:
      // `* NAME action` was a /me; a message starts `<NAME> `.
      return { ...base, kind: old.line[0] === 0x2a ? EntryKind.ACTION : EntryKind.LINE, text: old.line.slice(start) };
    case EntryKind.LEAVE: {
      const words = decoder.decode(old.line);
      if (words.endsWith(" quits")) return { ...base, kind: EntryKind.QUIT, text: new Uint8Array(0) };
      return { ...base, kind, text: encoder.encode(OFFLINE.exec(words)?.[1] ?? "") };
    }
    case EntryKind.NOTICE:
      return { ...base, kind, text: old.line.slice() };
    default:
      return { ...base, kind, text: new Uint8Array(0) };
  }
}
