/**
 * Server commands: lines that start with `/`.
 *
 *   /nick NAME   choose a nickname; messages then read `<NAME> text`
 *   /who         who is online (to the asker only)
 *   /me ACTION   `* NAME ACTION` to everyone else
 *   /help        the list of commands
 *   /quit        leave, like `q`
 *   //text       the message `/text` (a message that starts with a slash)
 *
 * Commands are rare next to messages, so this code decodes text and
 * allocates freely; the server only calls it for lines whose first byte is
 * `/`, which keeps the hot path at one byte comparison.
 */
import { addressTuple, encode, nickPrefix, notice } from "../chat/protocol.ts";
import type { Peer } from "./peer.ts";

/** What commands need from the server. */
export interface CommandHost {
  /** The clients connected to this server. */
  peers(): Iterable<Peer>;
  /** Send one line (without newline) to `peer` only. */
  reply(peer: Peer, text: string): void;
  /** Tell every client but `about` a notice concerning it; logged and relayed too. */
  announce(about: Peer, text: string): void;
  /** Relay `line` as `peer`'s message under `prefix` (its `<NAME> ` or a `/me` star). */
  say(peer: Peer, prefix: Uint8Array, line: Uint8Array): void;
  /** The client leaves as with `q`. */
  quit(peer: Peer): void;
}

/** Longest nickname, in characters. */
export const MAX_NICK = 16;
const NICK = new RegExp(`^[A-Za-z][A-Za-z0-9_-]{0,${MAX_NICK - 1}}$`);

/** Why a nickname is refused, or null when it is acceptable here. */
export function nickProblem(nick: string, taken: (nick: string) => boolean): string | null {
  if (!NICK.test(nick)) {
    return `a nickname is 1 to ${MAX_NICK} letters, digits, _ or -, starting with a letter`;
  }
  if (taken(nick)) return `the nickname ${nick} is taken`;
  return null;
}

/** How a client is named to others: its nickname, else `HOST:PORT`. */
export function displayName(peer: Peer): string {
  return peer.nick ?? peer.address;
}

const SLASH = 0x2f;
const decoder = new TextDecoder();

/** The `/help` text, one line. */
export const HELP =
  "Commands: /nick NAME (choose a name), /who (who is online), /me ACTION, /help, /quit (or q); //text sends /text";

/**
 * Run the command in `line` (which starts with `/`) for `peer`.
 * Returns false when the client is gone (it quit), as `onLine` does.
 */
export function runCommand(host: CommandHost, peer: Peer, line: Uint8Array): boolean {
  if (line[1] === SLASH) {
    host.say(peer, peer.prefix, line.subarray(1));
    return true;
  }
  const text = decoder.decode(line);
  const space = text.indexOf(" ");
  const name = (space < 0 ? text.slice(1) : text.slice(1, space)).toLowerCase();
  const arg = space < 0 ? "" : text.slice(space + 1).trim();
  switch (name) {
    case "nick":
      nick(host, peer, arg);
      return true;
    case "who":
      host.reply(peer, who(host, peer));
      return true;
    case "me":
      if (!arg) host.reply(peer, "Error: usage: /me ACTION");
      // The action's bytes go out as sent: only the command word was decoded.
      else host.say(peer, encode(`* ${displayName(peer)} `), line.subarray(line.indexOf(0x20) + 1));
      return true;
    case "help":
      host.reply(peer, HELP);
      return true;
    case "quit":
      host.quit(peer);
      return false;
    default:
      host.reply(peer, `Error: unknown command /${name} (try /help)`);
      return true;
  }
}

function nick(host: CommandHost, peer: Peer, wanted: string): void {
  if (!wanted) return host.reply(peer, `Error: usage: /nick NAME`);
  if (wanted === peer.nick) return host.reply(peer, `You are already ${wanted}`);
  const taken = (name: string): boolean => {
    const lower = name.toLowerCase();
    for (const p of host.peers()) if (p !== peer && p.nick?.toLowerCase() === lower) return true;
    return false;
  };
  const problem = nickProblem(wanted, taken);
  if (problem) return host.reply(peer, `Error: ${problem}`);
  peer.nick = wanted;
  peer.prefix = nickPrefix(wanted);
  host.reply(peer, `You are now ${wanted}`);
  host.announce(peer, notice.renamed(peer.conn.remote, wanted));
}

function who(host: CommandHost, asker: Peer): string {
  const names: string[] = [];
  for (const p of host.peers()) {
    const label = p.nick ? `${p.nick} ${addressTuple(p.conn.remote)}` : addressTuple(p.conn.remote);
    names.push(p === asker ? `${label} (you)` : label);
  }
  return `Online (${names.length}): ${names.join(", ")}`;
}
