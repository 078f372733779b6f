/**
 * Server commands: lines that start with `/`.
 *
 *   /nick NAME   choose a nickname; messages then read `<NAME> text`
 *   /who         who is in the room (to the asker only)
 *   /me ACTION   `* NAME ACTION` to everyone else
 *   /join ROOM   go to ROOM (a page: be in it too), made if it is new
 *   /part [ROOM] leave it (a line client goes back to the room it started in)
 *   /rooms       the rooms and how many are in each
 *   /msg NICK text   to NICK only, wherever it is; never stored
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
import { EntryKind, parseId } from "../chat/entry.ts";
import { cleanNick } from "../chat/naming.ts";
import type { ChatRoom } from "./chat-room.ts";
import type { Session } from "./session.ts";

/** What commands need from the server: the room service (`/quit` is the dispatcher's: see `runCommand`). */
export interface CommandHost {
  /** Output queued for one client past which it is too slow (bytes; 0: no limit); see `REPLY_SHARE`. */
  readonly maxOutbound: number;
  /** Send one line (without newline) to `session` only, worded by its codec. */
  reply(session: Session, text: string): void;
  /** Send `/who`'s answer (line-worded parts, kept by reference) to `session` only. */
  sendParts(session: Session, parts: readonly Uint8Array[]): void;
  /** Relay `text` as `session`'s message (LINE) or action (ACTION) to `room`. */
  say(session: Session, room: ChatRoom, kind: EntryKind.LINE | EntryKind.ACTION, text: Uint8Array): void;
  /**
   * Give `session` the nickname `nick` (cleaned, not its own): tells it
   * and its rooms; returns why not instead, or null when done.
   */
  rename(session: Session, nick: string): string | null;
  /**
   * Send `session` the entries of `room`'s log `request` asks for, if the
   * answer fits in `fits(bytes)`; false when it does not.
   */
  replay(session: Session, room: ChatRoom, request: HistoryRequest, fits: (bytes: number) => boolean): boolean;
  /** `/who`'s answer for `session` in `room`, as line-worded parts. */
  whoParts(session: Session, room: ChatRoom): readonly Uint8Array[];
  /** `/join ROOM`; why not, or null when done. */
  join(session: Session, room: string): string | null;
  /** `/part [ROOM]`; why not, or null when done. */
  part(session: Session, room: string | null): string | null;
  /** `/rooms`' answer. */
  roomsList(): string;
  /** `/msg NICK text`; why not, or null when sent. */
  privateMessage(session: Session, nick: string, action: boolean, text: Uint8Array): string | null;
}

