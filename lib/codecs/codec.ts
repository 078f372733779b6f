/**
 * A wire format: how one kind of connection frames its input and words
 * what the room sends it. Every connection has one, chosen by the listener
 * that accepted it (the TCP port: `line`; the web gateway: `events`); the
 * reactor core knows none of them, and the room keeps one batch per codec
 * in use, worded once per tick per codec, never once per reader.
 *
 * A codec is an object per server (it knows the server's cluster node, to
 * name members as its readers need), stateless per connection: what a
 * connection needs of its own (its framer) it gets from `newFramer`.
 */
import type { ByteBuilder } from "../bytes.ts";
import type { EntryContent, LogEntry, PrivateMessage } from "../chat/entry.ts";
import type { LineFramer } from "../chat/framing.ts";
import type { MemberName } from "../chat/naming.ts";

/** Who is in the room, told to a member as it joins. */
export interface Presence {
  /** The room's canonical name (`chat`). */
  readonly room: string;
  /** It is the room clients enter on connecting (the seed's words name no room). */
  readonly isDefault: boolean;
  readonly you: MemberName;
  /** Up to `PRESENCE_NAMES` of the others. */
  readonly names: readonly MemberName[];
  /** How many others there are in all. */
  readonly others: number;
  /** The room's newest entry id (to resume from), or null. */
  readonly last: string | null;
}

/** A `/history` answer: entries of one room's log and what could not be had. */
export interface HistoryAnswer {
  /** The room's canonical name. */
  readonly room: string;
  /** The log's epoch: the entries' ids are `epoch:seq`. */
  readonly epoch: string;
  readonly entries: readonly LogEntry[];
  /** Entries after the asked id that are no longer kept. */
  readonly missed: number;
  /** The asked id is of another life of the log. */
  readonly reset: boolean;
  /** The id the client asked to resume from, if it did. */
  readonly since: string | null;
  /** The newest id, or null. */
  readonly last: string | null;
}

/** A line said in a room the sender names (written as the user wrote it: `#rust`, `rust`). */
export interface RoutedLine {
  readonly room: string;
  readonly line: Uint8Array;
}

/** A wire format; see the top of this file. */
export interface Codec {
  /** `line`, `events`...: in logs and metrics. */
  readonly name: string;
  /** A member gets its own entries back (a page shows what the room recorded). */
  readonly echo: boolean;
  /**
   * Its words carry entry ids: in a cluster, a member gets this server's
   * own entries only once the shared log has numbered them.
   */
  readonly numbered: boolean;
  /** Input is a raw byte stream whose first bytes may be a TLS handshake on a plain port. */
  readonly rawStream: boolean;
  /** A bare `q` line quits, as the seed's client sent it (a page's user who types `q` means the letter). */
  readonly bareQuit: boolean;
  /** The framer of one connection's input. */
  newFramer(maxLine: number): LineFramer;
  /**
   * A line addressed to a room (a member in several rooms says which),
   * or null: the line is for the member's current room. Absent: every
   * line is for the current room (a line client is in one room).
   */
  route?(line: Uint8Array): RoutedLine | null;
  /**
   * Append the words of an entry of `room` (its canonical name) to `out` (a
   * room's batch, or an answer). `id`: null while unnumbered.
   */
  entry(out: ByteBuilder, room: string, e: EntryContent, id: string | null, replayed: boolean): void;
  /**
   * A private message from `from` to `to` (never stored): as its receiver
   * gets it, or (`echo`) as its sender gets it back; null when the codec
   * sends nothing back to a sender.
   */
  privateMessage(message: PrivateMessage, echo: boolean): Uint8Array | null;
  /** A command's answer; `room`: the room the command was said in (for codecs that tell rooms apart). */
  reply(text: string, room?: string | null): Uint8Array;
  /**
   * A command's answer given as parts that are already line-worded text
   * (`/who`'s shared list): a byte-stream codec sends them by reference,
   * others reword them.
   */
  replyParts(parts: readonly Uint8Array[], room?: string | null): readonly Uint8Array[];
  /** A refusal or a limit's message (`room` as for `reply`). */
  error(text: string, room?: string | null): Uint8Array;
  presence(p: Presence): Uint8Array;
  history(answer: HistoryAnswer): Uint8Array;
}
