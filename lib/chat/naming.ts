/**
 * How a member is named, in one place: the structured name every entry
 * carries, the nickname rules, and the words each transport builds from
 * them (a codec decides which it shows).
 *
 * A member is its address (`HOST:PORT`), the cluster node it is on ("" on a
 * lone server) and, once chosen, a nickname. Others see the nickname, else
 * the address; an address is not unique across the servers of a cluster
 * (two servers may each have a client at 127.0.0.1:5555), so where a
 * reader could meet both it gets `@NODE`: `127.0.0.1:5555@b7`. Nicknames
 * are unique in the room as they are (they never contain `:` and none
 * starts with `Client`), so they never get a suffix.
 */
import { formatHostPort, parseHostPort } from "../reactor/address.ts";

/** Who an entry is about: immutable; a rename makes a new one. */
export class MemberName {
  constructor(
    /** Chosen with `/nick`; null until then. */
    readonly nick: string | null,
    readonly host: string,
    readonly port: number,
    /** The cluster node the member is on; "" on a lone server. */
    readonly node: string,
  ) {}

  /** `HOST:PORT` (`[::1]:PORT` for IPv6). */
  get address(): string {
    return formatHostPort(this.host, this.port);
  }

  /** The same member under a new nickname. */
  renamed(nick: string): MemberName {
    return new MemberName(nick, this.host, this.port, this.node);
  }

  /**
   * How others see it: the nickname, else the address, which gets `@NODE`
   * when `qualify` (a reader who may meet the same address from another
   * server) and the member is on a node.
   */
  shown(qualify: boolean): string {
    if (this.nick !== null) return this.nick;
    return qualify && this.node !== "" ? `${this.address}@${this.node}` : this.address;
  }

  /**
   * How the seed's notices name it: `bob`, or `Client (HOST, PORT)` (with
   * `@NODE` after the tuple when `qualify`, as `shown` does).
   */
  noticeName(qualify: boolean): string {
    if (this.nick !== null) return this.nick;
    const tuple = addressTuple(this.host, this.port);
    return `Client ${tuple}${qualify && this.node !== "" ? `@${this.node}` : ""}`;
  }
}

/** `(HOST, PORT)`, as the original printed a peer's address tuple. */
export const addressTuple = (host: string, port: number): string => `(${host}, ${port})`;

/**
 * A name as the previous release wrote it into entries (`bob`,
 * `HOST:PORT`, or in a cluster `HOST:PORT@NODE`), back to its parts;
 * `origin` is the node the entry came from. Used to read old files.
 */
export function parseShownName(shown: string, origin: string): MemberName {
  const at = shown.lastIndexOf("@");
  const bare = at > 0 && shown.includes(":") ? shown.slice(0, at) : shown;
  const node = at > 0 && shown.includes(":") ? shown.slice(at + 1) : origin;
  const address = parseHostPort(bare);
  if (address) return new MemberName(null, address.host, address.port, node);
  return new MemberName(shown, "", 0, node);
}

// ---------------------------------------------------------------- nicknames

/** Longest nickname, in characters. */
export const MAX_NICK = 16;
/** ASCII only: no look-alike letters from other scripts, nothing a terminal draws oddly. */
const NICK = new RegExp(`^[A-Za-z][A-Za-z0-9_-]{0,${MAX_NICK - 1}}$`);

/**
 * Names that would let a client pass its lines off as the server's or as
 * staff: the words the server's own lines start with (`Client ...`,
 * `Server is shutting down`, `Online (N)`, `Commands:`, `Error:`, `You are
 * now ...`), the commands, and the usual staff and placeholder names.
 * Compared in lower case and without trailing `_`/`-` (`Server_` reads as
 * `Server`); see `isReservedNick`.
 */
export const RESERVED_NICKS: ReadonlySet<string> = new Set(
  (
    "server client clients error notice warning info you me online offline commands help who nick quit " +
    "admin administrator system root sysop operator op mod moderator staff nobody everyone all anonymous"
  ).split(" "),
);

/** Whether `nick` is one of `RESERVED_NICKS`, whatever its case or trailing `_`/`-`. */
export function isReservedNick(nick: string): boolean {
  return RESERVED_NICKS.has(nick.toLowerCase().replace(/[-_]+$/, ""));
}

/**
 * Characters dropped from a requested nickname before it is checked:
 * zero-width characters, bidi controls and line/paragraph separators are
 * invisible (or rearrange what follows), so `Bo<U+200B>b` would otherwise
 * be refused as a bad name rather than seen to be `Bob`, and any that got
 * through could make two names look alike.
 */
const INVISIBLE = /[\u00ad\u061c\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** A requested nickname without the invisible characters (`INVISIBLE`) and outer spaces. */
export function cleanNick(requested: string): string {
  return requested.replace(INVISIBLE, "").trim();
}

/**
 * Why a nickname is refused, or null when it is acceptable here. `taken`
 * says whether another member holds the name in any case (`Bob` and `BOB`
 * are one name).
 */
export function nickProblem(nick: string, taken: (nick: string) => boolean): string | null {
  if (!NICK.test(nick)) {
    return `a nickname is 1 to ${MAX_NICK} letters, digits, _ or -, starting with a letter`;
  }
  if (isReservedNick(nick)) return `the nickname ${nick} is reserved`;
  if (taken(nick)) return `the nickname ${nick} is taken`;
  return null;
}

/** A node name for `--node`: what fits in a Redis client name and reads well after `@`. */
export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
