/**
 * The room service: what chat means, apart from how connections are
 * served (lib/server/dispatcher.ts). Its operations take the room they act
 * on: join, part, say, rename, replay, presence, who, private messages.
 * Every broadcast is an entry (lib/chat/entry.ts), numbered by the room's
 * log on a lone server or by the cluster's shared log (through the
 * `Relay`), and worded by each member's codec as the room's batches fill.
 *
 * Rooms are kept by canonical name (lib/chat/rooms.ts) in a `RoomTable`
 * (room-table.ts: opening, closing, the tick's sealing and saving). The
 * default room (`--room`) always exists: a client enters it on connecting.
 * Any other exists while one of this server's clients is in it; when the
 * last one leaves, its memory goes back (its history stays in the store or
 * the cluster's stream, if there is one, and comes back with it).
 */
import type { Reactor } from "../reactor/reactor.ts";
import type { Address } from "../reactor/events.ts";
import { arrives, departs, type EntryContent, EntryKind, formatId, type LogEntry, type PrivateMessage } from "../chat/entry.ts";
import { type MemberName, nickProblem } from "../chat/naming.ts";
import { notice, PRESENCE_NAMES } from "../chat/protocol.ts";
import { canonicalRoom, roomNameRule, shownRoom } from "../chat/rooms.ts";
import type { LineCodec } from "../codecs/line.ts";
import type { ChatRoom } from "./chat-room.ts";
import type { CommandHost, HistoryRequest } from "./commands.ts";
import { NickIndex } from "./nicks.ts";
import type { HistoryStore } from "./history.ts";
import type { Relay, RelaySink } from "./relay.ts";
import { Audience } from "./room.ts";
import { RoomTable } from "./room-table.ts";
import { type ServerAttachment, type Session, SessionState } from "./session.ts";
import type { RoomCounts, ServerCounters } from "./stats.ts";

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

/** How many rooms there may be. */
export interface RoomLimits {
  /** Rooms on this server at once (the default room included). */
  maxRooms: number;
  /** Rooms one client that may be in several (a web client) may be in at once. */
  maxRoomsPerClient: number;
  /** Longest room name, in characters (without the `#`). */
  maxRoomName: number;
}

/** Defaults of `RoomLimits`. */
export const defaultRoomLimits: RoomLimits = { maxRooms: 1000, maxRoomsPerClient: 20, maxRoomName: 32 };

/** Settings of a `RoomService`. */
export interface RoomServiceOptions {
  /** The default room's canonical name (`--room`); the room a client enters on connecting. */
  room: string;
  /** Entries each room's log keeps (`--history`). */
  historyCapacity: number;
  /** Where logs are kept across restarts (`--history-db`), written once per tick. */
  historyStore: HistoryStore | null;
  /** Shares the rooms with other servers (`--cluster`). */
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
  limits: RoomLimits;
}

/** The room service; see the top of this file. */
export class RoomService implements CommandHost {
  readonly defaultRoom: ChatRoom;
  /** The rooms that exist, and the tick's touched ones. */
  private readonly table: RoomTable;
  /** Nicknames of this server's clients, in every room. */
  private readonly nicks = new NickIndex();

  /** Throws `HistoryStoreError` when the store cannot give the default room's log. */
  constructor(
    private readonly reactor: Reactor<ServerAttachment>,
    private readonly counters: ServerCounters,
    readonly options: RoomServiceOptions,
    /** Every session of the server (for the nickname index's rebuild). */
    private readonly sessions: () => readonly Session[],
  ) {
    this.table = new RoomTable(reactor, options);
    this.defaultRoom = this.table.open(options.room, true);
  }

  get maxOutbound(): number {
    return this.options.maxOutbound;
  }

  /** The rooms that exist now. */
  get roomCount(): number {
    return this.table.size;
  }

  /** Every room, in no order. */
  allRooms(): IterableIterator<ChatRoom> {
    return this.table.values();
  }

