/**
 * The IRC codec: how a room's entries reach an IRC client (lib/irc/protocol.ts
 * speaks the rest of IRC). Entries become the lines an IRC client expects:
 *
 *   LINE            :nick!uPORT@HOST PRIVMSG #room :text
 *   ACTION (/me)    :nick!uPORT@HOST PRIVMSG #room :\x01ACTION text\x01
 *   JOIN, ENTER     :nick!uPORT@HOST JOIN #room
 *   PART            :nick!uPORT@HOST PART #room [:left for #other]
 *   QUIT, LEAVE     :nick!uPORT@HOST QUIT :Quit | :why
 *   NICK            :old!uPORT@HOST NICK new
 *   NOTICE          :server NOTICE #room :text
 *
 * with `@time=...` (server-time) and `msgid=EPOCH:SEQ` (message-tags) in
 * front when the codec's capability set has them. One codec per capability
 * set in use (see `IrcCodecs`), so a room words an entry once per set, not
 * once per reader.
 *
 * A line is one line: NUL, CR and LF in what others sent become spaces,
 * `\x01` in a message too (nobody can pass a CTCP request, a DCC offer say,
 * through another transport), and a text longer than one IRC line allows
 * (512 bytes with CR LF, tags aside) is split into several messages, at a
 * UTF-8 character boundary.
 */
import { ByteBuilder } from "../bytes.ts";
import { EntryKind, type EntryContent, formatId, type LogEntry, type PrivateMessage } from "../chat/entry.ts";
import { LineFramer } from "../chat/framing.ts";
import type { MemberName } from "../chat/naming.ts";
import { shownRoom } from "../chat/rooms.ts";
import type { Codec, HistoryAnswer, Presence } from "../codecs/codec.ts";
import { bytesToLatin1, latin1ToBytes, MAX_LINE, serialize } from "./message.ts";
import { ircMask, ircNick } from "./names.ts";

/** The capabilities that change how entries are worded (and so choose the codec). */
export interface IrcWording {
  /** `server-time`: `@time=` on every entry. */
  readonly serverTime: boolean;
  /** `message-tags`: `msgid=` on every entry (the codec then waits for a cluster's numbering). */
  readonly messageTags: boolean;
  /** `echo-message`: a client gets its own messages back. */
  readonly echo: boolean;
}

const decoder = new TextDecoder();
const CTCP = "\x01";

/** The IRC codec for one capability set; see the top of this file. */
export class IrcCodec implements Codec {
  readonly name = "irc";
  readonly echo: boolean;
  readonly numbered: boolean;
  readonly rawStream = true;
  readonly bareQuit = false;

  constructor(
    /** The server's name: the source of its own lines. */
    readonly serverName: string,
    /** This server's cluster node ("" alone). */
    readonly node: string,
    readonly wording: IrcWording,
  ) {
    this.echo = wording.echo;
    this.numbered = wording.messageTags;
  }

  newFramer(maxLine: number): LineFramer {
    // The dispatcher's limit bounds memory; the protocol refuses lines over IRC's 512 (417).
    return new LineFramer(maxLine);
  }

  /** How this codec's readers see `name`. */
  nick(name: MemberName): string {
    return ircNick(name, this.node);
  }

  /** How this codec's readers see `name` as a message's source. */
  mask(name: MemberName): string {
    return ircMask(name, this.node);
  }

  entry(out: ByteBuilder, room: string, e: EntryContent, id: string | null, _replayed: boolean): void {
    for (const line of this.entryLines(room, e, id, null)) out.append(line);
  }