/** A room as the commands see it: its size, for costs. */
export interface CommandRoom {
  readonly population: number;
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

// ---------------------------------------------------------------- costs

/** Room members per extra token a `/who` costs (see `commandCost`). */
export const WHO_MEMBERS_PER_TOKEN = 100;

/**
 * Tokens of the sender's rate limit a line starting with `/` costs: 1, as
 * any line, but `/who` 1 + members/`WHO_MEMBERS_PER_TOKEN`, its answer
 * growing with the room (about 30 bytes a member), `/rooms` likewise by
 * the rooms it lists, `/history` by the entries it may replay. The server
 * takes them before the command runs (`ClientLimits.admitLine`).
 */
export function commandCost(line: Uint8Array, members: number): number {
  const name = commandName(line);
  if (name === "who") return 1 + Math.floor(members / WHO_MEMBERS_PER_TOKEN);
  if (name === "rooms") return 1 + Math.floor(ROOMS_LISTED_COST / WHO_MEMBERS_PER_TOKEN);
  if (name !== "history") return 1;
  // Like /who, by the size of its answer: a resume may be the whole log.
  const request = parseHistoryRequest(argumentOf(line));
  const size = typeof request === "string" ? 0 : request.count;
  return 1 + Math.ceil(size / WHO_MEMBERS_PER_TOKEN);
}

/** What `/rooms` costs as if it listed this many members (it names at most 50 rooms). */
const ROOMS_LISTED_COST = 100;

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
  "Commands: /nick NAME (choose a name), /who (who is here), /me ACTION, /join ROOM, /part, /rooms, /msg NICK TEXT (private, never stored), " +
  "/history [N | since ID] (what was said), /help, /quit (or q); //text sends /text";

/**
 * Run the command in `line` (which starts with `/`) for `session`, said in
 * `room`; the server has taken `commandCost(line)` tokens for it. Returns
 * false for `/quit`: the client leaves as with `q` (the dispatcher sees to
 * that).
 */
export function runCommand(host: CommandHost, session: Session, room: ChatRoom, line: Uint8Array): boolean {
  if (line[1] === SLASH) {
    host.say(session, room, EntryKind.LINE, line.subarray(1));
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
      who(host, session, room);
      return true;
    case "me":
      if (!arg) answer(host, session, "Error: usage: /me ACTION");
      // The action's bytes go out as sent: only the command word was decoded.
      else host.say(session, room, EntryKind.ACTION, line.subarray(space + 1));
      return true;
    case "join":
      if (!arg || /\s/.test(arg)) answer(host, session, "Error: usage: /join ROOM");
      else refusedIf(host, session, () => host.join(session, arg));
      return true;
    case "part":
      if (/\s/.test(arg)) answer(host, session, "Error: usage: /part [ROOM]");
      // Without a name, the room the line was said in (a page names it; a line client is in one).
      else refusedIf(host, session, () => host.part(session, arg || room.name));
      return true;
    case "rooms":
      answer(host, session, host.roomsList());
      return true;
    case "msg":
      privateMessage(host, session, line, arg);
      return true;
    case "help":
      answer(host, session, HELP);
      return true;
    case "history":
      history(host, session, room, arg);
      return true;
    case "quit":
      return false;
    default:
      answer(host, session, `Error: unknown command /${name} (try /help)`);
      return true;
  }
}

/** Run `act` if the client's replies fit; tell it why not when `act` says. */
function refusedIf(host: CommandHost, session: Session, act: () => string | null): void {
  if (!replyFits(host, session, 0)) return;
  session.repliesRefused = false;
  const problem = act();
  if (problem) host.reply(session, `Error: ${problem}`);
}

/** `/msg NICK text` (or `/msg NICK /me action`): the text's bytes go as sent. */
function privateMessage(host: CommandHost, session: Session, line: Uint8Array, arg: string): void {
  const m = /^(\S+)\s+(\S[\s\S]*)$/.exec(arg);
  if (!m) return answer(host, session, "Error: usage: /msg NICK TEXT");
  const nick = cleanNick(m[1]!);
  // Where the text starts in the line's bytes: after `/msg`, the spaces, the nick and the spaces.
  let at = line.indexOf(SPACE) + 1;
  while (line[at] === SPACE) at++;
  while (at < line.length && line[at] !== SPACE) at++;
  while (line[at] === SPACE) at++;
  let text = line.subarray(at);
  const action = m[2]!.startsWith("/me ");
  if (action) text = text.subarray(4);
  refusedIf(host, session, () => host.privateMessage(session, nick, action, text));
}

function nick(host: CommandHost, session: Session, requested: string): void {
  const wanted = cleanNick(requested);
  if (!wanted) return answer(host, session, `Error: usage: /nick NAME`);
  if (wanted === session.name.nick) return answer(host, session, `You are already ${wanted}`);
  refusedIf(host, session, () => host.rename(session, wanted));
}

function history(host: CommandHost, session: Session, room: ChatRoom, arg: string): void {
  if (!replyFits(host, session, 0)) return;
  const request = parseHistoryRequest(arg);
  if (typeof request === "string") return answer(host, session, request);
  if (host.replay(session, room, request, (bytes) => replyFits(host, session, bytes))) session.repliesRefused = false;
}

function who(host: CommandHost, session: Session, room: ChatRoom): void {
  // Refused before the list is looked at: a client over its budget costs nothing more.
  if (!replyFits(host, session, 0)) return;
  const parts = host.whoParts(session, room);
  let bytes = 0;
  for (const p of parts) bytes += p.length;
  if (!replyFits(host, session, bytes)) return;
  session.repliesRefused = false;
  host.sendParts(session, parts);
}
