/**
 * IRC over the chat's rooms: a `SessionProtocol` (lib/server/session.ts)
 * that registers an IRC client (CAP, NICK, USER), answers its commands
 * and maps them onto the room service. Channels are the rooms: `#chat` is
 * the room a line client lands in, `JOIN #rust` enters the room `/join
 * rust` does. The dispatcher still frames, rate-limits and evicts; this
 * file only reads parsed lines and writes replies (lib/irc/codec.ts words
 * the rooms' entries).
 *
 * What an IRC client may do before it is registered: CAP, NICK, USER,
 * PASS (ignored), PING, QUIT. After: JOIN, PART, PRIVMSG, NOTICE, NAMES,
 * WHO, WHOIS, TOPIC (none: 331), LIST, MODE (none), AWAY, TIME, VERSION,
 * MOTD, LUSERS, USERHOST, ISON, CHATHISTORY (LATEST, BEFORE, AFTER) and
 * PING/PONG; anything else is 421. The server PINGs a client quiet for
 * `pingMs` and drops it when no answer comes within `pingMs` more.
 */
import type { Reactor } from "../reactor/reactor.ts";
import type { Timer } from "../reactor/timers.ts";
import { EntryKind, type LogEntry, parseId } from "../chat/entry.ts";
import { MAX_NICK } from "../chat/naming.ts";
import { canonicalRoom, shownRoom } from "../chat/rooms.ts";
import type { ChatRoom } from "../server/chat-room.ts";
import { REPLY_SHARE } from "../server/commands.ts";
import type { RoomService } from "../server/room-service.ts";
import type { ServerAttachment, Session, SessionProtocol } from "../server/session.ts";
import type { IrcCodec, IrcCodecs, IrcWording } from "./codec.ts";
import { bytesToLatin1, type IrcMessage, latin1ToBytes, type Parsed, parseLine } from "./message.ts";

/** What the protocol needs of the server that runs it (the dispatcher's part). */
export interface IrcHost {
  readonly service: RoomService;
  readonly reactor: Reactor<ServerAttachment>;
  /** The client leaves, its output flushed (QUIT). */
  quit(session: Session): void;
  /** Drop the client: `why` told to it, `reason` to the others. */
  drop(session: Session, why: string, reason: string): void;
  /** Clients connected, all transports. */
  clients(): number;
}

/** Settings of the IRC listener (flags of bin/server.ts). */
export interface IrcOptions {
  /** `--server-name`: the source of the server's lines. */
  serverName: string;
  /** The MOTD's lines (`--motd`), or null: 422. */
  motd: readonly string[] | null;
  /** The software's version, for 002, 004 and VERSION. */
  version: string;
  /** PING a client quiet this long, drop it after as long again without an answer (ms). */
  pingMs: number;
  /** Most rooms one client may be in (`--max-rooms-per-client`): CHANLIMIT. */
  maxRoomsPerClient: number;
  /** Longest room name without `#` (`--max-room-name`): CHANNELLEN is one more. */
  maxRoomName: number;
  /** Entries one CHATHISTORY request may have at most. */
  historyLimit: number;
}

/** The capabilities offered (CAP LS). */
export const CAPABILITIES = ["server-time", "message-tags", "echo-message", "multi-prefix", "batch", "draft/chathistory"] as const;

/** Most targets of one PRIVMSG or NOTICE (TARGMAX). */
export const MAX_TARGETS = 4;
/** Most channels one NAMES lists (TARGMAX). */
export const MAX_NAMES_TARGETS = 10;
/** Longest AWAY message kept (AWAYLEN). */
const AWAY_LEN = 200;

