/**
 * The chat protocol's wording, in one place.
 *
 * Notices keep the original server's text: `Client (HOST, PORT) connected`,
 * `... quits`, `... is offline`. Messages are `<HOST:PORT> text`. Every line
 * the server sends ends in `\n`.
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
import type { Address } from "../reactor/events.ts";
import { formatHostPort } from "../reactor/address.ts";
import { bytesEqual } from "../bytes.ts";

const encoder = new TextEncoder();

/** UTF-8 bytes of `text`. */
export const encode = (text: string): Uint8Array => encoder.encode(text);

/** `(HOST, PORT)`, as the original printed a peer's address tuple. */
export const addressTuple = (a: Address): string => `(${a.host}, ${a.port})`;

/** The server's notices about clients and itself, without newline. */
export const notice = {
  connected: (a: Address) => `Client ${addressTuple(a)} connected`,
  quits: (a: Address) => `Client ${addressTuple(a)} quits`,
  offline: (a: Address, why?: string) => `Client ${addressTuple(a)} is offline${why ? ` (${why})` : ""}`,
  shutdown: () => "Server is shutting down",
  renamed: (a: Address, nick: string) => `Client ${addressTuple(a)} is now ${nick}`,
};

/** The bytes put in front of every message a client sends: `<HOST:PORT> `. */
export const messagePrefix = (a: Address): Uint8Array => encode(`<${formatHostPort(a.host, a.port)}> `);

/** The prefix once a client has chosen a nickname with `/nick`: `<NAME> `. */
export const nickPrefix = (nick: string): Uint8Array => encode(`<${nick}> `);

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