  /** The lines of one entry, each with CR LF; `batch`: the id of the batch they belong to. */
  entryLines(room: string, e: EntryContent, id: string | null, batch: string | null): Uint8Array[] {
    const channel = shownRoom(room);
    const tags = this.tags(e.time, id, batch);
    const source = e.sender ? ircMask(e.sender, this.node) : this.serverName;
    switch (e.kind) {
      case EntryKind.LINE:
      case EntryKind.ACTION:
        return this.privmsgs(tags, source, channel, e.text, e.kind === EntryKind.ACTION, id);
      case EntryKind.JOIN:
      case EntryKind.ENTER:
        return [this.line(tags, source, "JOIN", [channel])];
      case EntryKind.PART: {
        const to = e.text.length > 0 ? `left for ${shownRoom(decoder.decode(e.text))}` : null;
        return [to ? this.line(tags, source, "PART", [channel, to], true) : this.line(tags, source, "PART", [channel])];
      }
      case EntryKind.QUIT:
        return [this.line(tags, source, "QUIT", ["Quit"], true)];
      case EntryKind.LEAVE: {
        const why = e.text.length > 0 ? bytesToLatin1(e.text) : "Connection closed";
        return [this.line(tags, source, "QUIT", [cut(why, `:${source} QUIT :`)], true)];
      }
      case EntryKind.NICK:
        return [this.line(tags, source, "NICK", [e.newName])];
      default:
        return [
          this.line(
            tags,
            this.serverName,
            "NOTICE",
            [channel, cut(bytesToLatin1(e.text), `:${this.serverName} NOTICE ${channel} :`)],
            true,
          ),
        ];
    }
  }

  /**
   * `text` to `target` from `source` as PRIVMSG (or `command`), split into
   * as many lines as it takes to keep each within 512 bytes (tags aside).
   */
  privmsgs(
    tags: Map<string, string> | null,
    source: string,
    target: string,
    text: Uint8Array,
    action: boolean,
    id: string | null,
    command = "PRIVMSG",
  ): Uint8Array[] {
    const head = `:${source} ${command} ${target} :${action ? `${CTCP}ACTION ` : ""}`;
    const room = Math.max(16, MAX_LINE - 2 - head.length - (action ? 1 : 0));
    const lines: Uint8Array[] = [];
    let at = 0;
    let part = 0;
    do {
      let end = Math.min(text.length, at + room);
      // Back to the start of a UTF-8 character (at most 3 continuation bytes).
      for (let k = 0; k < 3 && end < text.length && end > at + 1 && (text[end]! & 0xc0) === 0x80; k++) end--;
      let chunk = bytesToLatin1(text.subarray(at, end)).replaceAll(CTCP, " ");
      if (action) chunk = `${CTCP}ACTION ${chunk}${CTCP}`;
      let lineTags = tags;
      if (part > 0 && id !== null && tags?.has("msgid")) {
        lineTags = new Map(tags);
        lineTags.set("msgid", `${id}.${part}`);
      }
      lines.push(this.line(lineTags, source, command, [target, chunk], true));
      at = end;
      part++;
    } while (at < text.length);
    return lines;
  }

  /** The tags of an entry for this codec's capability set (null: none). */
  tags(time: number, id: string | null, batch: string | null): Map<string, string> | null {
    if (!this.wording.serverTime && !this.wording.messageTags && batch === null) return null;
    const tags = new Map<string, string>();
    if (batch !== null) tags.set("batch", batch);
    if (this.wording.serverTime) tags.set("time", new Date(time).toISOString());
    if (this.wording.messageTags && id !== null) tags.set("msgid", id);
    return tags;
  }

  /** One line, with CR LF (`trailing`: the last parameter always after `:`). */
  line(tags: Map<string, string> | null, source: string | null, command: string, params: readonly string[], trailing = false): Uint8Array {
    return latin1ToBytes(serialize({ tags, source, command, params, trailing }));
  }

  /** A numeric or other reply from the server to `target` (the client's nick, `*` before it has one). */
  numeric(code: string, target: string, ...params: string[]): Uint8Array {
    // The last parameter after `:` even when one word (`301 me ben :lunch`), as clients expect of text.
    return this.line(null, this.serverName, code, [target, ...params], params.length > 0);
  }

  privateMessage(m: PrivateMessage, echo: boolean): Uint8Array | null {
    if (echo && !this.echo) return null;
    const tags = this.tags(m.time, null, null);
    const lines = this.privmsgs(tags, ircMask(m.from, this.node), ircNick(m.to, this.node), m.text, m.action, null);
    return lines.length === 1 ? lines[0]! : concatLines(lines);
  }