/** What the protocol keeps per client (`Session.protocolState`). */
class IrcClient {
  nick: string | null = null;
  user: string | null = null;
  realname = "";
  readonly caps = new Set<string>();
  /** CAP LS or REQ came before registration: it waits for CAP END. */
  negotiating = false;
  registered = false;
  away: string | null = null;
  /** When its last line came (reactor clock). */
  lastSeen: number;
  /** When the server's PING went out unanswered; 0: none. */
  pingSent = 0;
  timer: Timer | null = null;
  /** The line `cost` parsed, for `line` to use. */
  parsed: { bytes: Uint8Array; result: Parsed } | null = null;
  constructor(now: number) {
    this.lastSeen = now;
  }
}

const state = (session: Session) => session.protocolState as IrcClient;
/** Where PART and QUIT reasons are cut (they go nowhere else anyway). */
const REASON_LEN = 300;

/** The IRC protocol; see the top of this file. */
export class IrcProtocol implements SessionProtocol {
  private readonly created = new Date().toUTCString();

  constructor(
    private readonly host: IrcHost,
    readonly codecs: IrcCodecs,
    readonly options: IrcOptions,
  ) {}

  private get service(): RoomService {
    return this.host.service;
  }

  private get server(): string {
    return this.options.serverName;
  }

  accepted(session: Session): void {
    const st = new IrcClient(this.host.reactor.now());
    session.protocolState = st;
    // A client that never registers is dropped as one that does not answer PING is.
    st.timer = this.host.reactor.setTimer(this.options.pingMs, () => {
      st.timer = null;
      if (session.key.valid && !st.registered) this.host.drop(session, "Closing Link: registration timed out", "registration timeout");
    });
  }

  closed(session: Session): void {
    state(session)?.timer?.cancel();
  }

  shuttingDown(session: Session): void {
    // service.send would go through the rooms the session has just left: straight to the key.
    this.host.reactor.write(session.key, this.codec(session).error(`Closing Link: ${session.conn.remote.host} (Server is shutting down)`));
  }

  warn(session: Session, text: string): void {
    this.notice(session, text);
  }

  cost(session: Session, line: Uint8Array): number {
    const result = parseLine(line);
    state(session).parsed = { bytes: line, result };
    if (!result.ok) return 1;
    const m = result.message;
    switch (m.command) {
      case "JOIN":
      case "PART":
      case "PRIVMSG":
      case "NOTICE":
        // Every target is an operation: thousands of channels in one line pay for each.
        return Math.max(1, (m.params[0] ?? "").split(",").length);
      case "LIST":
        return 1 + Math.floor(this.service.roomCount / 50);
      case "NAMES":
      case "WHO": {
        // Each room listed pays for its size: NAMES #a,#b,... of big rooms is not one line's cost.
        let cost = 0;
        for (const target of (m.params[0] ?? "").split(",").slice(0, MAX_NAMES_TARGETS)) {
          const room = this.service.room(canonicalRoom(target, this.options.maxRoomName) ?? "");
          cost += 1 + Math.floor((room?.population ?? 0) / 50);
        }
        return Math.max(1, cost);
      }
      case "CHATHISTORY":
        return 1 + Math.floor(Number(m.params[3] ?? this.options.historyLimit) / 10 || 0);
      default:
        return 1;
    }
  }

  line(session: Session, bytes: Uint8Array): boolean {
    const st = state(session);
    st.lastSeen = this.host.reactor.now();
    st.pingSent = 0;
    const result = st.parsed?.bytes === bytes ? st.parsed.result : parseLine(bytes);
    st.parsed = null;
    if (!result.ok) {
      if (result.problem === "too-long" || result.problem === "tags-too-long") this.numeric(session, "417", "Input line was too long");
      // An empty line or one without a command (a bare `:prefix`) is ignored, as servers do.
      return true;
    }
    this.handle(session, st, result.message);
    return session.key.valid;
  }

  // ---------------------------------------------------------------- commands

