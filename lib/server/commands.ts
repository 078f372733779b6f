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
 * The commands parse and answer; what they do to the room is the room
 * service's (`CommandHost`). Commands pay like lines, and a hostile client
 * cannot make them expensive:
 * each is a line against the sender's rate limit (`/who`, whose answer
 * grows with the room, costs more: `commandCost`); no command does work in
 * proportion to the room per call (`/who`'s list is built once per change
 * of the room and shared, `/nick` looks names up in an index); and replies
 * stop while the asker's queued output is over its share of --max-outbound
 * (`REPLY_SHARE`), with one short error.
 */
import { EMPTY_BYTES } from "../bytes.ts";
import { encode } from "../chat/protocol.ts";
import { EntryKind, parseId } from "../chat/entry.ts";
import { cleanNick } from "../chat/naming.ts";
import type { Roster } from "./roster.ts";
import { type ServerAttachment, type Session, SessionState } from "./session.ts";
import type { Member } from "./room.ts";

/** What commands need from the server: the room service (`/quit` is the dispatcher's: see `runCommand`). */
export interface CommandHost {
  /** Output queued for one client past which it is too slow (bytes; 0: no limit); see `REPLY_SHARE`. */
  readonly maxOutbound: number;
  /** Send one line (without newline) to `session` only, worded by its codec. */
  reply(session: Session, text: string): void;
  /** Send `/who`'s answer (line-worded parts, kept by reference) to `session` only. */
  sendParts(session: Session, parts: readonly Uint8Array[]): void;
  /** Relay `text` as `session`'s message (LINE) or action (ACTION) to its room. */
  say(session: Session, kind: EntryKind.LINE | EntryKind.ACTION, text: Uint8Array): void;
  /**
   * Give `session` the nickname `nick` (cleaned, not its own): tells it
   * and the room; returns why not instead, or null when done.
   */
  rename(session: Session, nick: string): string | null;
  /**
   * Send `session` the log's entries `request` asks for, if the answer fits
   * in `fits(bytes)`; false when it does not.
   */
  replay(session: Session, request: HistoryRequest, fits: (bytes: number) => boolean): boolean;
  /** `/who`'s answer for `session`, as line-worded parts. */
  whoParts(session: Session): readonly Uint8Array[];
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

/**
 * The server's nicknames in lower case, so that `/nick` costs O(1) however
 * many clients there are. Entries are checked when read (the holder may
 * have left or been renamed since), and the index is rebuilt from the
 * sessions when stale entries outnumber live ones.
 */
export class NickIndex {
  private holders = new Map<string, Session>();

  /** The client of this server whose nickname is `nick` in any case, if any. */
  holder(nick: string): Session | null {
    const lower = nick.toLowerCase();
    const session = this.holders.get(lower);
    return session?.state === SessionState.JOINED && session.name.nick?.toLowerCase() === lower ? session : null;
  }

