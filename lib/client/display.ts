/**
 * What a terminal is shown of a received line: neutralised (`visible`),
 * then styled (colours, timestamps).
 *
 * `visible` is a security property, not cosmetics: a peer's bytes reach
 * the user's terminal, and a control character, C1 code or escape sequence
 * in them could move the cursor, clear the screen, set the window title,
 * or tear the input row; a bidi override or an invisible character could
 * make the text read differently from what it is, and a line separator
 * start what looks like a line of the server's.
 */

import { colorFor } from "../chat/colours.ts";

/** How received lines are shown. */
export interface StyleOptions {
  /** ANSI colours (off for NO_COLOR or a pipe). */
  color: boolean;
  /** `[HH:MM:SS] ` before each line. */
  timestamps: boolean;
  /** Wall clock, ms since the epoch. */
  now?: () => number;
  /** Who has which colour, following renames (without it: `colorFor`, no renames). */
  names?: NameColors;
  /** Show `/history`'s marks as the server sends them, ids included (without it: the entry's time only). */
  showIds?: boolean;
}

/** Not fatal: invalid UTF-8 becomes U+FFFD rather than failing the line. */
const utf8 = new TextDecoder();

/** A received line's bytes as text; invalid UTF-8 shows as U+FFFD, never as raw bytes. */
export function decodeLine(bytes: Uint8Array): string {
  return utf8.decode(bytes);
}

/** The palette and the hash live in lib/chat/colours.ts, shared with the web page. */
export { colorFor, PALETTE } from "../chat/colours.ts";

/** `Client (HOST, PORT)`, as notices name a client without a nickname. */
const ADDRESS_TUPLE = /^Client \((.+), (\d+)\)$/;

/**
 * The name a notice's subject goes by in messages: `Client (HOST, PORT)`
 * is `HOST:PORT` (`[HOST]:PORT` for IPv6), a nickname is itself.
 */
function messageName(subject: string): string {
  const tuple = ADDRESS_TUPLE.exec(subject);
  if (!tuple) return subject;
  const host = tuple[1]!;
  return `${host.includes(":") ? `[${host}]` : host}:${tuple[2]}`;
}

/**
 * Each sender's colour for one session: a name seen for the first time
 * gets `colorFor(name)`; a rename (`Client (HOST, PORT) is now bob`, `bob is
 * now rob`) hands the old name's colour to the new one, so the colour
 * follows the person. It also learns the user's own nickname from the
 * server's `You are now NAME`.
 */
export class NameColors {
  private readonly colors = new Map<string, number>();

  /** @param self the user's own name as others see it (`HOST:PORT` until `/nick`) */
  constructor(public self: string) {}

  /** The colour `name` is shown in. */
  colorOf(name: string): number {
    return this.colors.get(name) ?? colorFor(name);
  }

  /**
   * Learn from a received line (already through `visible`): a rename
   * notice moves a colour, `You are now NAME` sets `self`. Messages
   * (`<...>`) and actions (`* ...`) are peers' words and never count.
   */
  follow(line: string): void {
    if (line.startsWith("<") || line.startsWith("* ") || line.startsWith("Error: ")) return;
    const you = /^You are now (\S+)$/.exec(line);
    if (you) {
      this.rename(this.self, you[1]!);
      this.self = you[1]!;
      return;
    }
    const renamed = /^(.+) is now (\S+)$/.exec(line);
    if (renamed) this.rename(messageName(renamed[1]!), renamed[2]!);
  }

  private rename(from: string, to: string): void {
    this.colors.set(to, this.colorOf(from));
    this.colors.delete(from);
  }
}

/** `text` in the SGR style `code`, then back to normal. */
const sgr = (code: string, text: string) => `\x1b[${code}m${text}\x1b[0m`;

/** `[HH:MM:SS] `, local time. */
export function timestamp(ms: number): string {
  const date = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `[${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}] `;
}

/**
 * Characters a received line must not put on the terminal as they are:
 * C0 controls and DEL, C1 controls, and the invisible ones that change how
 * text around them reads: zero-width spaces and joiners, the bidi marks,
 * embeddings, overrides and isolates, the word joiner and invisible
 * operators, the byte order mark, and the line and paragraph separators
 * (some terminals start a new row at U+2028/U+2029, so a peer could make
 * the rest of its line look like a server notice). One exception: a
 * zero-width joiner between two emoji (skin tone or U+FE0F allowed before
 * it) is part of one emoji sequence (👩‍💻, 🏳️‍🌈) and is kept.
 */
const UNSAFE =
  /[\x00-\x1f\x7f\x80-\x9f\u061c\u200b\u200c\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]|(?<!\p{Extended_Pictographic}(?:\p{Emoji_Modifier}|\u{fe0f})?)\u200d|\u200d(?!\p{Extended_Pictographic})/gu;

/**
 * The `UNSAFE` characters made visible: control characters as `^X` (DEL
 * as `^?`), C1 codes as `\\xNN`, the invisible ones as `<U+XXXX>`. A received
 * line then cannot move the cursor, change colours or tear the input row,
 * and cannot read differently from what it is.
 */
