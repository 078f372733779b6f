import type { RoomLog } from "./history.ts";
import type { Room } from "./room.ts";
import { Roster } from "./roster.ts";
import type { ServerAttachment, Session } from "./session.ts";
import { WhoList } from "./who.ts";

/** One room: its members' fan-out, its log, who is in it elsewhere in the cluster, `/who`'s shared list. */
export class ChatRoom {
  readonly who: WhoList;
  readonly roster = new Roster();
  /** Lines said in it (messages and actions), for the metrics. */
  lines = 0;
  /** Said something to in this tick: sealed and saved at its end. */
  touched = false;
  /** Members who wait to be told who is here until the cluster's relay has loaded the room. */
  waitingPresence: Session[] = [];
  constructor(
    /** Canonical name (`chat`). */
    readonly name: string,
    readonly members: Room<ServerAttachment>,
    readonly log: RoomLog,
    /** The room clients enter on connecting. */
    readonly isDefault: boolean,
  ) {
    this.who = new WhoList(name);
  }

  /** Members here and on the other servers of a cluster. */
  get population(): number {
    return this.members.size + this.roster.size;
  }
}
