import { arrives, departs, EntryKind, type LogEntry, originOf } from "../chat/entry.ts";
import type { MemberName } from "../chat/naming.ts";

/**
 * Who is in the room on the other servers of a cluster, as far as the
 * shared log tells: a remote join adds a name, a leave removes it, a nick
 * renames it. A server that vanished without its clients' leave entries
 * (killed, not shut down) leaves its names here until they leave by name or
 * the server restarts; the presence line and `/who` say "as far as we
 * know" by being built from this.
 */
export class Roster {
  /** Names by origin node, then by how every server shows them (`shown(true)`). */
  private readonly byOrigin = new Map<string, Map<string, MemberName>>();
  /** How many members of other servers have each name, in lower case. */
  private readonly lower = new Map<string, number>();
  private count = 0;
  /** Changes with every change of the roster (for lists built from it). */
  version = 0;

  /** Members known on other servers. */
  get size(): number {
    return this.count;
  }

  /** Take note of another server's entry. */
  note(e: LogEntry): void {
    const name = e.sender;
    if (!name) return;
    const origin = originOf(e);
    if (arrives(e.kind)) this.add(origin, name);
    else if (departs(e.kind)) this.remove(origin, name);
    else if (e.kind === EntryKind.NICK) {
      if (this.remove(origin, name)) this.add(origin, name.renamed(e.newName));
    }
  }

  /** Whether a member of another server is called `nick`, in any case (`/nick` refuses it). */
  has(nick: string): boolean {
    return (this.lower.get(nick.toLowerCase()) ?? 0) > 0;
  }

  /** The member of another server called `nick` (any case), if any. */
  find(nick: string): MemberName | null {
    const lower = nick.toLowerCase();
    for (const names of this.byOrigin.values()) for (const name of names.values()) if (name.nick?.toLowerCase() === lower) return name;
    return null;
  }

  /** Up to `limit` names, in no particular order. */
  names(limit: number): MemberName[] {
    const out: MemberName[] = [];
    for (const names of this.byOrigin.values()) {
      for (const name of names.values()) {
        if (out.length >= limit) return out;
        out.push(name);
      }
    }
    return out;
  }

  /** Every name with its server, by server. */
  entries(): { name: MemberName; node: string }[] {
    const out: { name: MemberName; node: string }[] = [];
    for (const [node, names] of this.byOrigin) for (const name of names.values()) out.push({ name, node });
    return out;
  }

  private add(origin: string, name: MemberName): void {
    let names = this.byOrigin.get(origin);
    if (!names) this.byOrigin.set(origin, (names = new Map()));
    const key = name.shown(true);
    if (names.has(key)) return;
    names.set(key, name);
    this.count++;
    this.version++;
    const lower = key.toLowerCase();
    this.lower.set(lower, (this.lower.get(lower) ?? 0) + 1);
  }

  private remove(origin: string, name: MemberName): boolean {
    const names = this.byOrigin.get(origin);
    const key = name.shown(true);
    if (!names?.delete(key)) return false;
    this.count--;
    this.version++;
    const lower = key.toLowerCase();
    const left = (this.lower.get(lower) ?? 1) - 1;
    if (left > 0) this.lower.set(lower, left);
    else this.lower.delete(lower);
    if (names.size === 0) this.byOrigin.delete(origin);
    return true;
  }
}
