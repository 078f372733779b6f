/**
 * Server commands: lines that start with `/`.
 *
 *   /nick NAME   choose a nickname; messages then read `<NAME> text`
 *   /who         who is online (to the asker only)
 *   /me ACTION   `* NAME ACTION` to everyone else
 *   /history [N] the room's last N entries (to the asker only)
 *   /history since ID   everything after entry ID (a resume)
 *   /help        the list of commands
 *   /quit        leave, like `q`
 *   //text       the message `/text` (a message that starts with a slash)
 *
 * Commands are rare next to messages, so this code decodes text and
 * allocates freely; the server only calls it for lines whose first byte is
 * `/`, which keeps the hot path at one byte comparison.
 *
 * Commands pay like lines, and a hostile client cannot make them expensive:
 * each is a line against the sender's rate limit (`/who`, whose answer
 * grows with the room, costs more: `commandCost`); no command does work in
 * proportion to the room per call (`/who`'s list is built once per change
 * of the room and shared, `/nick` looks names up in an index); and replies
 * stop while the asker's queued output is over its share of --max-outbound
 * (`REPLY_SHARE`), with one short error.
 */
import { EMPTY_BYTES } from "../bytes.ts";
import { encode, notice } from "../chat/protocol.ts";
import { EntryKind, parseId } from "../chat/entry.ts";
import type { Peer, ServerAttachment } from "./peer.ts";
import type { Member } from "./room.ts";

/** What commands need from the server. */
export interface CommandHost {
  /** The room's members (each one's `Peer` is its `key.data`), in the room's order. */
  members(): readonly Member<ServerAttachment>[];
  /** Output queued for one client past which it is too slow (bytes; 0: no limit); see `REPLY_SHARE`. */
  readonly maxOutbound: number;
  /** Send one line (without newline) to `peer` only. */
  reply(peer: Peer, text: string): void;
  /** Send `bytes` (kept by reference, never changed afterwards) to `peer` only. */
  send(peer: Peer, bytes: Uint8Array): void;
  /** Tell every client but `about` a notice concerning it; logged and relayed too (`kind`, `newName`: as the room's log records it). */
  announce(about: Peer, text: string, reach?: number, kind?: EntryKind, newName?: string): void;
  /**
   * Send `peer` the log's entries `request` asks for, if the answer fits
   * in `fits(bytes)`; false when it does not.
   */
  replay(peer: Peer, request: HistoryRequest, fits: (bytes: number) => boolean): boolean;
  /** Relay `line` as `peer`'s message under `prefix` (its `<NAME> ` or a `/me` star). */
  say(peer: Peer, prefix: Uint8Array, line: Uint8Array): void;
  /** The client leaves as with `q`. */
  quit(peer: Peer): void;
  /** Whether a client of another server of the cluster goes by `nick` (in any case), as far as this one knows. */
  nickElsewhere(nick: string): boolean;
}

/** What `/history` asks for: the last `count` entries, or those after `since`. */
export interface HistoryRequest {
  count: number;
  since: { epoch: string; seq: number } | null;
}

/** Most entries one `/history N` replays. */
export const MAX_HISTORY_REPLAY = 1000;
/** Entries `/history` replays when no number is given. */
export const DEFAULT_HISTORY_REPLAY = 50;

