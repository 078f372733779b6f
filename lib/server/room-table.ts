/**
 * The rooms that exist on this server, apart from what is said in them
 * (room-service.ts): a room comes to be with its log restored from the
 * store, goes when none of this server's clients is in it (the default
 * room never does), and the rooms said something to in a tick are the only
 * ones sealed and saved at its end, so that an idle room costs nothing per
 * tick.
 */
import type { Reactor } from "../reactor/reactor.ts";
import { shownRoom } from "../chat/rooms.ts";
import { ChatRoom } from "./chat-room.ts";
import { type HistoryStore, HistoryStoreError, RoomLog } from "./history.ts";
import type { Relay } from "./relay.ts";
import { Room } from "./room.ts";
import type { ServerAttachment } from "./session.ts";
import type { RoomCounts } from "./stats.ts";

/** What a `RoomTable` needs of the service's settings. */
export interface RoomTableOptions {
  historyCapacity: number;
  historyStore: HistoryStore | null;
  relay: Relay | null;
  coalesce: boolean;
  log: (line: string) => void;
}

/** The rooms by canonical name; see the top of this file. */
export class RoomTable {
  private readonly rooms = new Map<string, ChatRoom>();
  /** Rooms said something to in this tick (see `ChatRoom.touched`). */
  private touched: ChatRoom[] = [];
  /** The rooms' figures for the metrics. */
  readonly counts: RoomCounts;

  constructor(
    private readonly reactor: Reactor<ServerAttachment>,
    private readonly options: RoomTableOptions,
  ) {
    const rooms = this.rooms;
    this.counts = {
      get count() {
        return rooms.size;
      },
      busiest: (n) =>
        [...rooms.values()]
          .sort((a, b) => b.population - a.population || b.lines - a.lines)
          .slice(0, n)
          .map((r) => ({ room: shownRoom(r.name), members: r.population, lines: r.lines })),
    };
  }

  get size(): number {
    return this.rooms.size;
  }

  get(name: string): ChatRoom | undefined {
    return this.rooms.get(name);
  }

  values(): IterableIterator<ChatRoom> {
    return this.rooms.values();
  }

  /**
   * A room comes to be: its log, restored from the store when there is
   * one (the same epoch, so ids given before still resume). The default
   * room's store errors are the caller's (the program cannot start); any
   * other room's are logged, and it goes on with a log of its own.
   */
  open(name: string, isDefault: boolean): ChatRoom {
    let log: RoomLog;
    try {
      log = this.openLog(name);
    } catch (err) {
      if (isDefault || !(err instanceof HistoryStoreError)) throw err;
      this.options.log(`History: room ${shownRoom(name)}: ${err.message}; its history is kept in memory only`);
      log = new RoomLog(this.options.historyCapacity);
    }
    const room = new ChatRoom(name, new Room(this.reactor, this.options.coalesce, name), log, isDefault);
    this.rooms.set(name, room);
    this.options.relay?.openRoom(name);
    return room;
  }

  /**
   * None of this server's clients is left in `room`: it goes (not the
   * default room), so that it costs nothing here; in a cluster it lives on
   * in its stream and on the servers whose clients are in it.
   */
  closeIfEmpty(room: ChatRoom): void {
    if (room.isDefault || room.members.size > 0 || this.rooms.get(room.name) !== room) return;
    // Its last entries still go to the store with the tick's (`save` walks `touched`).
    this.rooms.delete(room.name);
    this.options.relay?.closeRoom(room.name);
  }

  /** `room` was said something to in this tick: it is sealed and saved at its end. */
  touch(room: ChatRoom): void {
    if (room.touched) return;
    room.touched = true;
    this.touched.push(room);
  }

  /** The tick's end: seal the touched rooms' batches, then save their new entries (one transaction each). */
  endTick(): void {
    if (this.touched.length === 0) return;
    for (const room of this.touched) {
      room.members.seal();
      room.touched = false;
    }
    this.save();
    this.touched = [];
  }

  /** Write the touched rooms' new entries to the store. */
  save(): void {
    for (const room of this.touched) {
      const fresh = room.log.takeUnsaved();
      if (fresh.length > 0) this.options.historyStore?.save(room.name, fresh);
    }
  }

  /** Bytes broadcast so far this tick, in all rooms. */
  get batchBytes(): number {
    let n = 0;
    for (const room of this.touched) n += room.members.batchBytes;
    return n;
  }

  private openLog(name: string): RoomLog {
    const capacity = this.options.historyCapacity;
    const log = new RoomLog(capacity);
    const store = this.options.historyStore;
    if (!store) return log;
    // What the store drops for age is not replayed from memory either.
    log.maxAgeMs = store.maxAgeMs;
    const stored = store.load(name, capacity);
    if (stored.epoch === null) store.setEpoch(name, log.epoch);
    else {
      log.restore(stored.epoch, stored.entries);
      // None kept within retention: numbering still goes on from the last id given.
      if (log.lastSeq < stored.lastSeq) log.reset(stored.epoch, stored.lastSeq);
    }
    return log;
  }
}
