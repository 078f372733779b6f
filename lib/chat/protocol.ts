/**
 * The chat protocol's wording, in one place.
 *
 * Notices keep the original server's text: `Client (HOST, PORT) connected`,
 * `... quits`, `... is offline`. Messages are `<HOST:PORT> text`. Every line
 * the server sends ends in `\n`.
 */
import type { Address } from "../reactor/events.ts";
import { formatHostPort } from "../reactor/backend.ts";

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

/** Whether a line is the quit command of the original client: `q` or `Q`. */
export function isQuit(line: Uint8Array): boolean {
  return line.length === 1 && (line[0] === 0x71 || line[0] === 0x51);
}

const QUIT_COMMAND = encode("/quit");

/** `q`, `Q` or the `/quit` command: what makes a client leave. */
export function isQuitLine(line: Uint8Array): boolean {
  if (isQuit(line)) return true;
  if (line.length !== QUIT_COMMAND.length) return false;
  for (let i = 0; i < line.length; i++) if (line[i] !== QUIT_COMMAND[i]) return false;
  return true;
}
