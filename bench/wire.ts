// How the load generator talks to a target. A chat server takes lines and
// sends every client a notice when another one joins; Redis pub/sub takes
// PUBLISH commands, confirms each SUBSCRIBE to the client that sent it, and
// also sends a publisher its own messages. The benchmark message itself
// ("~b ...\n", bench/message.ts) is the same on both: in Redis it is the
// payload of a PUBLISH and arrives inside a push frame, where the scanner
// finds its marker just as it does after a chat server's "<HOST:PORT> ".
// WebSocket targets (JSON events in frames) have their own wire: bench/ws.ts.
// Pure TS (no Bun imports) so it is unit-tested under Node.

import { encodeCommand } from "../lib/cluster/resp.ts";

export interface Wire {
  readonly name: "line" | "redis" | "ws";
  /** Sent once, right after a client connects ("" for none). */
  readonly greeting: string;
  /** The word that, ending a line, tells one client that someone is in the room. */
  readonly notice: string;
  /** What those notices are, for status lines and notes. */
  readonly noticeName: string;
  /** Notices the clients receive in all when `add` clients join a room of `have`. */
  notices(have: number, add: number): number;
  /** One message line (newline included) as the bytes to send. */
  frame(line: string): string;
  /** The target sends a client's own messages back to it (they are not counted). */
  readonly echoesOwn: boolean;
}

/** A line chat server: ours, the C relay, any HOST:PORT. Each joiner is announced to everyone already in. */
export const lineWire: Wire = {
  name: "line",
  greeting: "",
  notice: "connected",
  noticeName: "join notices",
  notices: (have, add) => have * add + (add * (add - 1)) / 2,
  frame: (line) => line,
  echoesOwn: false,
};

/** The channel every client of the redis target subscribes and publishes to. */
export const REDIS_CHANNEL = "room";

const decoder = new TextDecoder();
const command = (...args: string[]): string => decoder.decode(encodeCommand(args));
/** Everything of a PUBLISH but its payload, built once: frame() runs per message. */
const PUBLISH_HEAD = `*3\r\n$7\r\nPUBLISH\r\n$${REDIS_CHANNEL.length}\r\n${REDIS_CHANNEL}\r\n`;

/**
 * Redis pub/sub, one connection per client. RESP3 (HELLO 3) lets a
 * subscribed connection PUBLISH too; in RESP2 it would need a second
 * connection. The confirmation of a client's SUBSCRIBE is its notice: it ends
 * `$9\r\nsubscribe\r\n`. Messages arrive as `>3 message room <line>` pushes.
 */
export const redisWire: Wire = {
  name: "redis",
  greeting: command("HELLO", "3") + command("SUBSCRIBE", REDIS_CHANNEL),
  notice: "subscribe",
  noticeName: "subscriptions",
  notices: (_have, add) => add,
  // messages are ASCII: characters are bytes
  frame: (line) => `${PUBLISH_HEAD}$${line.length}\r\n${line}\r\n`,
  echoesOwn: true,
};