  private handle(session: Session, st: IrcClient, m: IrcMessage): void {
    const p = m.params;
    switch (m.command) {
      case "CAP":
        return this.cap(session, st, p);
      case "NICK":
        return this.nick(session, st, p[0]);
      case "USER":
        if (st.registered) return this.numeric(session, "462", "You may not reregister");
        if (p.length < 4 || p[0] === "") return this.numeric(session, "461", "USER", "Not enough parameters");
        st.user = p[0]!.replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 16) || "user";
        st.realname = p[3]!.slice(0, 100);
        return this.tryRegister(session, st);
      case "PASS":
        if (st.registered) return this.numeric(session, "462", "You may not reregister");
        return; // no passwords yet
      case "PING":
        if (p.length === 0) return this.numeric(session, "409", "No origin specified");
        return this.send(session, this.codec(session).line(null, this.server, "PONG", [this.server, p[0]!]));
      case "PONG":
        return; // any line is an answer (line() noted it)
      case "QUIT":
        return this.quit(session, p[0] ?? "");
    }
    if (!st.registered) return this.numeric(session, "451", "You have not registered");
    switch (m.command) {
      case "JOIN":
        return this.join(session, p[0]);
      case "PART":
        return this.part(session, p[0]);
      case "PRIVMSG":
      case "NOTICE":
        return this.message(session, m.command, p);
      case "NAMES":
        for (const target of (p[0] ?? "").split(",").slice(0, MAX_NAMES_TARGETS)) if (target !== "") this.names(session, target);
        if (!p[0]) this.numeric(session, "366", "*", "End of /NAMES list");
        return;
      case "WHO":
        return this.who(session, p[0] ?? "*");
      case "WHOIS":
        return this.whois(session, p[p.length - 1] ?? "");
      case "TOPIC":
        return this.topic(session, p);
      case "LIST":
        return this.list(session);
      case "MODE":
        return this.mode(session, p);
      case "AWAY": {
        const text = (p[0] ?? "").slice(0, AWAY_LEN);
        st.away = text === "" ? null : text;
        return text === ""
          ? this.numeric(session, "305", "You are no longer marked as being away")
          : this.numeric(session, "306", "You have been marked as being away");
      }
      case "TIME":
        return this.numeric(session, "391", this.server, new Date().toUTCString());
      case "VERSION":
        this.numeric(session, "351", this.options.version, this.server, "select-chat IRC listener");
        return this.isupport(session);
      case "MOTD":
        return this.motd(session);
      case "LUSERS":
        return this.lusers(session);
      case "USERHOST":
        return this.userhost(session, p.slice(0, 5));
      case "ISON":
        return this.numeric(
          session,
          "303",
          p
            .join(" ")
            .split(" ")
            .filter((n) => n !== "" && this.service.sessionByNick(n) !== null)
            .join(" "),
        );
      case "CHATHISTORY":
        return this.chathistory(session, st, p);
      default:
        return this.numeric(session, "421", m.command, "Unknown command");
    }
  }

  private cap(session: Session, st: IrcClient, p: readonly string[]): void {
    const sub = (p[0] ?? "").toUpperCase();
    // Before registration a CAP reply names the client `*`.
    const me = st.registered ? st.nick! : "*";
    const codec = this.codec(session);
    if (sub === "LS") {
      if (!st.registered) st.negotiating = true;
      const v302 = Number(p[1] ?? 0) >= 302;
      const offered = CAPABILITIES.map((c) => (v302 && c === "draft/chathistory" ? `${c}=${this.options.historyLimit}` : c));
      return this.send(session, codec.line(null, this.server, "CAP", [me, "LS", offered.join(" ")], true));
    }
    if (sub === "LIST") return this.send(session, codec.line(null, this.server, "CAP", [me, "LIST", [...st.caps].join(" ")], true));
    if (sub === "REQ") {
      if (!st.registered) st.negotiating = true;
      const asked = (p[1] ?? "").split(" ").filter((c) => c !== "");
      const known = (c: string) => (CAPABILITIES as readonly string[]).includes(c.replace(/^-/, ""));
      const next = new Set(st.caps);
      for (const c of asked)
        if (c.startsWith("-")) next.delete(c.slice(1));
        else next.add(c);
      // A client in a room keeps its codec (the rooms' batches are per codec): no change of wording then.
      const rewords = session.rooms.size > 0 && this.codecs.for(wordingOf(next)) !== session.codec;
      const ok = asked.length > 0 && asked.every(known) && !rewords;
      if (ok) {
        st.caps.clear();
        for (const c of next) st.caps.add(c);
        session.codec = this.codecs.for(wordingOf(st.caps));
      }
      return this.send(session, codec.line(null, this.server, "CAP", [me, ok ? "ACK" : "NAK", asked.join(" ")], true));
    }
    if (sub === "END") {
      st.negotiating = false;
      return this.tryRegister(session, st);
    }
    this.numeric(session, "410", sub || "*", "Invalid CAP command");
  }

  private nick(session: Session, st: IrcClient, nick: string | undefined): void {
    if (nick === undefined || nick === "") return this.numeric(session, "431", "No nickname given");
    if (st.registered && nick === session.name.nick) return;
    const problem = this.service.nickProblemFor(session, nick);
    if (problem) return this.numeric(session, /taken/.test(problem) ? "433" : "432", nick.slice(0, 64), capitalise(problem));
    if (!st.registered) {
      st.nick = nick;
      return this.tryRegister(session, st);
    }
    const before = this.codec(session).mask(session.name);
    const refused = this.service.takeNick(session, nick);
    if (refused) return this.numeric(session, "433", nick, capitalise(refused));
    st.nick = nick;
    this.send(session, this.codec(session).line(null, before, "NICK", [nick]));
  }

  /** Registered once it has a nick and a user and is not negotiating capabilities. */
  private tryRegister(session: Session, st: IrcClient): void {
    if (st.registered || st.negotiating || st.nick === null || st.user === null) return;
    const nick = st.nick;
    const problem = this.service.nickProblemFor(session, nick);
    if (problem) {
      st.nick = null;
      return this.numeric(session, /taken/.test(problem) ? "433" : "432", nick, capitalise(problem));
    }
    this.service.register(session);
    this.service.takeNick(session, nick);
    st.registered = true;
    st.timer?.cancel();
    session.codec = this.codecs.for(wordingOf(st.caps));
    this.welcome(session, st);
    this.armPing(session, st);
  }

  private welcome(session: Session, st: IrcClient): void {
    const codec = this.codec(session);
    const mask = codec.mask(session.name);
    this.numeric(session, "001", `Welcome to the ${this.server} IRC network, ${mask}`);
    this.numeric(session, "002", `Your host is ${this.server}, running version ${this.options.version}`);
    this.numeric(session, "003", `This server was created ${this.created}`);
    // No user or channel modes yet.
    this.send(session, codec.numeric("004", st.nick!, this.server, this.options.version, "-", "-"));
    this.isupport(session);
    this.lusers(session);
    this.motd(session);
    const room = shownRoom(this.service.defaultRoom.name);
    this.notice(session, `Everyone who connects without IRC is in ${room}: /join ${room} to talk with them`);
  }

  private isupport(session: Session): void {
    const tokens = [
      "CASEMAPPING=ascii",
      "CHANTYPES=#",
      `NICKLEN=${MAX_NICK}`,
      `CHANNELLEN=${this.options.maxRoomName + 1}`,
      `CHANLIMIT=#:${this.options.maxRoomsPerClient}`,
      `TARGMAX=PRIVMSG:${MAX_TARGETS},NOTICE:${MAX_TARGETS},JOIN:,PART:,NAMES:${MAX_NAMES_TARGETS},WHOIS:1`,
      `MAXTARGETS=${MAX_TARGETS}`,
      "PREFIX=",
      "CHANMODES=,,,",
      `AWAYLEN=${AWAY_LEN}`,
      `NETWORK=${this.server.replace(/[^A-Za-z0-9.-]/g, "")}`,
      `CHATHISTORY=${this.options.historyLimit}`,
      `MSGREFTYPES=msgid`,
    ];
    for (let i = 0; i < tokens.length; i += 12) this.numeric(session, "005", ...tokens.slice(i, i + 12), "are supported by this server");
  }

  private lusers(session: Session): void {
    const n = this.host.clients();
    this.numeric(session, "251", `There are ${n} users and 0 invisible on 1 servers`);
    this.numeric(session, "254", String(this.service.roomCount), "channels formed");
    this.numeric(session, "255", `I have ${n} clients and 0 servers`);
  }

  private motd(session: Session): void {
    const lines = this.options.motd;
    if (lines === null) return this.numeric(session, "422", "MOTD File is missing");
    this.numeric(session, "375", `- ${this.server} Message of the day - `);
    for (const line of lines) this.numeric(session, "372", `- ${line}`);
    this.numeric(session, "376", "End of /MOTD command.");
  }

  private quit(session: Session, reason: string): void {
    const why = reason === "" ? "Client Quit" : `Quit: ${reason.slice(0, REASON_LEN)}`;
    this.send(session, this.codec(session).error(`Closing Link: ${session.conn.remote.host} (${why})`));
    this.host.quit(session);
  }

  private join(session: Session, targets: string | undefined): void {
    if (!targets) return this.numeric(session, "461", "JOIN", "Not enough parameters");
    if (targets === "0") {
      for (const name of [...session.rooms.keys()]) this.leave(session, name, "");
      return;
    }
    for (const target of targets.split(",")) {
      if (target === "") continue;
      if (!target.startsWith("#")) {
        this.numeric(session, "403", target.slice(0, 64), "No such channel (channels start with #)");
        continue;
      }
      const name = canonicalRoom(target, this.options.maxRoomName);
      if (name !== null && session.rooms.has(name)) continue;
      const result = this.service.enterRoom(session, target);
      if (!("kind" in result)) {
        this.joined(session, result);
        continue;
      }
      if (result.kind === "name") this.numeric(session, "479", target.slice(0, 64), capitalise(result.why));
      else this.numeric(session, "405", target.slice(0, 64), `You have joined too many channels (${result.why})`);
    }
  }

  /** What a client is told as it enters `room`: its own JOIN, then who is there. */
  private joined(session: Session, room: ChatRoom): void {
    const codec = this.codec(session);
    const tags = codec.tags(Date.now(), null, null);
    this.send(session, codec.line(tags, codec.mask(session.name), "JOIN", [shownRoom(room.name)]));
    this.names(session, shownRoom(room.name));
  }

  private part(session: Session, targets: string | undefined): void {
    if (!targets) return this.numeric(session, "461", "PART", "Not enough parameters");
    for (const target of targets.split(",")) {
      const name = canonicalRoom(target, this.options.maxRoomName);
      if (name === null || !target.startsWith("#")) this.numeric(session, "403", target.slice(0, 64), "No such channel");
      else if (!session.rooms.has(name)) this.numeric(session, "442", shownRoom(name), "You're not on that channel");
      else this.leave(session, name, "");
    }
  }

  private leave(session: Session, name: string, reason: string): void {
    const codec = this.codec(session);
    const mask = codec.mask(session.name);
    if (!this.service.leaveRoom(session, name)) return;
    this.send(session, codec.line(null, mask, "PART", reason ? [shownRoom(name), reason] : [shownRoom(name)]));
  }

  private message(session: Session, command: "PRIVMSG" | "NOTICE", p: readonly string[]): void {
    const notice = command === "NOTICE";
    if (!p[0]) return notice ? undefined : this.numeric(session, "411", `No recipient given (${command})`);
    if (p.length < 2 || p[1] === "") return notice ? undefined : this.numeric(session, "412", "No text to send");
    let text = p[1]!;
    let action = false;
    if (text.startsWith("\x01")) {
      const ctcp = text.slice(1).replace(/\x01$/, "");
      // Only /me crosses into the chat; other CTCP (VERSION, DCC...) has nowhere to go.
      if (!/^ACTION( |$)/.test(ctcp)) return;
      action = true;
      text = ctcp.slice(7);
    }
    const bytes = latin1ToBytes(text);
    const targets = p[0].split(",").filter((t) => t !== "");
    for (const [i, target] of targets.entries()) {
      if (i >= MAX_TARGETS) {
        if (!notice) this.numeric(session, "407", target.slice(0, 64), `Too many targets (at most ${MAX_TARGETS})`);
        break;
      }
      if (target.startsWith("#")) {
        const name = canonicalRoom(target, this.options.maxRoomName);
        const room = name === null ? null : this.service.room(name);
        if (!room || !session.rooms.has(room.name)) {
          if (!notice) this.numeric(session, "404", target.slice(0, 64), "Cannot send to channel (join it first)");
          continue;
        }
        this.service.say(session, room, action ? EntryKind.ACTION : EntryKind.LINE, bytes);
        continue;
      }
      const refused = this.service.privateMessage(session, target, action, bytes);
      if (refused) {
        if (!notice) this.numeric(session, "401", target.slice(0, 64), "No such nick/channel");
        continue;
      }
      const to = this.service.sessionByNick(target);
      const away = to?.protocol === this ? state(to).away : null;
      if (away !== null && !notice) this.numeric(session, "301", to!.name.nick!, away);
    }
  }

  private names(session: Session, target: string): void {
    const codec = this.codec(session);
    const me = state(session).nick!;
    const name = canonicalRoom(target, this.options.maxRoomName);
    const room = name === null ? null : this.service.room(name);
    if (!room) return this.numeric(session, "366", target.slice(0, 64), "End of /NAMES list");
    const { local, remote } = this.service.everyone(room);
    const nicks = [...local.map((s) => codec.nick(s.name)), ...remote.map((n) => codec.nick(n))];
    for (const line of codec.namesLines(me, room.name, nicks)) this.send(session, line);
  }

  private who(session: Session, mask: string): void {
    const codec = this.codec(session);
    const me = state(session).nick!;
    const line = (channel: string, s: Session) => {
      const other = s.protocol === this ? state(s) : null;
      const userHost = codec.mask(s.name).split("!")[1]!;
      const [user, host] = userHost.split("@") as [string, string];
      const flag = other?.away ? "G" : "H";
      this.numeric(session, "352", channel, user, host, this.server, codec.nick(s.name), flag, `0 ${other?.realname || s.name.address}`);
    };
    if (mask.startsWith("#")) {
      const name = canonicalRoom(mask, this.options.maxRoomName);
      const room = name === null ? null : this.service.room(name);
      if (room) for (const s of this.service.everyone(room).local) line(shownRoom(room.name), s);
    } else {
      const s = this.service.sessionByNick(mask);
      if (s) line("*", s);
    }
    this.send(session, codec.numeric("315", me, mask.slice(0, 64), "End of WHO list"));
  }

  private whois(session: Session, nick: string): void {
    const codec = this.codec(session);
    const s = nick === "" ? null : this.service.sessionByNick(nick);
    const remote = s === null && nick !== "" ? this.service.remoteByNick(nick) : null;
    const name = s?.name ?? remote;
    if (!name) {
      this.numeric(session, "401", nick.slice(0, 64) || "*", "No such nick/channel");
      return this.numeric(session, "318", nick.slice(0, 64) || "*", "End of /WHOIS list");
    }
    const shown = codec.nick(name);
    const [user, host] = codec.mask(name).split("!")[1]!.split("@") as [string, string];
    const other = s?.protocol === this ? state(s) : null;
    this.numeric(session, "311", shown, user, host, "*", other?.realname || name.address);
    if (s && s.rooms.size > 0) this.numeric(session, "319", shown, [...s.rooms.keys()].map(shownRoom).join(" "));
    this.numeric(
      session,
      "312",
      shown,
      s ? this.server : name.node || "another server",
      s ? "this server" : "another server of the cluster",
    );
    if (other?.away) this.numeric(session, "301", shown, other.away);
    this.numeric(session, "318", shown, "End of /WHOIS list");
  }

  private topic(session: Session, p: readonly string[]): void {
    const target = p[0];
    if (!target) return this.numeric(session, "461", "TOPIC", "Not enough parameters");
    const name = canonicalRoom(target, this.options.maxRoomName);
    if (name === null || !this.service.room(name)) return this.numeric(session, "403", target.slice(0, 64), "No such channel");
    if (p.length > 1) return this.numeric(session, "482", shownRoom(name), "Topics are not supported yet");
    this.numeric(session, "331", shownRoom(name), "No topic is set");
  }

  private list(session: Session): void {
    const codec = this.codec(session);
    const me = state(session).nick!;
    const lines = [codec.numeric("321", me, "Channel", "Users  Name")];
    for (const room of this.service.allRooms()) lines.push(codec.numeric("322", me, shownRoom(room.name), String(room.population), ""));
    let size = 0;
    for (const l of lines) size += l.length;
    if (!this.fits(session, size)) return this.numeric(session, "416", "LIST", "Output too large: read what is waiting first");
    for (const l of lines) this.send(session, l);
    this.numeric(session, "323", "End of /LIST");
  }

  /** Whether an answer of `bytes` may be queued now: at most a share of --max-outbound waiting, as for /history. */
  private fits(session: Session, bytes: number): boolean {
    const max = this.service.maxOutbound;
    return max <= 0 || session.key.pendingBytes + bytes <= max / REPLY_SHARE;
  }

  private mode(session: Session, p: readonly string[]): void {
    const target = p[0];
    if (!target) return this.numeric(session, "461", "MODE", "Not enough parameters");
    if (target.startsWith("#")) {
      const name = canonicalRoom(target, this.options.maxRoomName);
      if (name === null || !this.service.room(name)) return this.numeric(session, "403", target.slice(0, 64), "No such channel");
      const channel = shownRoom(name);
      if (p.length === 1) return this.numeric(session, "324", channel, "+");
      // Lists asked for (bans, exceptions, invitations) are empty; changes are refused.
      if (/^[+]?[beI]$/.test(p[1]!)) {
        const end = {
          b: ["368", "End of channel ban list"],
          e: ["349", "End of channel exception list"],
          I: ["347", "End of channel invite list"],
        };
        const [code, text] = end[p[1]!.replace("+", "") as "b" | "e" | "I"];
        return this.numeric(session, code!, channel, text!);
      }
      return this.numeric(session, "482", channel, "Channel modes are not supported yet");
    }
    if (target.toLowerCase() !== (state(session).nick ?? "").toLowerCase())
      return this.numeric(session, "502", "Cannot change mode for other users");
    if (p.length === 1) return this.numeric(session, "221", "+");
    this.numeric(session, "501", "User modes are not supported yet");
  }

  private userhost(session: Session, nicks: readonly string[]): void {
    const codec = this.codec(session);
    const found: string[] = [];
    for (const n of nicks.join(" ").split(" ")) {
      const s = n === "" ? null : this.service.sessionByNick(n);
      if (!s) continue;
      const away = s.protocol === this && state(s).away !== null;
      found.push(`${s.name.nick}=${away ? "-" : "+"}${codec.mask(s.name).split("!")[1]}`);
    }
    this.numeric(session, "302", found.join(" "));
  }

  /**
   * `CHATHISTORY LATEST|BEFORE|AFTER #room msgid=ID|* LIMIT` over the
   * room's log (ids `EPOCH:SEQ`), in a `chathistory` batch when the client
   * has the batch capability. A timestamp= reference is not supported yet.
   */
  private chathistory(session: Session, st: IrcClient, p: readonly string[]): void {
    const fail = (code: string, text: string) =>
      this.send(session, this.codec(session).line(null, this.server, "FAIL", ["CHATHISTORY", code, ...p.slice(0, 2), text], true));
    const sub = (p[0] ?? "").toUpperCase();
    if (!["LATEST", "BEFORE", "AFTER"].includes(sub)) return fail("INVALID_PARAMS", "Only LATEST, BEFORE and AFTER are supported");
    const name = canonicalRoom(p[1] ?? "", this.options.maxRoomName);
    const room = name === null ? null : this.service.room(name);
    if (!room || !session.rooms.has(room.name)) return fail("INVALID_TARGET", "Join the channel first");
    const limit = Math.min(this.options.historyLimit, Math.max(0, Number(p[3] ?? this.options.historyLimit) || 0));
    const ref = p[2] ?? "*";
    const log = room.log;
    let seq: number | null = null;
    if (ref !== "*") {
      const id = ref.startsWith("msgid=") ? parseId(ref.slice(6)) : null;
      if (!id) return fail("INVALID_MSGREFTYPE", "Only msgid=EPOCH:SEQ references are supported");
      seq = id.epoch === log.epoch ? id.seq : null;
      if (seq === null) return fail("UNKNOWN_MSGID", "That id is of another life of the room's log");
    }
    const all = log.latest(log.size);
    let entries: LogEntry[];
    if (sub === "AFTER") entries = all.filter((e) => seq === null || e.seq > seq).slice(0, limit);
    else {
      const before = all.filter((e) => seq === null || (sub === "LATEST" ? e.seq > seq : e.seq < seq));
      entries = limit === 0 ? [] : before.slice(-limit);
    }
    const batch = st.caps.has("batch") ? `h${(++this.batches).toString(36)}` : null;
    const bytes = this.codec(session).historyLines(room.name, log.epoch, entries, batch);
    if (!this.fits(session, bytes.length)) return fail("MESSAGE_ERROR", "Too much output is waiting for you: read it first");
    this.send(session, bytes);
  }

  private batches = 0;

  // ---------------------------------------------------------------- PING

  /** Check for quiet at the deadline: PING a client quiet for `pingMs`, drop one that has not answered for as long again. */
  private armPing(session: Session, st: IrcClient): void {
    const now = this.host.reactor.now();
    const ms = this.options.pingMs;
    const due = st.pingSent > 0 ? st.pingSent + ms : st.lastSeen + ms;
    st.timer = this.host.reactor.setTimer(Math.max(0, due - now), () => {
      st.timer = null;
      if (!session.key.valid) return;
      const at = this.host.reactor.now();
      if (st.pingSent > 0 && at - st.pingSent >= ms) {
        const seconds = Math.round(ms / 1000);
        return this.host.drop(session, `Closing Link: ${session.conn.remote.host} (Ping timeout: ${seconds} seconds)`, "ping timeout");
      }
      if (st.pingSent === 0 && at - st.lastSeen >= ms) {
        st.pingSent = at;
        this.send(session, this.codec(session).line(null, null, "PING", [this.server]));
      }
      this.armPing(session, st);
    });
  }

  // ---------------------------------------------------------------- output

  private codec(session: Session): IrcCodec {
    return session.codec as IrcCodec;
  }

  private send(session: Session, bytes: Uint8Array): void {
    this.service.send(session, bytes);
  }

  private numeric(session: Session, code: string, ...params: string[]): void {
    this.send(session, this.codec(session).numeric(code, state(session).nick ?? "*", ...params));
  }

  private notice(session: Session, text: string): void {
    this.send(session, this.codec(session).line(null, this.server, "NOTICE", [state(session).nick ?? "*", text], true));
  }
}

/** The wording a set of capabilities asks for (the codec it chooses). */
export function wordingOf(caps: ReadonlySet<string>): IrcWording {
  return { serverTime: caps.has("server-time"), messageTags: caps.has("message-tags"), echo: caps.has("echo-message") };
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** A UTF-8 text (a MOTD line, say) as the latin1 text lines are made of (its bytes). */
export const utf8ForLine = (text: string): string => bytesToLatin1(new TextEncoder().encode(text));
