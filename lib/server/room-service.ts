/**
 * The room service: what chat means, apart from how connections are
 * served (lib/server/dispatcher.ts). Its operations take the room they act
 * on: join, leave, say, rename, replay, presence, who. Every broadcast is
 * an entry (lib/chat/entry.ts), numbered by the room's log on a lone
 * server or by the cluster's shared log (through the `Relay`), and worded
 * by each member's codec as the room's batches fill.
 *
 * One room today, the default (`--room`); the rooms are kept by canonical
 * name (lib/chat/rooms.ts), so more come without changing the operations.
 */
import type { Reactor } from "../reactor/reactor.ts";
import type { Address } from "../reactor/events.ts";
import { type EntryContent, EntryKind, formatId, type LogEntry } from "../chat/entry.ts";
import { nickProblem } from "../chat/naming.ts";
import { notice, PRESENCE_NAMES } from "../chat/protocol.ts";
import type { LineCodec } from "../codecs/line.ts";
import { type CommandHost, type HistoryRequest, NickIndex, WhoList } from "./commands.ts";
import type { HistoryStore, RoomLog } from "./history.ts";
import type { Relay, RelaySink } from "./relay.ts";
import { Audience, Room } from "./room.ts";
import { Roster } from "./roster.ts";
import { type ServerAttachment, type Session, SessionState } from "./session.ts";
import type { ServerCounters } from "./stats.ts";

/** Where a notice goes (bits); see `RoomService.publish`. */
export enum Reach {
  /** The server's log, naming the client the notice is about. */
  LOG = 1,
  /** The members of the room (counted in `linesOut`). */
  ROOM = 2,
  /** The other servers of a cluster, through the relay. */
  CLUSTER = 4,
  ALL = LOG | ROOM | CLUSTER,
}

/** One room: its members' fan-out, its log, who is in it elsewhere in the cluster, `/who`'s shared list. */
export class ChatRoom {
  readonly who = new WhoList();
  readonly roster = new Roster();
  constructor(
    /** Canonical name (`chat`). */
    readonly name: string,
    readonly members: Room<ServerAttachment>,
    readonly log: RoomLog,
  ) {}
}

/** Settings of a `RoomService`. */
export interface RoomServiceOptions {
  /** The default room's canonical name (`--room`); the room a client enters on connecting. */
  room: string;
  /** The default room's log (`--history` entries kept); a lone server numbers its entries, a cluster's relay does. */
  history: RoomLog;
  /** Where logs are kept across restarts (`--history-db`), written once per tick. */
  historyStore: HistoryStore | null;
  /** Shares the room with other servers (`--cluster`). */
  relay: Relay | null;
  /** This server's node in a cluster ("" alone): the node of its members' names. */
  node: string;
  /** One send per receiver per tick (true) or one per message per receiver. */
  coalesce: boolean;
  /** The server's log; `client` is the address a line is about. */
  log: (line: string, client?: Address) => void;
  /** The words of the server's log lines about entries (this server's line codec). */
  words: LineCodec;
  /** Output queued for one client past which it is too slow (bytes; 0: no limit). */
  maxOutbound: number;
}

/** The room service; see the top of this file. */
export class RoomService implements CommandHost {
  readonly defaultRoom: ChatRoom;
  /** Nicknames of this server's clients, in every room. */
  private readonly nicks = new NickIndex();

  constructor(
    private readonly reactor: Reactor<ServerAttachment>,
    private readonly counters: ServerCounters,
    readonly options: RoomServiceOptions,
    /** Every session of the server (for the nickname index's rebuild). */
    private readonly sessions: () => readonly Session[],
  ) {
    this.defaultRoom = new ChatRoom(options.room, new Room(reactor, options.coalesce), options.history);
  }

  get maxOutbound(): number {
    return this.options.maxOutbound;
  }