  /** The rooms' figures for the metrics. */
  get roomCounts(): RoomCounts {
    return this.table.counts;
  }

  /** The room called `name` (canonical) if it exists. */
  room(name: string): ChatRoom | null {
    return this.table.get(name) ?? null;
  }

  /**
   * Where a cluster's relay hands the shared logs' entries, in each room's
   * order: another server's entry goes to every member, one of this
   * server's own only to the members whose codec waits for its number.
   */
  readonly relaySink: RelaySink = {
    entry: (name, e, local, shown) => {
      const room = this.table.get(name);
      if (!room) return;
      room.log.insert(e);
      if (!local) room.roster.note(e);
      this.table.touch(room);
      // `shown`: history loaded as the relay connects, or a local entry shown when it happened.
      if (shown) return;
      const id = room.members.wantsIds ? formatId(room.log.epoch, e.seq) : null;
      this.counters.linesOut += room.members.broadcast(e, id, null, local ? Audience.NUMBERED : Audience.ALL);
    },
    reset: (name, epoch, lastSeq) => this.table.get(name)?.log.reset(epoch, lastSeq),
    missed: (_name, count) => {
      this.counters.clusterMissed += count;
    },
    private: (m) => this.deliverPrivate(m),
    opened: (name) => {
      const room = this.table.get(name);
      if (room) this.tellWaiting(room);
    },
  };

  // ---------------------------------------------------------------- membership

  /**
   * A client of a protocol of its own (IRC) is registered: it may now be
   * named, join rooms and talk, but is in no room until it joins one.
   */
  register(session: Session): void {
    session.state = SessionState.JOINED;
  }

  /** A new client enters the default room (the others are told first: a client is not told about itself). */
  connect(session: Session): void {
    session.state = SessionState.JOINED;
    this.enter(this.defaultRoom, session, EntryKind.JOIN);
  }

  /** The client is gone (`kind` QUIT when it chose to, LEAVE with `reason` when it was disconnected): it leaves every room. */
  disconnect(session: Session, kind: EntryKind.QUIT | EntryKind.LEAVE, reason = "", reach = Reach.ALL): void {
    if (session.state !== SessionState.JOINED) return;
    session.state = SessionState.GONE;
    const text = kind === EntryKind.LEAVE ? encoder.encode(reason) : EMPTY;
    for (const name of [...session.rooms.keys()]) {
      const room = this.table.get(name)!;
      this.exit(room, session);
      this.publish(room, this.entry(kind, session, text), null, reach, session.conn.remote);
      this.table.closeIfEmpty(room);
    }
  }

  /**
   * `/join ROOM`: a client in one room at a time (a line client) moves
   * there; one that may be in several enters it as well. Returns why not,
   * or null when done (the client was told, with who is there).
   */
  join(session: Session, written: string): string | null {
    const name = canonicalRoom(written, this.options.limits.maxRoomName);
    if (name === null) return `${roomNameRule(this.options.limits.maxRoomName)}: ${written} is none`;
    if (session.rooms.has(name)) {
      session.current = name;
      return `you are already in ${shownRoom(name)}`;
    }
    const single = session.codec.bareQuit;
    if (!single && session.rooms.size >= this.options.limits.maxRoomsPerClient) {
      return `you are in ${session.rooms.size} rooms, the most one client may be in (/part one first)`;
    }
    let room = this.table.get(name);
    if (!room) {
      if (this.table.size >= this.options.limits.maxRooms) {
        return `this server has ${this.table.size} rooms, the most it holds: join one of /rooms`;
      }
      room = this.table.open(name, false);
    }
    if (single && session.current !== null) {
      const from = this.table.get(session.current)!;
      this.exit(from, session);
      this.publish(from, this.entry(EntryKind.PART, session, encoder.encode(name)), null, Reach.ALL, session.conn.remote);
      this.table.closeIfEmpty(from);
    }
    this.reply(session, `You are now in ${shownRoom(name)}`);
    this.enter(room, session, EntryKind.ENTER);
    this.presenceWhenKnown(room, session);
    return null;
  }

