/**
 * The line codec: the seed's wire format, spoken by `nc`, our terminal
 * client and any byte stream. Input is lines; every entry is one line of
 * text ending in `\n`, worded as lib/chat/protocol.ts says:
 *
 *   <bob> hi                         a message (`<HOST:PORT> hi` without a nickname)
 *   * bob waves                      /me
 *   Client (HOST, PORT) connected    a join
 *   bob quits | bob is offline (why) a leave
 *   Client (HOST, PORT) is now bob   a rename
 *
 * A member's own lines are not sent back to it. Members of this server are
 * named as they are; members of other servers of a cluster by address get
 * `@NODE` (see lib/chat/naming.ts).
 *
 * The hot path is `entry` for a message: three appends to the room's batch
 * (the sender's prefix, made once per name and kept, its bytes, `\n`).
 */
import { ByteBuilder, concat } from "../bytes.ts";
import { EntryKind, type EntryContent, formatId, type PrivateMessage } from "../chat/entry.ts";
import { LineFramer } from "../chat/framing.ts";
import type { MemberName } from "../chat/naming.ts";
import { encode, historyText, notice, presenceLine, privateText } from "../chat/protocol.ts";
import { shownRoom } from "../chat/rooms.ts";
import type { Codec, HistoryAnswer, Presence } from "./codec.ts";

const NEWLINE = encode("\n");
const decoder = new TextDecoder();

/** The line codec of a server whose cluster node is `node` ("" alone); see the top of this file. */
export class LineCodec implements Codec {
  readonly name = "line";
  readonly echo = false;
  readonly numbered = false;
  readonly rawStream = true;
  readonly bareQuit = true;
  /** `<NAME> ` per name: a name is immutable, so its prefix is made once. */
  private readonly prefixes = new WeakMap<MemberName, Uint8Array>();

  constructor(readonly node: string) {}

  newFramer(maxLine: number): LineFramer {
    return new LineFramer(maxLine);
  }

  /**
   * How this codec's readers see `name`: live, other servers' addresses get
   * `@NODE`; in a replay every address does, so that `/history` answers
   * alike on every server of a cluster (`everywhere`).
   */
  shown(name: MemberName, everywhere = false): string {
    return name.shown(everywhere || name.node !== this.node);
  }

  /** How notices name `name` here (see `shown`). */
  noticeName(name: MemberName, everywhere = false): string {
    return name.noticeName(everywhere || name.node !== this.node);
  }

  /** The bytes in front of `name`'s live messages: `<NAME> `. */
  prefix(name: MemberName): Uint8Array {
    let bytes = this.prefixes.get(name);
    if (bytes === undefined) this.prefixes.set(name, (bytes = encode(`<${this.shown(name)}> `)));
    return bytes;
  }

  entry(out: ByteBuilder, _room: string, e: EntryContent, id: string | null, replayed: boolean): void {
    if (replayed && id !== null) out.append(encode(historyText.mark(id, e.time)));
    if (e.kind === EntryKind.LINE && e.sender) {
      out.append(replayed ? encode(`<${this.shown(e.sender, true)}> `) : this.prefix(e.sender));
      out.append(e.text);
    } else if (e.kind === EntryKind.ACTION && e.sender) {
      out.append(encode(`* ${this.shown(e.sender, replayed)} `));
      out.append(e.text);
    } else out.append(encode(this.words(e, replayed)));
    out.append(NEWLINE);
  }

  /** A notice entry's line, without newline (`everywhere`: as in a replay, see `shown`). */
  words(e: EntryContent, everywhere = false): string {
    return noticeWords(e, e.sender ? this.noticeName(e.sender, everywhere) : "");
  }

  reply(text: string): Uint8Array {
    return encode(`${text}\n`);
  }

  replyParts(parts: readonly Uint8Array[]): readonly Uint8Array[] {
    return parts;
  }

  error(text: string): Uint8Array {
    return encode(`${text}\n`);
  }

  presence(p: Presence): Uint8Array {
    const names = p.names.map((n) => this.shown(n));
    return encode(`${presenceLine(names, p.others, p.isDefault ? null : shownRoom(p.room))}\n`);
  }

  privateMessage(m: PrivateMessage, echo: boolean): Uint8Array | null {
    // A line client's own lines never come back to it; nor do its private ones.
    if (echo) return null;
    return concat([encode(privateText.received(this.shown(m.from), m.action)), m.text, NEWLINE]);
  }

  history(a: HistoryAnswer): Uint8Array {
    const out = new ByteBuilder();
    if (a.reset && a.since) out.append(encode(`${historyText.reset(a.since)}\n`));
    else if (a.missed > 0) out.append(encode(`${historyText.missed(a.missed)}\n`));
    for (const e of a.entries) this.entry(out, a.room, e, formatId(a.epoch, e.seq), true);
    out.append(encode(`${historyText.end(a.entries.length, a.last)}\n`));
    return out.take();
  }
}

/**
 * The seed's words for an entry that is not a message: `who connected`,
 * `who quits`, `who is offline (why)`, `who is now NEW`, or a notice's own
 * text; `who` is how the reader names the member (`noticeName`).
 */
export function noticeWords(e: EntryContent, who: string): string {
  switch (e.kind) {
    case EntryKind.JOIN:
      return notice.connected(who);
    case EntryKind.QUIT:
      return notice.quits(who);
    case EntryKind.LEAVE:
      return notice.offline(who, decoder.decode(e.text));
    case EntryKind.NICK:
      return notice.renamed(who, e.newName);
    case EntryKind.ENTER:
      return notice.entered(who);
    case EntryKind.PART:
      return notice.parted(who, e.text.length > 0 ? shownRoom(decoder.decode(e.text)) : undefined);
    default:
      return decoder.decode(e.text);
  }
}