export function visible(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    if (code >= 0x100) return `<U+${code.toString(16).toUpperCase().padStart(4, "0")}>`;
    return code === 0x7f ? "^?" : code < 0x20 ? `^${String.fromCharCode(code + 0x40)}` : `\\x${code.toString(16)}`;
  });
}

/** The mark in front of a replayed entry: `[history ID TIME] ` (lib/chat/protocol.ts `historyText`). */
const HISTORY_MARK = /^\[history \S+ (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\] /;
/** The line that ends a `/history` answer: `[history end] N entries, last ID`. */
const HISTORY_END = /^\[history end\] /;

/**
 * A received line, ready for the terminal: `<NAME> text` with NAME in its
 * colour, `* NAME action` likewise, server notices dimmed, errors in red.
 * A replayed entry (`/history`) is dimmed, its mark replaced by the entry's
 * own time, unless `options.showIds`. With `options.names`, renames and the
 * user's own nickname are followed first (`NameColors.follow`), replayed
 * renames too.
 */
export function styleLine(line: string, options: StyleOptions): string {
  const text = visible(line);
  const replayed = HISTORY_MARK.exec(text);
  options.names?.follow(replayed ? text.slice(replayed[0].length) : text);
  const stamp = options.timestamps ? timestamp((options.now ?? Date.now)()) : "";
  if (replayed && !options.showIds) {
    const shown = timestamp(Date.parse(replayed[1]!)) + text.slice(replayed[0].length);
    return options.color ? sgr("2", shown) : shown;
  }
  if (!options.color) return stamp + text;
  if (text.startsWith("[history")) return sgr("2", stamp + text);
  const dimStamp = stamp ? sgr("2", stamp) : "";
  const colorOf = (name: string) => options.names?.colorOf(name) ?? colorFor(name);
  const message = /^<([^>]+)> /.exec(text);
  if (message) return dimStamp + sgr(`1;38;5;${colorOf(message[1]!)}`, `<${message[1]}>`) + text.slice(message[0].length - 1);
  const action = /^\* (\S+) /.exec(text);
  if (action) return dimStamp + sgr(`1;38;5;${colorOf(action[1]!)}`, `* ${action[1]}`) + text.slice(action[0].length - 1);
  if (text.startsWith("Error: ")) return dimStamp + sgr("31", text);
  return dimStamp + sgr("2", text);
}

/** What a terminal shows after the entries of a `/history` answer, in place of its end line. */
export const HISTORY_SEPARATOR = "── end of history ──";
/** What a terminal shows for a `/history` the user typed that had nothing to replay. */
export const HISTORY_NOTHING = "── no history ──";

/**
 * How a terminal shows `/history` answers (the one the client asks for on
 * joining, and any the user types): quietly. The user's own join, which the
 * answer on joining always ends with, is left out; so is the end line
 * (`[history end] N entries, last ID`), which is for scripts: a short
 * separator stands for it when entries were shown, and an answer the user
 * asked for that had none says so. `showIds` keeps every line as the
 * server sent it. A pipe never goes through this: it gets the bytes.
 */
export class HistoryView {
  /** Lines of the current answer shown so far. */
  private shown = 0;
  /** The first answer is to the client's own request on joining: an empty one is not worth a line. */
  private automatic: boolean;

  /**
   * @param self the user's address as the server names it (`HOST:PORT`), whose join is left out
   * @param asked whether the client asked for history on joining
   */
  constructor(
    private readonly self: string,
    asked: boolean,
    private readonly showIds = false,
  ) {
    this.automatic = asked;
  }

  /** The line to show in place of a received one, or null to show none. */
  take(line: string): string | null {
    if (this.showIds) return line;
    if (HISTORY_END.test(line)) {
      const shown = this.shown;
      const automatic = this.automatic;
      this.shown = 0;
      this.automatic = false;
      return shown > 0 ? HISTORY_SEPARATOR : automatic ? null : HISTORY_NOTHING;
    }
    const mark = HISTORY_MARK.exec(line);
    if (mark && isJoinOf(line.slice(mark[0].length), this.self)) return null;
    if (mark || line.startsWith("[history] ")) this.shown++;
    return line;
  }
}

/** Whether `text` is the join notice of the client at `address` (`Client (HOST, PORT) connected`). */
function isJoinOf(text: string, address: string): boolean {
  const join = /^(Client \(.+, \d+\)) connected$/.exec(text);
  return join !== null && messageName(join[1]!) === address;
}

/**
 * The user's own line, echoed above the input once sent, dimmed: `> text`,
 * or for `/me ACTION` what the others see, `* NAME ACTION` (NAME is
 * `options.names.self`, the user's own name as the server last said it).
 */
export function styleOwn(line: string, options: StyleOptions): string {
  const stamp = options.timestamps ? timestamp((options.now ?? Date.now)()) : "";
  // As the server words it: the bytes after `/me ` unchanged; `/me` alone is an error there.
  const action = /^\/me ((?=.*\S).*)$/is.exec(line);
  const shown = action && options.names ? `* ${options.names.self} ${action[1]}` : `> ${line}`;
  const text = stamp + visible(shown);
  return options.color ? sgr("2", text) : text;
}