  reply(text: string): Uint8Array {
    return concatLines(text.split("\n").map((t) => this.line(null, this.serverName, "NOTICE", ["*", t], true)));
  }

  replyParts(parts: readonly Uint8Array[]): readonly Uint8Array[] {
    return parts.map((p) => this.reply(decoder.decode(p).replace(/\n$/, "")));
  }

  error(text: string): Uint8Array {
    return this.line(null, null, "ERROR", [text], true);
  }

  presence(p: Presence): Uint8Array {
    const you = ircNick(p.you, this.node);
    return concatLines(this.namesLines(you, p.room, [you, ...p.names.map((n) => ircNick(n, this.node))]));
  }

  /** RPL_NAMREPLY lines of `nicks` in `room` for `you`, each within 512 bytes, then RPL_ENDOFNAMES. */
  namesLines(you: string, room: string, nicks: readonly string[]): Uint8Array[] {
    const channel = shownRoom(room);
    const head = `:${this.serverName} 353 ${you} = ${channel} :`.length;
    const lines: Uint8Array[] = [];
    let batch: string[] = [];
    let length = head;
    for (const nick of nicks) {
      if (batch.length > 0 && length + nick.length + 1 > MAX_LINE - 2) {
        lines.push(this.line(null, this.serverName, "353", [you, "=", channel, batch.join(" ")], true));
        batch = [];
        length = head;
      }
      batch.push(nick);
      length += nick.length + 1;
    }
    if (batch.length > 0) lines.push(this.line(null, this.serverName, "353", [you, "=", channel, batch.join(" ")], true));
    lines.push(this.numeric("366", you, channel, "End of /NAMES list"));
    return lines;
  }

  history(a: HistoryAnswer): Uint8Array {
    return this.historyLines(a.room, a.epoch, a.entries, null);
  }

  /** Entries of `room`'s log, each with its id; in a `chathistory` batch called `batch` when given. */
  historyLines(room: string, epoch: string, entries: readonly LogEntry[], batch: string | null): Uint8Array {
    const out = new ByteBuilder();
    if (batch !== null) out.append(this.line(null, this.serverName, "BATCH", [`+${batch}`, "chathistory", shownRoom(room)]));
    for (const e of entries) for (const line of this.entryLines(room, e, formatId(epoch, e.seq), batch)) out.append(line);
    if (batch !== null) out.append(this.line(null, this.serverName, "BATCH", [`-${batch}`]));
    return out.take();
  }
}

/** `text` (latin1) cut so that a line starting `head` stays within 512 bytes (a reason, a notice: one line, not split). */
function cut(text: string, head: string): string {
  const room = MAX_LINE - 2 - head.length;
  return text.length <= room ? text : text.slice(0, Math.max(0, room));
}

function concatLines(lines: readonly Uint8Array[]): Uint8Array {
  const out = new ByteBuilder();
  for (const l of lines) out.append(l);
  return out.take();
}

/**
 * The server's IRC codecs: one per capability set a client has asked for,
 * made when first needed (at most eight).
 */
export class IrcCodecs {
  private readonly made = new Map<number, IrcCodec>();

  constructor(
    readonly serverName: string,
    readonly node: string,
  ) {}

  /** The codec of a client before it has asked for any capability (the listener's). */
  get plain(): IrcCodec {
    return this.for({ serverTime: false, messageTags: false, echo: false });
  }

  for(w: IrcWording): IrcCodec {
    const key = (w.serverTime ? 1 : 0) | (w.messageTags ? 2 : 0) | (w.echo ? 4 : 0);
    let codec = this.made.get(key);
    if (!codec) this.made.set(key, (codec = new IrcCodec(this.serverName, this.node, w)));
    return codec;
  }

  /** Every codec made so far. */
  all(): IterableIterator<IrcCodec> {
    return this.made.values();
  }
}