  /**
   * `/part [ROOM]`: leave a room; a client in one room at a time goes back
   * to the default room. Returns why not, or null when done.
   */
  part(session: Session, written: string | null): string | null {
    const single = session.codec.bareQuit;
    const name = written === null ? session.current : canonicalRoom(written, this.options.limits.maxRoomName);
    if (name === null || !session.rooms.has(name)) return `you are not in ${written ?? "a room"}`;
    if (single) {
      if (name === this.defaultRoom.name) return `${shownRoom(name)} is where everyone starts: /join another room to leave it`;
      return this.join(session, this.defaultRoom.name);
    }
    if (session.rooms.size === 1) return `${shownRoom(name)} is the only room you are in: /join another first`;
    const room = this.table.get(name)!;
    this.exit(room, session);
    this.reply(session, `You left ${shownRoom(name)}`);
    this.publish(room, this.entry(EntryKind.PART, session), null, Reach.ALL, session.conn.remote);
    this.table.closeIfEmpty(room);
    return null;
  }

  // ---------------------------------------------------------------- for protocols of their own (IRC)

  /**
   * Enter the room `written` names, as `join` does for a client that may be
   * in several, but with no reply and no presence line: the protocol says
   * what it must (IRC: its own JOIN, then the names). Returns the room, or
   * why not (`kind`: which rule refused it).
   */
  enterRoom(session: Session, written: string): ChatRoom | { kind: "name" | "client-limit" | "server-limit"; why: string } {
    const name = canonicalRoom(written, this.options.limits.maxRoomName);
    if (name === null) return { kind: "name", why: `${roomNameRule(this.options.limits.maxRoomName)}: ${written} is none` };
    const there = this.table.get(name);
    if (there && session.rooms.has(name)) return there;
    if (session.rooms.size >= this.options.limits.maxRoomsPerClient) {
      return { kind: "client-limit", why: `you are in ${session.rooms.size} rooms, the most one client may be in` };
    }
    let room = there;
    if (!room) {
      if (this.table.size >= this.options.limits.maxRooms) {
        return { kind: "server-limit", why: `this server has ${this.table.size} rooms, the most it holds` };
      }
      room = this.table.open(name, false);
    }
    this.enter(room, session, EntryKind.ENTER);
    return room;
  }

  /** Leave `room` (canonical name) with nothing said to the client; it may be left in no room. False when it was not in it. */
  leaveRoom(session: Session, name: string): boolean {
    const room = this.table.get(name);
    if (!room || !session.rooms.has(name)) return false;
    this.exit(room, session);
    this.publish(room, this.entry(EntryKind.PART, session), null, Reach.ALL, session.conn.remote);
    this.table.closeIfEmpty(room);
    return true;
  }

  /** Why `session` may not take `nick` (as `/nick` checks it), or null. */
  nickProblemFor(session: Session, nick: string): string | null {
    const holder = this.nicks.holder(nick);
    return nickProblem(nick, (name) => (holder !== null && holder !== session) || this.knownElsewhere(name));
  }

  /**
   * Take `nick` as `rename` does (its rooms are told), but with no reply
   * and never echoed to the client itself (the protocol words its own).
   * Returns why not, or null.
   */
  takeNick(session: Session, nick: string): string | null {
    const problem = this.nickProblemFor(session, nick);
    if (problem) return problem;
    const old = session.name.nick;
    for (const [name, member] of session.rooms) {
      const room = this.table.get(name)!;
      const echo = member.echo;
      member.echo = false;
      this.publish(room, this.entry(EntryKind.NICK, session, EMPTY, nick), session, Reach.ALL, session.conn.remote);
      member.echo = echo;
      room.who.invalidate();
    }
    session.rename(nick);
    this.nicks.renamed(session, old, this.sessions, this.sessions().length);
    return null;
  }

