/**
 * The chat protocol's wording, in one place.
 *
 * Notices keep the original server's text: `Client (HOST, PORT) connected`,
 * `... quits`, `... is offline`; once a client has chosen a nickname they
 * name it by that instead (`bob quits`, `bob is offline (too slow)`).
 * Messages are `<HOST:PORT> text`. Every line the server sends ends in `\n`.
 *
 * A message is the sender's bytes unchanged behind its prefix: the server
 * splits lines at `\n` (dropping a `\r` just before it) and interprets no
 * other byte, so a prefix always starts the line it belongs to. A `\r`,
 * escape sequence or U+2028 inside a line is relayed as is. Dropping one
 * of them would not protect a raw terminal (`nc`) from the others (a
 * backspace or `ESC [ G` moves the cursor as well as `\r`), and dropping
 * them all would break the byte-exact relay (spec/stress/abuse.test.ts,
 * fuzz.test.ts). Showing them harmlessly is the receiving client's job:
 * `visible()` in lib/client/display.ts.
 */
import { bytesEqual } from "../bytes.ts";

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`. */
export const encode = (text: string): Uint8Array => encoder.encode(text);

/**
 * The server's notices about clients and itself, without newline. `who` is
 * how notices name the client: its nickname, or `Client (HOST, PORT)`
 * (`MemberName.noticeName` in lib/chat/naming.ts).
 */
export const notice = {
  connected: (who: string) => `${who} connected`,
  quits: (who: string) => `${who} quits`,
  offline: (who: string, why?: string) => `${who} is offline${why ? ` (${why})` : ""}`,
  shutdown: () => "Server is shutting down",
  renamed: (who: string, nick: string) => `${who} is now ${nick}`,
  entered: (who: string) => `${who} joined`,
  parted: (who: string, to?: string) => `${who} left${to ? ` for ${to}` : ""}`,
};

/**
 * A private message as its receiver reads it over TCP: `[private] <bob> hi`
 * (`* bob waves` for an action); what its sender reads back, if anything,
 * is `[private to alice] hi`.
 */
export const privateText = {
  received: (from: string, action: boolean) => (action ? `[private] * ${from} ` : `[private] <${from}> `),
  sent: (to: string, action: boolean) => (action ? `[private to ${to}] * ` : `[private to ${to}] `),
};

/**
 * The one line a TLS client gets from a plain-TCP server (see
 * `looksLikeTls`) before it is closed.
 */
export const PLAIN_TCP_ONLY = "This server speaks plain TCP, not TLS: connect without --tls";

/** TLS's record type for a handshake, the first byte a TLS client sends. */
const TLS_HANDSHAKE = 0x16;
/** The major version byte of every TLS record (SSL 3.0 to TLS 1.3). */
const TLS_MAJOR = 0x03;

/**
 * Whether a connection's first bytes read as the start of a TLS handshake
 * record (`16 03 00..04`, a ClientHello), i.e. a TLS client talking to a
 * plain port: true, false, or null while `bytes` are too few to tell (a
 * prefix of such a record). No chat client starts with byte 0x16 (^V).
 */
export function looksLikeTls(bytes: Uint8Array): boolean | null {
  if (bytes.length === 0) return null;
  if (bytes[0] !== TLS_HANDSHAKE) return false;
  if (bytes.length === 1) return null;
  if (bytes[1] !== TLS_MAJOR) return false;
  if (bytes.length === 2) return null;
  return bytes[2]! <= 0x04;
}

/**
 * Whether a line is the original client's quit: a bare `q` or `Q`. The
 * server checks only this on every line; `/quit` reaches it as a command.
 */
export function isBareQuit(line: Uint8Array): boolean {
  return line.length === 1 && (line[0] === 0x71 || line[0] === 0x51);
}

const QUIT_COMMAND = encode("/quit");

/** `q`, `Q` or `/quit`: every line that makes a client leave (the client checks what its user types). */
export function isQuitCommand(line: Uint8Array): boolean {
  return isBareQuit(line) || bytesEqual(line, QUIT_COMMAND);
}

/** Names a presence line lists before it says "and N more". */
export const PRESENCE_NAMES = 20;

/**
 * The one line a client gets as it joins: who else is here.
 * `In the room: alice, bob and 3 more (5 others)`, or `In the room: nobody
 * else yet`; in a room other than the one clients enter on connecting,
 * the room is named: `In #rust: alice (1 other)`.
 */
export function presenceLine(names: readonly string[], others: number, room: string | null = null): string {
  const where = room === null ? "In the room" : `In ${room}`;
  if (others === 0) return `${where}: nobody else yet`;
  const more = others - names.length;
  const list = names.join(", ") + (more > 0 ? ` and ${more} more` : "");
  return `${where}: ${list} (${others} other${others === 1 ? "" : "s"})`;
}

/**
 * `/history`'s answer over TCP. Each replayed entry is its live line behind
 * `[history ID TIME] ` (TIME in UTC, to the second), so a reader tells
 * replay from live lines; a gap is said before the entries; the answer
 * ends with `[history end] ...`, which gives the newest id to resume from.
 */
export const historyText = {
  mark: (id: string, time: number) => `[history ${id} ${new Date(time).toISOString().slice(0, 19)}Z] `,
  missed: (count: number) => `[history] ${count} entr${count === 1 ? "y" : "ies"} missed: no longer kept`,
  reset: (id: string) => `[history] the log started over since ${id}: what was missed is unknown`,
  end: (count: number, last: string | null) => `[history end] ${count} entr${count === 1 ? "y" : "ies"}, last ${last ?? "none"}`,
};
