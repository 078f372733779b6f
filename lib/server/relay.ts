/**
 * What the chat server tells about its room to the outside: a small module
 * of its own so that a relay (lib/cluster/) depends on these interfaces
 * only, not on the server.
 *
 * In a cluster the room's log is shared: every server hands its entries to
 * the relay, which gives them their numbers (the shared stream's ids) and
 * hands back, through the sink, every server's entries in one order.
 */
import type { EntryContent, LogEntry } from "../chat/entry.ts";

/** Where a relay delivers the shared log's entries, in the log's order. */
export interface RelaySink {
  /**
   * The next entry of the shared log. `local`: it is one this server
   * appended (its TCP clients had it live already). `shown`: it goes into
   * the log only, shown to nobody now: a local entry that `append`
   * returned false for (the server showed it unnumbered when it happened),
   * or the history loaded when the relay first connects (local or not:
   * what was said before this server joined is history, not live lines).
   */
  entry(e: LogEntry, local: boolean, shown: boolean): void;
  /** The shared log started over (Redis lost its data): its epoch is `epoch`, its last SEQ `lastSeq`. */
  reset(epoch: string, lastSeq: number): void;
  /** `count` entries were gone from the shared log before this server could read them. */
  missed(count: number): void;
}

/** Shares the room's log with the other servers of a cluster. */
export interface Relay {
  /** Connect; the shared log's entries (this server's own included) come to `sink`. */
  start(sink: RelaySink): void;
  /**
   * One of this server's entries. True: it will come back numbered through
   * the sink, so the server does not show it to web clients yet. False: the
   * link is down, the server shows it now, unnumbered (it comes back with
   * `shown` when it has been appended).
   */
  append(entry: EntryContent): boolean;
  /**
   * The tick's last word, from the server's before-sleep hook after
   * everything the tick appends (eviction notices included): send it on.
   */
  endTick(): void;
  /** The server is shutting down: send what is pending, then disconnect. */
  close(): void;
}