  /** This server's client called `nick` (any case), if any. */
  sessionByNick(nick: string): Session | null {
    return this.nicks.holder(nick);
  }

  /** A member of another server of the cluster called `nick`, if any is known. */
  remoteByNick(nick: string) {
    return this.findElsewhere(nick);
  }

  /** Everyone in `room`: this server's members, then those known on other servers. */
  everyone(room: ChatRoom): { local: Session[]; remote: MemberName[] } {
    const local = room.members.list().map((m) => m.key.data as Session);
    return { local, remote: room.roster.names(room.roster.size) };
  }

  /** `/rooms`: the rooms with how many are in each, the busiest first. */
  roomsList(): string {
    const all = [...this.table.values()].sort((a, b) => b.population - a.population || (a.name < b.name ? -1 : 1));
    const shown = all.slice(0, ROOMS_LISTED).map((r) => `${shownRoom(r.name)} (${r.population})`);
    const more = all.length > ROOMS_LISTED ? ` and ${all.length - ROOMS_LISTED} more` : "";
    return `Rooms (${all.length}): ${shown.join(", ")}${more}`;
  }

  /** Who else is in `room`, told to `session` as it joins, worded by its codec. */
  tellPresence(room: ChatRoom, session: Session): void {
    const names = [];
    const own = session.rooms.get(room.name);
    for (const m of room.members.list()) {
      if (names.length >= PRESENCE_NAMES) break;
      if (m !== own) names.push((m.key.data as Session).name);
    }
    if (names.length < PRESENCE_NAMES) names.push(...room.roster.names(PRESENCE_NAMES - names.length));
    const others = room.population - (own ? 1 : 0);
    const presence = { room: room.name, isDefault: room.isDefault, you: session.name, names, others, last: room.log.lastId };
    this.send(session, session.codec.presence(presence));
  }

  /**
   * Tell `session` who is in `room` now, or, while the cluster's relay is
   * loading the room (who is on the other servers comes with its history),
   * once it has (at most `PRESENCE_WAIT_MS` later).
   */
  presenceWhenKnown(room: ChatRoom, session: Session): void {
    if (!this.options.relay?.opening(room.name)) return this.tellPresence(room, session);
    room.waitingPresence.push(session);
    if (room.waitingPresence.length === 1) this.reactor.setTimer(PRESENCE_WAIT_MS, () => this.tellWaiting(room));
  }

  private tellWaiting(room: ChatRoom): void {
    const waiting = room.waitingPresence;
    if (waiting.length === 0) return;
    room.waitingPresence = [];
    for (const s of waiting) if (s.state === SessionState.JOINED && s.rooms.has(room.name)) this.tellPresence(room, s);
  }

  /** The room a line of `session` is said in: the one it names (`written`), else its current one; a string says why none. */
  roomFor(session: Session, written: string | null): ChatRoom | string {
    const name = written === null ? session.current : canonicalRoom(written, this.options.limits.maxRoomName);
    if (name === null || !session.rooms.has(name)) return `Error: you are not in ${written ?? "a room"} (/join it first)`;
    return this.table.get(name)!;
  }

  // ---------------------------------------------------------------- speaking

  say(session: Session, room: ChatRoom, kind: EntryKind.LINE | EntryKind.ACTION, text: Uint8Array): void {
    room.lines++;
    this.publish(room, this.entry(kind, session, text), session, Reach.ROOM | Reach.CLUSTER);
  }

  rename(session: Session, nick: string): string | null {
    const holder = this.nicks.holder(nick);
    const problem = nickProblem(nick, (name) => (holder !== null && holder !== session) || this.knownElsewhere(name));
    if (problem) return problem;
    const old = session.name.nick;
    this.reply(session, `You are now ${nick}`);
    // Announced before the rename, in every room it is in: a nick entry's sender
    // is the name the others knew (a page's member list and a cluster's roster replace it).
    for (const name of session.rooms.keys()) {
      const room = this.table.get(name)!;
      this.publish(room, this.entry(EntryKind.NICK, session, EMPTY, nick), session, Reach.ALL, session.conn.remote);
      room.who.invalidate();
    }
    session.rename(nick);
    this.nicks.renamed(session, old, this.sessions, this.sessions().length);
    return null;
  }

