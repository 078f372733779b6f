/**
 * What the chat server tells about its rooms to the outside: a small module
 * of its own so that a relay (lib/cluster/) depends on these interfaces
 * only, not on the server, and the server on nothing of the cluster.
 *
 * In a cluster the rooms' logs are shared: every server hands its entries
 * to the relay, which gives them their numbers (the shared streams' ids)
 * and hands back, through the sink, every server's entries of the rooms
 * this server has opened, each room in one order. Private messages go
 * from server to server the same way, unnumbered and unstored.
 */
import type { EntryContent, LogEntry, PrivateMessage } from "../chat/entry.ts";

/** Where a relay delivers the shared logs' entries, in each room's order. */
export interface RelaySink {
  /**
   * The next entry of `room`'s shared log. `local`: it is one this server
   * appended (its TCP clients had it live already). `shown`: it goes into
   * the log only, shown to nobody now: a local entry that `append`
   * returned false for (the server showed it unnumbered when it happened),
   * or the history loaded when the room is opened (local or not: what was
   * said before is history, not live lines).
   */
  entry(room: string, e: LogEntry, local: boolean, shown: boolean): void;
  /** `room`'s shared log started over (Redis lost its data): its epoch is `epoch`, its last SEQ `lastSeq`. */
  reset(room: string, epoch: string, lastSeq: number): void;
  /** `count` entries of `room` were gone from the shared log before this server could read them. */
  missed(room: string, count: number): void;
  /** A private message for one of this server's clients, from another server. */
  private(message: PrivateMessage): void;
  /** `room`'s history is loaded and it is being read: who is in it is known. */
  opened(room: string): void;
}

/** Shares the rooms' logs with the other servers of a cluster. */
export interface Relay {
  /** Connect; the shared logs' entries (this server's own included) come to `sink`. */
  start(sink: RelaySink): void;
  /** This server has a client in `room` now: read its log (its history first, as `shown` entries). */
  openRoom(room: string): void;
  /** None of this server's clients is in `room` any more: stop reading it. */
  closeRoom(room: string): void;
  /** Whether `room` is being opened now (its history on the way), so that who is in it will be known shortly. */
  opening(room: string): boolean;
  /**
   * One of this server's entries of `room`. True: it will come back
   * numbered through the sink, so the server does not show it to the
   * members whose codec shows ids yet. False: the link is down, the server
   * shows it now, unnumbered (it comes back with `shown` when it has been
   * appended).
   */
  append(room: string, entry: EntryContent): boolean;
  /** A private message for a member of another server (`to.node`); false when it cannot go now (the link is down). */
  sendPrivate(message: PrivateMessage): boolean;
  /**
   * The tick's last word, from the server's before-sleep hook after
   * everything the tick appends (eviction notices included): send it on.
   */
  endTick(): void;
  /** The server is shutting down: send what is pending, then disconnect. */
  close(): void;
}
