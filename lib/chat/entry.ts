/**
 * An entry of the room's log, as both ends of the protocol name it: its
 * kind, its id `EPOCH:SEQ`, and what it says. The log itself is
 * lib/server/history.ts; the TCP and web wordings are protocol.ts and
 * events.ts.
 */

/** What an entry records. */
export enum EntryKind {
  /** A client's message (`/me` included). */
  LINE = 0,
  /** A client connected. */
  JOIN = 1,
  /** A client quit or was disconnected. */
  LEAVE = 2,
  /** A client took a nickname. */
  NICK = 3,
  /** The server's own notice (shutting down). */
  NOTICE = 4,
}

/** The kinds as the web page's events and the stores name them. */
export const ENTRY_KIND_NAMES = ["line", "join", "leave", "nick", "notice"] as const;
/** One of `ENTRY_KIND_NAMES`. */
export type EntryKindName = (typeof ENTRY_KIND_NAMES)[number];

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
  /**
   * Who it is about, as others see the name: a nickname or `HOST:PORT`
   * (in a cluster, another server's `HOST:PORT@NODE`); "" for the
   * server's own notices.
   */
  readonly sender: string;
  /**
   * The line exactly as a TCP client gets it, without newline: `<bob> hi`,
   * `* bob waves`, `bob quits`. Never changed after it is made.
   */
  readonly line: Uint8Array;
  /** Where the text starts in `line` (after the `<NAME> ` of a message; 0 for notices). */
  readonly textStart: number;
  /** NICK: the new name; "" otherwise. */
  readonly newName: string;
  /** The server it came from: its cluster node name, "" on a lone server. */
  readonly origin: string;
}

/** A numbered entry of the room's log. */
export interface LogEntry extends EntryContent {
  /** Position in its epoch: 1, 2, 3... */
  readonly seq: number;
}

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