// ---------------------------------------------------------------- names

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
 * says whether another client holds the name in any case (`Bob` and `BOB`
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

/** How a client is named to others: its nickname, else `HOST:PORT`. */
export function displayName(peer: Peer): string {
  return peer.nick ?? peer.address;
}

/**
 * The room's nicknames in lower case, so that `/nick` costs O(1) however
 * big the room. Entries are checked when read (the holder may have left or
 * been renamed since), and the index is rebuilt from the room when stale
 * entries outnumber live ones.
 */
export class NickIndex {
  private holders = new Map<string, Peer>();

  /** The client in the room whose nickname is `nick` in any case, if any. */
  holder(nick: string): Peer | null {
    const lower = nick.toLowerCase();
    const peer = this.holders.get(lower);
    return peer?.member.joined && peer.nick?.toLowerCase() === lower ? peer : null;
  }

  /** `peer` was renamed from `old` (null: it had no nickname). */
  renamed(peer: Peer, old: string | null, members: readonly Member<ServerAttachment>[]): void {
    if (old !== null && this.holders.get(old.toLowerCase()) === peer) this.holders.delete(old.toLowerCase());
    this.holders.set(peer.nick!.toLowerCase(), peer);
    if (this.holders.size > 2 * members.length + 64) {
      this.holders.clear();
      for (const m of members) {
        const p = m.key.data as Peer;
        if (p.nick !== null) this.holders.set(p.nick.toLowerCase(), p);
      }
    }
  }
}

// ---------------------------------------------------------------- /who

/** What `/who` puts after the asker's own entry. */
const YOU = encode(" (you)");
const LIST_SEPARATOR = encode(", ");
const NEWLINE = encode("\n");

/**
 * `/who`'s answer, `Online (N): A, B (you), C\n`, built once per change of
 * the room (a join, a leave, a rename) and shared by every asker: the
 * answer is two views of the shared bytes around the constant ` (you)`,
 * so a `/who` costs a comparison per member and no copy, not a string per
 * member.
 */
export class WhoList {
  /** The members the list was built from, in order (kept until the next build: one room's worth at most). */
  private built: readonly Member<ServerAttachment>[] = [];
  private bytes: Uint8Array = EMPTY_BYTES;
  /** Where each member's entry ends in `bytes`, in the order of `built`. */
  private ends: number[] = [];
  /** A member was renamed since the list was built. */
  private stale = true;

  /** A member was renamed: its entry changed. */
  invalidate(): void {
    this.stale = true;
  }

  /**
   * The answer for `asker` (a member of `members`): the list up to the end
   * of the asker's entry, and the rest; ` (you)` goes in between.
   */
  answerFor(members: readonly Member<ServerAttachment>[], asker: Peer): [Uint8Array, Uint8Array] {
    if (!this.isBuiltFrom(members)) this.build(members);
    // The asker is always a member; were it not, the marker would go last.
    const end = this.ends[this.built.indexOf(asker.member)] ?? this.bytes.length - 1;
    return [this.bytes.subarray(0, end), this.bytes.subarray(end)];
  }

  private isBuiltFrom(members: readonly Member<ServerAttachment>[]): boolean {
    if (this.stale || members.length !== this.built.length) return false;
    for (let i = 0; i < members.length; i++) if (members[i] !== this.built[i]) return false;
    return true;
  }

  private build(members: readonly Member<ServerAttachment>[]): void {
    const header = encode(`Online (${members.length}): `);
    let total = header.length + NEWLINE.length + LIST_SEPARATOR.length * Math.max(0, members.length - 1);
    for (const m of members) total += (m.key.data as Peer).whoEntry.length;
    const bytes = new Uint8Array(total);
    const ends = new Array<number>(members.length);
    bytes.set(header);
    let at = header.length;
    for (let i = 0; i < members.length; i++) {
      if (i > 0) {
        bytes.set(LIST_SEPARATOR, at);
        at += LIST_SEPARATOR.length;
      }
      const entry = (members[i]!.key.data as Peer).whoEntry;
      bytes.set(entry, at);
      at += entry.length;
      ends[i] = at;
    }
    bytes.set(NEWLINE, at);
    this.bytes = bytes;
    this.ends = ends;
    this.built = members.slice();
    this.stale = false;
  }
}

// ---------------------------------------------------------------- costs

/** Room members per extra token a `/who` costs (see `commandCost`). */
export const WHO_MEMBERS_PER_TOKEN = 100;

/**
 * Tokens of the sender's rate limit a line starting with `/` costs: 1, as
 * any line, but `/who` 1 + members/`WHO_MEMBERS_PER_TOKEN`, its answer
 * growing with the room (about 30 bytes a member). The server takes them
 * before the command runs (`ClientLimits.admitLine`).
 */
export function commandCost(line: Uint8Array, members: number): number {
  const name = commandName(line);
  if (name === "who") return 1 + Math.floor(members / WHO_MEMBERS_PER_TOKEN);
  // Like /who, by the size of its answer: a resume may be the whole log.
  if (name === "history") return 1 + Math.ceil(historyRequestSize(line) / WHO_MEMBERS_PER_TOKEN);
  return 1;
}

/** Entries a `/history` line may ask for at most. */
function historyRequestSize(line: Uint8Array): number {
  const n = Number(/^\/\S+\s+(\d+)\s*$/.exec(decoder.decode(line))?.[1] ?? NaN);
  if (Number.isInteger(n)) return Math.min(n, MAX_HISTORY_REPLAY);
  return /\ssince\s/i.test(decoder.decode(line)) ? MAX_HISTORY_REPLAY : DEFAULT_HISTORY_REPLAY;
}

/**
 * A client's command replies may fill its outbound queue up to
 * --max-outbound / REPLY_SHARE. Past half of --max-outbound the server
 * counts a reader as lagging (and holds the room's intake for it), so a
 * client asking for more than it reads is refused well before that, with
 * room to spare for what the room says meanwhile.
 */
export const REPLY_SHARE = 4;

/** The one line a client over its reply budget gets (once per run of refusals). */
export const REPLIES_REFUSED = "Error: too much output is waiting for you; commands are refused until you read it";

/**
 * Whether a reply of `bytes` may be queued for `peer` (see `REPLY_SHARE`).
 * When not, the client is told so, once until a reply goes through again.
 */
function replyFits(host: CommandHost, peer: Peer, bytes: number): boolean {
  const max = host.maxOutbound;
  if (max <= 0 || peer.key.pendingBytes + bytes <= max / REPLY_SHARE) return true;
  if (!peer.repliesRefused) {
    peer.repliesRefused = true;
    host.reply(peer, REPLIES_REFUSED);
  }
  return false;
}

/** `text` to `peer` as a command reply: within its budget, else refused (see `replyFits`). */
function answer(host: CommandHost, peer: Peer, text: string): void {
  if (!replyFits(host, peer, text.length + 1)) return;
  peer.repliesRefused = false;
  host.reply(peer, text);
}

// ---------------------------------------------------------------- running

/** What the commands keep per server: `/who`'s shared list and the nickname index. */
interface CommandState {
  readonly who: WhoList;
  readonly nicks: NickIndex;
}
const states = new WeakMap<CommandHost, CommandState>();

function stateOf(host: CommandHost): CommandState {
  let state = states.get(host);
  if (state === undefined) states.set(host, (state = { who: new WhoList(), nicks: new NickIndex() }));
  return state;
}

const SLASH = 0x2f;
const SPACE = 0x20;
const decoder = new TextDecoder();

/** The command word of a line starting with `/`, in lower case: `who` for `/WHO all`. */
function commandName(line: Uint8Array): string {
  const space = line.indexOf(SPACE);
  return decoder.decode(line.subarray(1, space < 0 ? line.length : space)).toLowerCase();
}

/** The `/help` text, one line. */
export const HELP =
  "Commands: /nick NAME (choose a name), /who (who is online), /me ACTION, /history [N | since ID] (what was said), /help, /quit (or q); //text sends /text";

/**
 * Run the command in `line` (which starts with `/`) for `peer`; the server
 * has taken `commandCost(line)` tokens for it. Returns false when the
 * client is gone (it quit), as `onLine` does.
 */
export function runCommand(host: CommandHost, peer: Peer, line: Uint8Array): boolean {
  if (line[1] === SLASH) {
    host.say(peer, peer.prefix, line.subarray(1));
    return true;
  }
  const name = commandName(line);
  const space = line.indexOf(SPACE);
  const arg = space < 0 ? "" : decoder.decode(line.subarray(space + 1)).trim();
  switch (name) {
    case "nick":
      nick(host, peer, arg);
      return true;
    case "who":
      who(host, peer);
      return true;
    case "me":
      if (!arg) answer(host, peer, "Error: usage: /me ACTION");
      // The action's bytes go out as sent: only the command word was decoded.
      else host.say(peer, encode(`* ${displayName(peer)} `), line.subarray(space + 1));
      return true;
    case "help":
      answer(host, peer, HELP);
      return true;
    case "history":
      history(host, peer, arg);
      return true;
    case "quit":
      host.quit(peer);
      return false;
    default:
      answer(host, peer, `Error: unknown command /${name} (try /help)`);
      return true;
  }
}

function nick(host: CommandHost, peer: Peer, requested: string): void {
  const wanted = cleanNick(requested);
  if (!wanted) return answer(host, peer, `Error: usage: /nick NAME`);
  if (wanted === peer.nick) return answer(host, peer, `You are already ${wanted}`);
  if (!replyFits(host, peer, 0)) return;
  const { nicks, who } = stateOf(host);
  const problem = nickProblem(wanted, (name) => {
    const holder = nicks.holder(name);
    return (holder !== null && holder !== peer) || host.nickElsewhere(name);
  });
  peer.repliesRefused = false;
  if (problem) return host.reply(peer, `Error: ${problem}`);
  const old = peer.nick;
  host.reply(peer, `You are now ${wanted}`);
  // Announced before the rename: a nick entry's sender is the name the others
  // knew (the web page's member list and a cluster's roster replace it).
  host.announce(peer, notice.renamed(peer.noticeName, wanted), undefined, EntryKind.NICK, wanted);
  peer.rename(wanted);
  nicks.renamed(peer, old, host.members());
  who.invalidate();
}

const HISTORY_USAGE = "Error: usage: /history [N] or /history since ID (ID as /history's last line gives it)";

function history(host: CommandHost, peer: Peer, arg: string): void {
  if (!replyFits(host, peer, 0)) return;
  const words = arg.split(/\s+/).filter((w) => w !== "");
  let request: HistoryRequest | null = null;
  if (words.length === 0) request = { count: DEFAULT_HISTORY_REPLAY, since: null };
  else if (words.length === 1 && /^\d{1,9}$/.test(words[0]!)) {
    request = { count: Math.min(Number(words[0]), MAX_HISTORY_REPLAY), since: null };
  } else if (words.length === 2 && words[0]!.toLowerCase() === "since") {
    const since = parseId(words[1]!);
    if (!since) return answer(host, peer, `Error: ${words[1]} is not an entry id (EPOCH:NUMBER)`);
    request = { count: MAX_HISTORY_REPLAY, since };
  }
  if (!request) return answer(host, peer, HISTORY_USAGE);
  if (host.replay(peer, request, (bytes) => replyFits(host, peer, bytes))) peer.repliesRefused = false;
}

function who(host: CommandHost, peer: Peer): void {
  // Refused before the list is looked at: a client over its budget costs nothing more.
  if (!replyFits(host, peer, 0)) return;
  const [head, tail] = stateOf(host).who.answerFor(host.members(), peer);
  if (!replyFits(host, peer, head.length + YOU.length + tail.length)) return;
  if (peer.member.events) {
    // A web client gets it as one reply event.
    const text = decoder.decode(head) + decoder.decode(YOU) + decoder.decode(tail.subarray(0, tail.length - 1));
    return answer(host, peer, text);
  }
  peer.repliesRefused = false;
  host.send(peer, head);
  host.send(peer, YOU);
  host.send(peer, tail);
}
