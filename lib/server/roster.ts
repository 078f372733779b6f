import { EntryKind, type LogEntry } from "../chat/entry.ts";

/**
 * Who is in the room on the other servers of a cluster, as far as the
 * shared log tells: a remote join adds a name, a leave removes it, a nick
 * renames it. A server that vanished without its clients' leave entries
 * (killed, not shut down) leaves its names here until they leave by name or
 * the server restarts; the presence line says "as far as we know" by being
 * built from this.
 */
export class Roster {
  /** Names by origin, then by name. */
  private readonly byOrigin = new Map<string, Set<string>>();
  /** How many members of other servers have each name, in lower case. */
  private readonly lower = new Map<string, number>();
  private count = 0;

  /** Members known on other servers. */
  get size(): number {
    return this.count;
  }

  /** Take note of another server's entry. */
  note(e: LogEntry): void {
    if (e.kind === EntryKind.JOIN) this.add(e.origin, e.sender);
    else if (e.kind === EntryKind.LEAVE) this.remove(e.origin, e.sender);
    else if (e.kind === EntryKind.NICK) {
      if (this.remove(e.origin, e.sender)) this.add(e.origin, e.newName);
    }
  }

  /** Whether a member of another server is called `name`, in any case (`/nick` refuses it). */
  has(name: string): boolean {
    return (this.lower.get(name.toLowerCase()) ?? 0) > 0;
  }

  /** Up to `limit` names, in no particular order. */
  names(limit: number): string[] {
    const out: string[] = [];
    for (const names of this.byOrigin.values()) {
      for (const name of names) {
        if (out.length >= limit) return out;
        out.push(name);
      }
    }
    return out;
  }

  private add(origin: string, name: string): void {
    let names = this.byOrigin.get(origin);
    if (!names) this.byOrigin.set(origin, (names = new Set()));
    if (!names.has(name)) {
      names.add(name);
      this.count++;
      const key = name.toLowerCase();
      this.lower.set(key, (this.lower.get(key) ?? 0) + 1);
    }
  }

  private remove(origin: string, name: string): boolean {
    const names = this.byOrigin.get(origin);
    if (!names?.delete(name)) return false;
    this.count--;
    const key = name.toLowerCase();
    const left = (this.lower.get(key) ?? 1) - 1;
    if (left > 0) this.lower.set(key, left);
    else this.lower.delete(key);
    if (names.size === 0) this.byOrigin.delete(origin);
    return true;
  }
}