  /**
   * Where a cluster's relay hands the shared log's entries, in its order:
   * another server's entry goes to every member, one of this server's own
   * only to the members whose codec waits for its number.
   */
  readonly relaySink: RelaySink = {
    entry: (e, local, shown) => {
      const room = this.defaultRoom;
      room.log.insert(e);
      if (!local) room.roster.note(e);
      // `shown`: history loaded as the relay connects, or a local entry shown when it happened.
      if (shown) return;
      const id = formatId(room.log.epoch, e.seq);
      this.counters.linesOut += room.members.broadcast(e, id, null, local ? Audience.NUMBERED : Audience.ALL);
    },
    reset: (epoch, lastSeq) => this.defaultRoom.log.reset(epoch, lastSeq),
    missed: (count) => {
      this.counters.clusterMissed += count;
    },
  };

  // ---------------------------------------------------------------- membership

  /** `session` enters `room`: the others are told first (a client is not told about itself). */
  join(room: ChatRoom, session: Session): void {
    this.publish(room, this.entry(EntryKind.JOIN, session), null, Reach.ALL, session.conn.remote);
    room.members.join(session.member);
    session.state = SessionState.JOINED;
  }

  /** `session` leaves `room` (`kind` QUIT when it chose to, LEAVE with `reason` when it was disconnected). */
  leave(room: ChatRoom, session: Session, kind: EntryKind.QUIT | EntryKind.LEAVE, reason = "", reach = Reach.ALL): void {
    room.members.leave(session.member);
    session.state = SessionState.GONE;
    const text = kind === EntryKind.LEAVE ? encoder.encode(reason) : EMPTY;
    this.publish(room, this.entry(kind, session, text), null, reach, session.conn.remote);
  }

  /** The room the session is in (one room today: the default). */
  roomOf(_session: Session): ChatRoom {
    return this.defaultRoom;
  }

  /** Who else is in `room`, told to `session` as it joins, worded by its codec. */
  tellPresence(room: ChatRoom, session: Session): void {
    const names = [];
    for (const m of room.members.list()) {
      if (names.length >= PRESENCE_NAMES) break;
      if (m !== session.member) names.push((m.key.data as Session).name);
    }
    if (names.length < PRESENCE_NAMES) names.push(...room.roster.names(PRESENCE_NAMES - names.length));
    const others = room.members.size - 1 + room.roster.size;
    this.send(session, session.codec.presence({ you: session.name, names, others, last: room.log.lastId }));
  }

  // ---------------------------------------------------------------- speaking

  say(session: Session, kind: EntryKind.LINE | EntryKind.ACTION, text: Uint8Array): void {
    this.publish(this.roomOf(session), this.entry(kind, session, text), session, Reach.ROOM | Reach.CLUSTER);
  }

  rename(session: Session, nick: string): string | null {
    const holder = this.nicks.holder(nick);
    const problem = nickProblem(nick, (name) => (holder !== null && holder !== session) || this.roomOf(session).roster.has(name));
    if (problem) return problem;
    const old = session.name.nick;
    this.reply(session, `You are now ${nick}`);
    // Announced before the rename: a nick entry's sender is the name the others
    // knew (the web page's member list and a cluster's roster replace it).
    const room = this.roomOf(session);
    this.publish(room, this.entry(EntryKind.NICK, session, EMPTY, nick), session, Reach.ALL, session.conn.remote);
    session.rename(nick);
    this.nicks.renamed(session, old, this.sessions, this.sessions().length);
    room.who.invalidate();
    return null;
  }

  /** The server is going: its members hear so (and are gone from the cluster's rosters). */
  shutdown(sessions: readonly Session[]): void {
    const room = this.defaultRoom;
    // The local members hear that the server goes; the other servers hear who left.
    this.publish(
      room,
      { time: Date.now(), kind: EntryKind.NOTICE, sender: null, text: encoder.encode(notice.shutdown()), newName: "" },
      null,
      Reach.ROOM,
    );
    room.members.seal();
    for (const session of sessions) {
      if (session.state === SessionState.JOINED) this.leave(room, session, EntryKind.LEAVE, "server shutting down", Reach.CLUSTER);
    }
    this.flushHistory();
    this.options.relay?.close();
  }

  // ---------------------------------------------------------------- answers

  /** Bytes to one member only, after what the room sent it before. */
  send(session: Session, bytes: Uint8Array): void {
    if (session.member.joined) this.roomOf(session).members.sendTo(session.member, bytes);
    else this.reactor.write(session.key, bytes);
  }