  /**
   * `/msg NICK text`: to one member, whichever room (or, in a cluster,
   * server) it is in; never stored. Returns why not, or null when sent.
   */
  privateMessage(session: Session, nick: string, action: boolean, text: Uint8Array): string | null {
    const to = this.nicks.holder(nick);
    if (to === null) {
      const elsewhere = this.findElsewhere(nick);
      const relay = this.options.relay;
      if (!elsewhere || !relay) return `nobody here goes by ${nick}`;
      const m: PrivateMessage = { time: Date.now(), from: session.name, to: elsewhere, action, text };
      if (!relay.sendPrivate(m)) return `${nick} is on another server, and the link to it is down: try again later`;
      this.echoPrivate(session, m);
      return null;
    }
    const m: PrivateMessage = { time: Date.now(), from: session.name, to: to.name, action, text };
    this.deliverPrivate(m, to);
    // To oneself: delivered, and that is the echo too.
    if (to !== session) this.echoPrivate(session, m);
    return null;
  }

  /** The server is going: its members hear so (and are gone from the cluster's rosters). */
  shutdown(sessions: readonly Session[]): void {
    // The local members hear that the server goes; the other servers hear who left.
    const going: EntryContent = {
      time: Date.now(),
      kind: EntryKind.NOTICE,
      sender: null,
      text: encoder.encode(notice.shutdown()),
      newName: "",
    };
    for (const room of this.table.values()) {
      if (room.members.size > 0) this.publish(room, going, null, Reach.ROOM);
      room.members.seal();
    }
    for (const session of sessions) this.disconnect(session, EntryKind.LEAVE, "server shutting down", Reach.CLUSTER);
    this.table.save();
    this.options.relay?.close();
  }

  // ---------------------------------------------------------------- answers

  /** Bytes to one client only, after what its rooms sent it before. */
  send(session: Session, bytes: Uint8Array): void {
    for (const [name, member] of session.rooms) if (this.table.get(name)!.members.handOver(member)) this.table.touch(this.table.get(name)!);
    this.reactor.write(session.key, bytes);
  }

  reply(session: Session, text: string): void {
    this.send(session, session.codec.reply(text, session.replyRoom));
  }

  /** A limit's message or a refusal, worded by the session's codec. */
  warn(session: Session, text: string): void {
    this.send(session, session.codec.error(text, session.replyRoom));
  }

  sendParts(session: Session, parts: readonly Uint8Array[]): void {
    for (const p of session.codec.replyParts(parts, session.replyRoom)) this.send(session, p);
  }

  whoParts(session: Session, room: ChatRoom): readonly Uint8Array[] {
    return room.who.answerFor(room.members.list(), room.roster, session);
  }

  /**
   * `/history`: the newest entries of `room`, or those after an id (a
   * resume), worded by the session's codec; false when it does not fit in
   * what the client may have waiting (`fits`).
   */
  replay(session: Session, room: ChatRoom, request: HistoryRequest, fits: (bytes: number) => boolean): boolean {
    const log = room.log;
    let entries: LogEntry[];
    let missed = 0;
    let reset = false;
    if (request.since) ({ entries, missed, reset } = log.since(request.since.epoch, request.since.seq));
    else entries = log.latest(request.count);
    const since = request.since ? formatId(request.since.epoch, request.since.seq) : null;
    const bytes = session.codec.history({ room: room.name, epoch: log.epoch, entries, missed, reset, since, last: log.lastId });
    if (!fits(bytes.length)) return false;
    this.send(session, bytes);
    return true;
  }

  // ---------------------------------------------------------------- the tick