  /** `session` was renamed from `old` (null: it had no nickname); `everyone` rebuilds the index when it has gone stale. */
  renamed(session: Session, old: string | null, everyone: () => Iterable<Session>, count: number): void {
    if (old !== null && this.holders.get(old.toLowerCase()) === session) this.holders.delete(old.toLowerCase());
    this.holders.set(session.name.nick!.toLowerCase(), session);
    if (this.holders.size > 2 * count + 64) {
      this.holders.clear();
      for (const s of everyone()) if (s.name.nick !== null) this.holders.set(s.name.nick.toLowerCase(), s);
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
 * the room (a join, a leave, a rename, a change in the cluster's roster)
 * and shared by every asker: the answer is two views of the shared bytes
 * around the constant ` (you)`, so a `/who` costs a comparison per member
 * and no copy, not a string per member. Members of other servers come
 * last, each with its server (`erin (on b7)`).
 */
export class WhoList {
  /** The members the list was built from, in order (kept until the next build: one room's worth at most). */
  private built: readonly Member<ServerAttachment>[] = [];
  private builtRoster = -1;
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
   * of the asker's entry, ` (you)`, and the rest.
   */
  answerFor(members: readonly Member<ServerAttachment>[], roster: Roster, asker: Session): Uint8Array[] {
    if (!this.isBuiltFrom(members, roster)) this.build(members, roster);
    // The asker is always a member; were it not, the marker would go last.
    const end = this.ends[this.built.indexOf(asker.member)] ?? this.bytes.length - 1;
    return [this.bytes.subarray(0, end), YOU, this.bytes.subarray(end)];
  }

  private isBuiltFrom(members: readonly Member<ServerAttachment>[], roster: Roster): boolean {
    if (this.stale || members.length !== this.built.length || roster.version !== this.builtRoster) return false;
    for (let i = 0; i < members.length; i++) if (members[i] !== this.built[i]) return false;
    return true;
  }

  private build(members: readonly Member<ServerAttachment>[], roster: Roster): void {
    const remote = roster.entries().map(({ name, node }) => encode(`${name.shown(true)}${name.nick !== null ? ` (on ${node})` : ""}`));
    const entries = members.map((m) => (m.key.data as Session).whoEntry).concat(remote);
    const header = encode(`Online (${entries.length}): `);
    let total = header.length + NEWLINE.length + LIST_SEPARATOR.length * Math.max(0, entries.length - 1);
    for (const e of entries) total += e.length;
    const bytes = new Uint8Array(total);
    const ends = new Array<number>(members.length);
    bytes.set(header);
    let at = header.length;
    for (let i = 0; i < entries.length; i++) {
      if (i > 0) {
        bytes.set(LIST_SEPARATOR, at);
        at += LIST_SEPARATOR.length;
      }
      const entry = entries[i]!;
      bytes.set(entry, at);
      at += entry.length;
      if (i < members.length) ends[i] = at;
    }
    bytes.set(NEWLINE, at);
    this.bytes = bytes;
    this.ends = ends;
    this.built = members.slice();
    this.builtRoster = roster.version;
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
  if (name !== "history") return 1;
  // Like /who, by the size of its answer: a resume may be the whole log.
  const request = parseHistoryRequest(argumentOf(line));
  const size = typeof request === "string" ? 0 : request.count;
  return 1 + Math.ceil(size / WHO_MEMBERS_PER_TOKEN);
}

const HISTORY_USAGE = "Error: usage: /history [N] or /history since ID (ID as /history's last line gives it)";

/** `/history`'s argument: what it asks for, or the error to answer (one parser for the cost and the command). */
export function parseHistoryRequest(arg: string): HistoryRequest | string {
  const words = arg.split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return { count: DEFAULT_HISTORY_REPLAY, since: null };
  if (words.length === 1 && /^\d{1,9}$/.test(words[0]!)) return { count: Math.min(Number(words[0]), MAX_HISTORY_REPLAY), since: null };
  if (words.length === 2 && words[0]!.toLowerCase() === "since") {
    const since = parseId(words[1]!);
    if (!since) return `Error: ${words[1]} is not an entry id (EPOCH:NUMBER)`;
    return { count: MAX_HISTORY_REPLAY, since };
  }
  return HISTORY_USAGE;
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
 * Whether a reply of `bytes` may be queued for `session` (see
 * `REPLY_SHARE`). When not, the client is told so, once until a reply goes
 * through again.
 */
function replyFits(host: CommandHost, session: Session, bytes: number): boolean {
  const max = host.maxOutbound;
  if (max <= 0 || session.key.pendingBytes + bytes <= max / REPLY_SHARE) return true;
  if (!session.repliesRefused) {
    session.repliesRefused = true;
    host.reply(session, REPLIES_REFUSED);
  }
  return false;
}

/** `text` to `session` as a command reply: within its budget, else refused (see `replyFits`). */
function answer(host: CommandHost, session: Session, text: string): void {
  if (!replyFits(host, session, byteLength(text) + 1)) return;
  session.repliesRefused = false;
  host.reply(session, text);
}

/** UTF-8 bytes of `text`, without encoding it. */
function byteLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

// ---------------------------------------------------------------- running

const SLASH = 0x2f;
const SPACE = 0x20;
const decoder = new TextDecoder();

/** The command word of a line starting with `/`, in lower case: `who` for `/WHO all`. */
function commandName(line: Uint8Array): string {
  const space = line.indexOf(SPACE);
  return decoder.decode(line.subarray(1, space < 0 ? line.length : space)).toLowerCase();
}

/** What follows the command word, trimmed. */
function argumentOf(line: Uint8Array): string {
  const space = line.indexOf(SPACE);
  return space < 0 ? "" : decoder.decode(line.subarray(space + 1)).trim();
}

/** The `/help` text, one line. */
export const HELP =
  "Commands: /nick NAME (choose a name), /who (who is online), /me ACTION, /history [N | since ID] (what was said), /help, /quit (or q); //text sends /text";

/**
 * Run the command in `line` (which starts with `/`) for `session`; the
 * server has taken `commandCost(line)` tokens for it. Returns false for
 * `/quit`: the client leaves as with `q` (the dispatcher sees to that).
 */
export function runCommand(host: CommandHost, session: Session, line: Uint8Array): boolean {
  if (line[1] === SLASH) {
    host.say(session, EntryKind.LINE, line.subarray(1));
    return true;
  }
  const name = commandName(line);
  const space = line.indexOf(SPACE);
  const arg = argumentOf(line);
  switch (name) {
    case "nick":
      nick(host, session, arg);
      return true;
    case "who":
      who(host, session);
      return true;
    case "me":
      if (!arg) answer(host, session, "Error: usage: /me ACTION");
      // The action's bytes go out as sent: only the command word was decoded.
      else host.say(session, EntryKind.ACTION, line.subarray(space + 1));
      return true;
    case "help":
      answer(host, session, HELP);
      return true;
    case "history":
      history(host, session, arg);
      return true;
    case "quit":
      return false;
    default:
      answer(host, session, `Error: unknown command /${name} (try /help)`);
      return true;
  }
}

function nick(host: CommandHost, session: Session, requested: string): void {
  const wanted = cleanNick(requested);
  if (!wanted) return answer(host, session, `Error: usage: /nick NAME`);
  if (wanted === session.name.nick) return answer(host, session, `You are already ${wanted}`);
  if (!replyFits(host, session, 0)) return;
  session.repliesRefused = false;
  const problem = host.rename(session, wanted);
  if (problem) host.reply(session, `Error: ${problem}`);
}

function history(host: CommandHost, session: Session, arg: string): void {
  if (!replyFits(host, session, 0)) return;
  const request = parseHistoryRequest(arg);
  if (typeof request === "string") return answer(host, session, request);
  if (host.replay(session, request, (bytes) => replyFits(host, session, bytes))) session.repliesRefused = false;
}

function who(host: CommandHost, session: Session): void {
  // Refused before the list is looked at: a client over its budget costs nothing more.
  if (!replyFits(host, session, 0)) return;
  const parts = host.whoParts(session);
  let bytes = 0;
  for (const p of parts) bytes += p.length;
  if (!replyFits(host, session, bytes)) return;
  session.repliesRefused = false;
  host.sendParts(session, parts);
}
