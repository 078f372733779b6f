import { type Session, SessionState } from "./session.ts";

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