  reply(session: Session, text: string): void {
    this.send(session, session.codec.reply(text));
  }

  /** A limit's message or a refusal, worded by the session's codec. */
  warn(session: Session, text: string): void {
    this.send(session, session.codec.error(text));
  }

  sendParts(session: Session, parts: readonly Uint8Array[]): void {
    for (const p of session.codec.replyParts(parts)) this.send(session, p);
  }

  whoParts(session: Session): readonly Uint8Array[] {
    const room = this.roomOf(session);
    return room.who.answerFor(room.members.list(), room.roster, session);
  }

  /**
   * `/history`: the newest entries, or those after an id (a resume), worded
   * by the session's codec; false when it does not fit in what the client
   * may have waiting (`fits`).
   */
  replay(session: Session, request: HistoryRequest, fits: (bytes: number) => boolean): boolean {
    const log = this.roomOf(session).log;
    let entries: LogEntry[];
    let missed = 0;
    let reset = false;
    if (request.since) ({ entries, missed, reset } = log.since(request.since.epoch, request.since.seq));
    else entries = log.latest(request.count);
    const since = request.since ? formatId(request.since.epoch, request.since.seq) : null;
    const bytes = session.codec.history({ epoch: log.epoch, entries, missed, reset, since, last: log.lastId });
    if (!fits(bytes.length)) return false;
    this.send(session, bytes);
    return true;
  }

  // ---------------------------------------------------------------- the tick

  /**
   * The tick's end, after the dispatcher has looked at its readers'
   * backlogs: seal the rooms' batches (every member gets this tick's
   * entries in this flush), write the tick's entries to the store (one
   * transaction), and last let the relay send the tick's entries on, so
   * that everything this tick published, eviction notices included,
   * leaves for the cluster in this tick.
   */
  endTick(): void {
    this.defaultRoom.members.seal();
    this.flushHistory();
    this.options.relay?.endTick();
  }

  /** Bytes broadcast so far this tick. */
  get batchBytes(): number {
    return this.defaultRoom.members.batchBytes;
  }

  private flushHistory(): void {
    const room = this.defaultRoom;
    const fresh = room.log.takeUnsaved();
    if (fresh.length > 0) this.options.historyStore?.save(room.name, fresh);
  }

  /** An entry about `session`. */
  private entry(kind: EntryKind, session: Session, text: Uint8Array = EMPTY, newName = ""): EntryContent {
    return { time: Date.now(), kind, sender: session.name, text, newName };
  }

  /**
   * The one way an entry reaches anyone: the server's log (`Reach.LOG`,
   * naming `client`), the room's members but `from` (`ROOM`, counted), the
   * other servers (`CLUSTER`). A lone server numbers what reaches the room
   * and keeps it in the log; in a cluster the log is the cluster's, so
   * what stays here (the shutdown notice) is not in it, and members whose
   * codec shows ids get this server's entries when the relay hands them
   * back numbered (at once, unnumbered, while the link is down).
   */
  private publish(room: ChatRoom, c: EntryContent, from: Session | null, reach: Reach, client?: Address): void {
    if (reach & Reach.LOG) this.options.log(this.options.words.words(c), client);
    const member = from?.member ?? null;
    const relay = this.options.relay;
    const toRoom = (reach & Reach.ROOM) !== 0;
    if (relay && reach & Reach.CLUSTER) {
      if (toRoom) this.counters.linesOut += room.members.broadcast(c, null, member, Audience.LIVE);
      if (!relay.append(c) && toRoom) this.counters.linesOut += room.members.broadcast(c, null, member, Audience.NUMBERED);
    } else if (!relay && reach & (Reach.ROOM | Reach.CLUSTER)) {
      const e = room.log.append(c);
      if (toRoom) this.counters.linesOut += room.members.broadcast(e, formatId(room.log.epoch, e.seq), member);
    } else if (toRoom) {
      this.counters.linesOut += room.members.broadcast(c, null, member);
    }
  }
}

const encoder = new TextEncoder();
const EMPTY: Uint8Array = new Uint8Array(0);
