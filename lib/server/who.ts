import { EMPTY_BYTES } from "../bytes.ts";
import { encode } from "../chat/protocol.ts";
import type { Member } from "./room.ts";
import type { Roster } from "./roster.ts";
import type { ServerAttachment, Session } from "./session.ts";

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
  /** @param room the canonical name of the room it lists */
  constructor(private readonly room: string) {}

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
    const own = asker.rooms.get(this.room);
    const end = (own ? this.ends[this.built.indexOf(own)] : undefined) ?? this.bytes.length - 1;
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