  /**
   * The tick's end, after the dispatcher has looked at its readers'
   * backlogs: seal the batches of the rooms said something to (every
   * member gets this tick's entries in this flush), write their new
   * entries to the store (one transaction each), and last let the relay
   * send the tick's entries on, so that everything this tick published,
   * eviction notices included, leaves for the cluster in this tick.
   */
  endTick(): void {
    this.table.endTick();
    this.options.relay?.endTick();
  }

  /** Bytes broadcast so far this tick, in all rooms. */
  get batchBytes(): number {
    return this.table.batchBytes;
  }

  /** `session` comes into `room` (announced first), as `kind` says (JOIN on connecting, ENTER on /join). */
  private enter(room: ChatRoom, session: Session, kind: EntryKind.JOIN | EntryKind.ENTER): void {
    this.publish(room, this.entry(kind, session), null, Reach.ALL, session.conn.remote);
    const member = session.newMember();
    session.rooms.set(room.name, member);
    session.current = room.name;
    room.members.join(member);
    room.who.invalidate();
  }

  /** `session` is no longer in `room` (what to tell the room is the caller's). */
  private exit(room: ChatRoom, session: Session): void {
    const member = session.rooms.get(room.name);
    if (!member) return;
    room.members.leave(member);
    session.rooms.delete(room.name);
    if (session.current === room.name) session.current = [...session.rooms.keys()].pop() ?? null;
    // A member that got part of the open batch is walked at the seal.
    this.table.touch(room);
  }

  /** Whether a member of another server of the cluster goes by `nick`, in any room. */
  private knownElsewhere(nick: string): boolean {
    for (const room of this.table.values()) if (room.roster.has(nick)) return true;
    return false;
  }

  private findElsewhere(nick: string) {
    for (const room of this.table.values()) {
      const name = room.roster.find(nick);
      if (name) return name;
    }
    return null;
  }

  /** A private message for a client of this server (from here or, through the relay, from another server). */
  private deliverPrivate(m: PrivateMessage, to: Session | null = m.to.nick === null ? null : this.nicks.holder(m.to.nick)): void {
    if (!to) return;
    const bytes = to.codec.privateMessage(m, false);
    if (bytes) this.send(to, bytes);
    this.counters.linesOut++;
  }

  private echoPrivate(session: Session, m: PrivateMessage): void {
    const back = session.codec.privateMessage(m, true);
    if (back) this.send(session, back);
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
    if (reach & Reach.LOG) {
      const words = this.options.words.words(c);
      this.options.log(room.isDefault ? words : `${shownRoom(room.name)}: ${words}`, client);
    }
    if (arrives(c.kind) || departs(c.kind)) room.who.invalidate();
    this.table.touch(room);
    const member = from?.rooms.get(room.name) ?? null;
    const relay = this.options.relay;
    const toRoom = (reach & Reach.ROOM) !== 0;
    if (relay && reach & Reach.CLUSTER) {
      if (toRoom) this.counters.linesOut += room.members.broadcast(c, null, member, Audience.LIVE);
      if (!relay.append(room.name, c) && toRoom) this.counters.linesOut += room.members.broadcast(c, null, member, Audience.NUMBERED);
    } else if (!relay && reach & (Reach.ROOM | Reach.CLUSTER)) {
      const e = room.log.append(c);
      // The id is a string made per entry: only when a member's codec shows it.
      const id = room.members.wantsIds ? formatId(room.log.epoch, e.seq) : null;
      if (toRoom) this.counters.linesOut += room.members.broadcast(e, id, member);
    } else if (toRoom) {
      this.counters.linesOut += room.members.broadcast(c, null, member);
    }
  }
}

/** Longest a member waits for a room's presence line while the cluster loads the room. */
const PRESENCE_WAIT_MS = 1000;

/** Rooms `/rooms` names at most (the busiest), then says how many more. */
const ROOMS_LISTED = 50;

const encoder = new TextEncoder();
const EMPTY: Uint8Array = new Uint8Array(0);
