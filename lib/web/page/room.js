/**
 * What the page knows, without the DOM: for each room it is in, which
 * entries it has shown (by id), where a new one goes among them and who is
 * here; its private conversations; the view in view and the unread marks;
 * what to send on connecting so that every room resumes without a gap or
 * a duplicate; and the lines the user sent (for Up/Down). Plain ES module
 * with no imports: the browser loads it as is, and
 * spec/web/page-state.test.ts runs it under Node.
 */

/**
 * `EPOCH:SEQ` as `{epoch, seq}`, or null for anything else. SEQ counts
 * 1, 2, 3... within an epoch; a new epoch is a log that started over.
 */
export function parseId(id) {
  if (typeof id !== "string") return null;
  const m = /^([0-9a-z]{1,32}):(\d{1,15})$/.exec(id);
  return m ? { epoch: m[1], seq: Number(m[2]) } : null;
}

/** Ids remembered for deduplication before the oldest are forgotten (a resume only replays what is newer than the last seen). */
const SEEN_LIMIT = 5000;

/**
 * The entries shown so far, by id: drops one already shown (a resume
 * replays what may also have arrived live) and remembers the newest id,
 * which the next resume asks for everything after.
 */
export class Timeline {
  constructor() {
    /** The epoch of the newest id seen, or null before any. */
    this.epoch = null;
    /** The newest SEQ seen in `epoch`. */
    this.seq = 0;
    /** Epochs the log has left behind: an id of one of them is never newer. */
    this.pastEpochs = new Set();
    this.seen = new Set();
  }

  /** `EPOCH:SEQ` of the newest entry seen, or null. */
  get lastId() {
    return this.epoch === null ? null : `${this.epoch}:${this.seq}`;
  }

  /**
   * Whether an entry with this id is new (to be shown); records it. An
   * entry without an id (not numbered yet, in a cluster whose Redis is
   * away) is always new.
   */
  admit(id) {
    if (id === null || id === undefined) return true;
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > SEEN_LIMIT) {
      let drop = this.seen.size - SEEN_LIMIT;
      for (const old of this.seen) {
        if (drop-- === 0) break;
        this.seen.delete(old);
      }
    }
    this.note(id);
    return true;
  }

  /** The room's log has reached `id` (an entry, or `last` of presence and history-end): keep it if newer. */
  note(id) {
    const parsed = parseId(id);
    if (!parsed) return;
    if (parsed.epoch === this.epoch) {
      if (parsed.seq > this.seq) this.seq = parsed.seq;
    } else if (!this.pastEpochs.has(parsed.epoch)) {
      if (this.epoch !== null) this.pastEpochs.add(this.epoch);
      this.epoch = parsed.epoch;
      this.seq = parsed.seq;
    }
  }

  /**
   * Whether an entry with id `later` goes after one with id `earlier` as
   * shown: within an epoch by SEQ; an entry without an id, or of another
   * epoch, never moves before what is shown.
   */
  static after(later, earlier) {
    const a = parseId(later);
    const b = parseId(earlier);
    return !a || !b || a.epoch !== b.epoch || a.seq > b.seq;
  }
}

/**
 * Who is in the room: the names `presence` gave on joining, kept current
 * by join, leave and nick entries. `presence` names up to a limit; the
 * others are only counted (`more`) until they show up by name.
 */
export class Members {
  constructor() {
    this.names = new Set();
    this.more = 0;
    /** The user's own name as others see it: `HOST:PORT` until `/nick`. */
    this.self = null;
  }

  /** How many are here, the user included. */
  get count() {
    return this.names.size + this.more;
  }

  /** A `presence` event: who is here now (the user included). */
  presence(event) {
    this.self = event.you;
    this.names = new Set(Array.isArray(event.names) ? event.names : []);
    this.names.add(event.you);
    this.more = Number.isInteger(event.more) && event.more > 0 ? event.more : 0;
  }

  /** A live join, leave or nick entry. */
  apply(event) {
    switch (event.k) {
      case "join":
        this.names.add(event.s);
        break;
      case "leave":
        if (!this.names.delete(event.s) && this.more > 0) this.more--;
        break;
      case "nick":
        if (!this.names.delete(event.s) && this.more > 0) this.more--;
        this.names.add(event.to);
        if (event.s === this.self) this.self = event.to;
        break;
    }
  }

  /** The names, the user first, then in alphabetical order. */
  list() {
    const others = [...this.names].filter((n) => n !== this.self).sort((a, b) => a.localeCompare(b));
    return this.self !== null && this.names.has(this.self) ? [this.self, ...others] : others;
  }
}

/** A reply that names the user anew: `You are now NAME` (and `You are already NAME`). */
const YOU_ARE = /^You are (now|already) (\S+)$/;
/** The reply to a `/join`: the room's `presence` follows and says more. */
const NOW_IN = /^You are now in (#\S+)$/;
/** The reply to a `/part`: the page is no longer in that room. */
const LEFT = /^You left (#\S+)$/;

/** A room's name as users write it (lib/chat/rooms.ts): an optional `#`, then letters, digits, `_`, `-` or `.`. */
const ROOM_NAME = /^#?([A-Za-z0-9_][A-Za-z0-9_.-]*)$/;

/**
 * The room `written` names as the server shows it (`Rust` and `#RUST` are
 * `#rust`), or null when it is no room name (the server says why). The
 * longest name is the server's to say (`--max-room-name`).
 */
export function roomKey(written) {
  const m = typeof written === "string" ? ROOM_NAME.exec(written.trim()) : null;
  return m ? `#${m[1].toLowerCase()}` : null;
}

/** A nickname (lib/chat/naming.ts), as opposed to an address (`HOST:PORT`, `HOST:PORT@NODE`): only those can be sent `/msg`. */
const NICKNAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

export function isNickname(name) {
  return typeof name === "string" && NICKNAME.test(name);
}

/** Nicknames are one name in any case (`Bob` and `bob`): a conversation is keyed by the lower case. */
export const conversationKey = (name) => name.toLowerCase();

/**
 * Each person's colour, shared by every room and conversation of the page:
 * a name's own (`colorFor`) until a rename hands a colour on, as in the
 * terminal client. A person in two rooms renames once, and each room tells
 * it: the second telling changes nothing.
 */
export class Colours {
  constructor(colorFor) {
    this.colorFor = colorFor;
    this.given = new Map();
    /** For each name that was given a colour by a rename, the name it came from. */
    this.cameFrom = new Map();
  }

  of(name) {
    return this.given.get(name) ?? this.colorFor(name);
  }

  /** `from` is now `to`: the colour goes with the person. */
  renamed(from, to) {
    // Already done, as another room told it: `to` has `from`'s colour and `from` has none any more.
    if (from !== to && this.cameFrom.get(to) === from && this.given.has(to) && !this.given.has(from)) return;
    this.given.set(to, this.of(from));
    this.cameFrom.set(to, from);
    if (from !== to) this.given.delete(from);
  }
}

/**
 * One room the page is in: what its events do to what the page shows,
 * without the DOM: the entries shown (`Timeline`, the room's own ids), who
 * is here (`Members`), each person's colour (`Colours`, shared by the
 * page's rooms), and for the page around it whether it is joined on this
 * connection, what a resume asked for and the lines not seen yet.
 * `take(event)` updates them and says what to draw again; the page
 * (app.js) draws it. The log and the member list colour a name with the
 * same `colorOf`, so whatever changes a colour redraws the member list too.
 */
export class Room {
  /**
   * @param colorFor a name's colour when first seen (lib/chat/colours.ts, as the gateway serves it)
   * @param options `name` (`#rust`), `colours` (shared with the page's other rooms; a room of its own by default)
   */
  constructor(colorFor, { name = null, colours = new Colours(colorFor) } = {}) {
    this.kind = "room";
    this.name = name;
    this.colours = colours;
    this.timeline = new Timeline();
    this.members = new Members();
    /** Lines that came while the room was not in view (its unread mark). */
    this.unread = 0;
    /** In the room on the current connection: its `presence` came. */
    this.joined = false;
    /** Joined on some connection before: then joining again resumes from what was shown. */
    this.known = false;
    /** The id a resume asked for everything after, until its `history-end`: kept if the connection drops meanwhile. */
    this.resumingFrom = null;
    /** What the page says once the room's history is shown, after the user joined it. */
    this.greeting = null;
  }

  /** The colour `name` is shown in, in the log and in the member list alike. */
  colorOf(name) {
    return this.colours.of(name);
  }

  /**
   * Take one event of this room. Returns what the page shows of it:
   * `show` is "entry" (an entry of the room's log, `text` as it reads),
   * "reply" or "error" (last in the log), or null (nothing);
   * `members`: the member list must be drawn again (who is here, or a colour, changed);
   * `self`: the user's own name changed (the name field).
   */
  take(event) {
    const change = { show: null, text: event.x, members: false, self: false };
    switch (event.k) {
      case "presence":
        this.members.presence(event);
        // The first time only: on a reconnection the resume must start from what this page saw, not from now.
        if (this.timeline.lastId === null && event.last) this.timeline.note(event.last);
        change.members = change.self = true;
        break;
      case "line":
      case "join":
      case "leave":
      case "nick":
      case "notice":
        if (!this.timeline.admit(event.id)) break;
        change.show = "entry";
        if (event.k === "nick") {
          // Live or replayed, the colour goes with the person: both the log and the list show it.
          this.colours.renamed(event.s, event.to);
          change.members = true;
          if (!event.h && (event.s === this.members.self || event.to === this.members.self)) {
            // The user's own rename: the server also replied `You are now NAME`, which is not shown; this says it once.
            change.text = `You are now ${event.to}`;
            change.self = this.members.self !== event.to;
          }
        }
        // Replayed entries are before the presence snapshot or were also received live: only live ones change who is here.
        if (!event.h) {
          this.members.apply(event);
          change.members = true;
        }
        break;
      case "reply": {
        const you = YOU_ARE.exec(event.x);
        if (you) {
          change.self = this.members.self !== you[2];
          this.members.self = you[2];
        }
        // `You are now NAME` is said by the rename's own entry, which follows.
        if (you?.[1] !== "now") change.show = event.x.startsWith("Error: ") ? "error" : "reply";
        break;
      }
      case "error":
        change.show = "error";
        break;
      case "history-end":
        if (event.last) this.timeline.note(event.last);
        break;
    }
    return change;
  }
}

/** A private conversation: the page's view of `/msg` with one person (never stored by the server, so no ids and no resume). */
export class Conversation {
  constructor(peer) {
    this.kind = "private";
    /** The other person's name as the server last showed it. */
    this.peer = peer;
    /** Messages from the peer while the view was not in view. */
    this.unread = 0;
    /** The last message shown: a message to oneself comes twice (delivered, and echoed) and is shown once. */
    this.last = null;
  }

  get key() {
    return conversationKey(this.peer);
  }

  get name() {
    return this.peer;
  }
}

/** How a room came to be asked for on this connection. */
const BY_USER = "user";
const REJOIN = "rejoin";

/** Entries of recent history a room is asked for when the page first joins it, as the terminal client does. */
export const FIRST_HISTORY = 50;

/** What the end of a resume's replay says to the user. */
function resumeNotes(event) {
  const notes = [];
  const entries = (n) => `${n} ${n === 1 ? "entry" : "entries"}`;
  if (event.reset) notes.push("The server's log started over: what was said while you were away is unknown.");
  else if (event.missed > 0) notes.push(`${entries(event.missed)} from while you were away are no longer kept.`);
  if (event.n > 0) notes.push(`Back: ${entries(event.n)} from while you were away are shown above.`);
  else if (!event.reset && !(event.missed > 0)) notes.push("Back: you missed nothing.");
  return notes;
}

/** The room an event is about (a server before rooms named none: the page's first room). */
const roomOf = (event, fallback) => (typeof event.r === "string" ? event.r : fallback);

/**
 * The whole page's state without the DOM: the rooms it is in (each a
 * `Room`, in the order joined), its private conversations, the view in
 * view, unread marks, and what to send on each connection so that every
 * room resumes where the page left it. app.js calls:
 *
 * - `connected(nick)` when a connection opens: the frames to send (the
 *   name again, then `/join` for each room the page was in but the one the
 *   server puts it in);
 * - `take(event)` for each event: what to draw (`Change`), and frames to
 *   send (a room's `/history` request, once its `presence` says it is in);
 * - `input(line)`, `join(name)`, `part(room)` for what the user does: the
 *   frames that say it;
 * - `select(view)`, `openConversation(name)`, `closeConversation(view)`.
 */
export class Chat {
  constructor(colorFor, { firstHistory = FIRST_HISTORY } = {}) {
    this.colours = new Colours(colorFor);
    this.firstHistory = firstHistory;
    /** `#name` -> Room: the rooms the page is in, in the order joined (the room list). */
    this.rooms = new Map();
    /** conversationKey(peer) -> Conversation, in the order opened. */
    this.privates = new Map();
    /** The view in view: a Room or a Conversation (null before the first presence). */
    this.current = null;
    /** The room last in view: where a command typed in a private view goes. */
    this.lastRoom = null;
    /** The user's name as the server shows it. */
    this.self = null;
    /** The room the server puts the page in on connecting (its default room). */
    this.home = null;
    /** Rooms the user left: the home room among them is left again after a reconnection. */
    this.parted = new Set();
    /** The view the user last typed a command in: replies and errors (which name no room) are shown there. */
    this.answers = null;
    /** Conversations to bring into view when the echo of the user's `/msg` comes. */
    this.opening = new Set();
    /** Connections opened so far. */
    this.connections = 0;
    /** This connection's bookkeeping: rooms asked for (`joining`), rooms sent `/history` (`asked`), rooms being left again (`leaving`). */
    this.link = null;
  }

  /** The views in the order the room list shows them: rooms, then conversations. */
  views() {
    return [...this.rooms.values(), ...this.privates.values()];
  }

  /** Lines and messages not seen yet, in all views. */
  get unread() {
    let n = 0;
    for (const view of this.views()) n += view.unread;
    return n;
  }

  /** The colour `name` is shown in, everywhere on the page. */
  colorOf(name) {
    return this.colours.of(name);
  }

  // ---------------------------------------------------------------- the connection

  /**
   * A connection opened: the frames to send first. The server puts the
   * page in its default room; each other room the page was in is joined
   * again. The `/history` requests follow each room's `presence` (see
   * `take`): a room is asked for what it said only once the server has it
   * (in a cluster a room is loaded before its presence is told).
   */
  connected(nick) {
    const frames = [];
    if (nick) frames.push(`/nick ${nick}`);
    this.link = { joining: new Map(), asked: new Set(), leaving: new Set(), homeSeen: false };
    for (const room of this.rooms.values()) {
      room.joined = false;
      if (room.name === this.home) continue;
      this.link.joining.set(room.name, REJOIN);
      frames.push(`/join ${room.name}`);
    }
    this.connections++;
    return frames;
  }

  /** The connection closed: no room is joined until the next one says so. */
  disconnected() {
    this.link = null;
    for (const room of this.rooms.values()) room.joined = false;
  }

  /** Whether the page has been connected before this connection (then joining is rejoining). */
  get reconnected() {
    return this.connections > 1;
  }

  // ---------------------------------------------------------------- events

  /**
   * Take one event. Returns a `Change`:
   * `view` the Room or Conversation it concerns (null: none in particular);
   * `show` what to add to that view's log: "entry" (a room's entry, `text`
   * as it reads), "private" (a private message, drawn from the event),
   * "reply" or "error" (`text`), or null; `notes` what the page itself
   * says ({view, text}); `members` the member list of `view` changed;
   * `self` the user's name changed; `list` the room list changed (a room
   * or conversation came or went, a count or unread mark moved);
   * `select` a view that came into view; `dropped` a room the page left;
   * `send` frames to send now.
   */
  take(event) {
    const change = {
      view: null,
      show: null,
      text: event.x,
      notes: [],
      members: false,
      self: false,
      list: false,
      select: null,
      dropped: null,
      send: [],
    };
    switch (event.k) {
      case "presence":
        this.presence(event, change);
        break;
      case "line":
      case "join":
      case "leave":
      case "nick":
      case "notice":
        this.entry(event, change);
        break;
      case "history-end":
        this.historyEnd(event, change);
        break;
      case "private":
        this.privateMessage(event, change);
        break;
      case "reply":
        this.reply(event, change);
        break;
      case "error":
        change.view = this.answerView();
        change.show = "error";
        break;
    }
    return change;
  }

  presence(event, change) {
    const name = roomOf(event, this.home ?? "#chat");
    if (this.link === null) this.link = { joining: new Map(), asked: new Set(), leaving: new Set(), homeSeen: false };
    const link = this.link;
    const how = link.joining.get(name);
    link.joining.delete(name);
    if (how === undefined && !link.homeSeen) {
      // The room the server put this connection in.
      link.homeSeen = true;
      const before = this.home;
      this.home = name;
      if (before !== null && before !== name && this.rooms.has(before)) {
        // The server came back with another default room: the page's old one is joined like the others.
        link.joining.set(before, REJOIN);
        change.send.push(`/join ${before}`);
      }
    }
    if (how !== BY_USER && !this.rooms.has(name) && this.parted.has(name) && this.rooms.size > 0) {
      // The user had left it (the home room, or one whose rejoining was under way): leave it again, after the joins sent before, without a word.
      link.leaving.add(name);
      change.send.push(`/part ${name}`);
      return;
    }
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(this.colours.colorFor, { name, colours: this.colours });
      this.rooms.set(name, room);
    }
    // Asked for before the presence moves the log's mark: a resume starts from what the page showed.
    const request = link.asked.has(name) ? null : this.historyRequest(room);
    room.known = room.joined = true;
    room.take(event);
    this.self = event.you;
    for (const other of this.rooms.values()) other.members.self = event.you;
    if (request !== null) {
      link.asked.add(name);
      change.send.push(JSON.stringify({ r: name, x: request }));
    }
    Object.assign(change, { view: room, members: true, self: true, list: true });
    if (how === BY_USER) {
      const n = room.members.count - 1;
      const who = n === 0 ? "nobody else yet" : `with ${n} ${n === 1 ? "other" : "others"}`;
      // Said after the room's recent history, which is what was said before the user came.
      room.greeting = `You are now in ${name}, ${who}.`;
      if (request === null) this.greet(room, change);
      this.select(room);
      change.select = room;
    } else if (this.current === null) {
      this.select(room);
      change.select = room;
    }
  }

  /** What to ask `room` for as it is joined: what came after the page's last entry of it, or (the first time) its recent history. */
  historyRequest(room) {
    if (room.known) {
      const from = room.resumingFrom ?? room.timeline.lastId;
      if (from !== null) {
        room.resumingFrom = from;
        return `/history since ${from}`;
      }
    }
    return this.firstHistory > 0 ? `/history ${this.firstHistory}` : null;
  }

  entry(event, change) {
    const room = this.rooms.get(roomOf(event, this.home));
    // A room the page is not in: being left again after a reconnection.
    if (!room) return;
    const shown = room.take(event);
    change.view = room;
    change.show = shown.show;
    change.text = shown.text;
    change.members = change.list = shown.members;
    if (room.members.self !== this.self) {
      this.self = room.members.self;
      change.self = true;
    }
    // A line not seen yet: live, or recovered by a resume (a first history is not news).
    const fresh = !event.h || room.resumingFrom !== null;
    if (shown.show === "entry" && event.k === "line" && event.s !== this.self && room !== this.current && fresh) {
      room.unread++;
      change.list = true;
    }
    if (event.k === "nick" && !event.h && shown.show === "entry") this.renamedPeer(event.s, event.to, change);
  }

  /** Someone the page has a conversation with renamed (told by each room both are in: done once). */
  renamedPeer(from, to, change) {
    const conversation = this.privates.get(conversationKey(from));
    if (!conversation || conversation.peer !== from || from === this.self) return;
    if (conversationKey(to) !== conversation.key && this.privates.has(conversationKey(to))) return;
    // Re-keyed in place, so the list keeps its order.
    this.privates = new Map([...this.privates].map(([key, c]) => (c === conversation ? [conversationKey(to), c] : [key, c])));
    conversation.peer = to;
    change.notes.push({ view: conversation, text: `${from} is now ${to}` });
    change.list = true;
  }

  /** The note that says the user is in the room (once its history is shown). */
  greet(room, change) {
    if (room.greeting === null) return;
    change.notes.push({ view: room, text: room.greeting });
    room.greeting = null;
  }

  historyEnd(event, change) {
    const room = this.rooms.get(roomOf(event, this.home));
    if (!room) return;
    room.take(event);
    this.greet(room, change);
    if (room.resumingFrom === null) return;
    room.resumingFrom = null;
    change.view = room;
    for (const text of resumeNotes(event)) change.notes.push({ view: room, text });
  }

  privateMessage(event, change) {
    const own = event.s === this.self;
    const peer = own ? event.to : event.s;
    if (typeof peer !== "string" || peer === "") return;
    const conversation = this.conversation(peer, change);
    const same = conversation.last;
    if (event.s === event.to && same && same.t === event.t && same.x === event.x && same.me === event.me) {
      // To oneself: delivered, then echoed; shown once.
      conversation.last = null;
      return;
    }
    conversation.last = { t: event.t, x: event.x, me: event.me };
    conversation.peer = peer;
    change.view = conversation;
    change.show = "private";
    if (!own && conversation !== this.current) {
      conversation.unread++;
      change.list = true;
    }
    if (own && this.opening.delete(conversation.key)) {
      this.select(conversation);
      change.select = conversation;
    }
  }

  reply(event, change) {
    const you = YOU_ARE.exec(event.x);
    if (you) {
      change.self = this.self !== you[2];
      this.self = you[2];
      for (const room of this.rooms.values()) room.members.self = you[2];
      change.members = true;
      // Said by the rename's own entry in each room, which follows.
      if (you[1] === "now") return;
    }
    // Said by the room's presence, which follows.
    if (NOW_IN.test(event.x)) return;
    const left = LEFT.exec(event.x);
    if (left) {
      const quiet = this.link?.leaving.delete(left[1]);
      this.dropRoom(left[1], change);
      if (quiet) return;
    }
    change.view = this.answerView();
    change.show = event.x.startsWith("Error: ") ? "error" : "reply";
  }

  /** The page is no longer in room `name`. */
  dropRoom(name, change) {
    this.parted.add(name);
    const room = this.rooms.get(name);
    if (!room) return;
    this.rooms.delete(name);
    change.dropped = room;
    change.list = true;
    if (this.lastRoom === room) this.lastRoom = null;
    if (this.current === room) {
      const next = this.lastRoom ?? [...this.rooms.values()].at(-1) ?? null;
      this.select(next);
      change.select = next;
    }
  }

  /** Where a reply goes: the view the command was typed in, if it is still there. */
  answerView() {
    const a = this.answers;
    if (a && (this.rooms.get(a.name) === a || this.privates.get(a.key) === a)) return a;
    return this.current;
  }

  // ---------------------------------------------------------------- views

  /** Bring `view` into view: its unread mark goes. */
  select(view) {
    this.current = view;
    if (!view) return;
    view.unread = 0;
    if (view.kind === "room") this.lastRoom = view;
  }

  /** The conversation with `peer`, opened if new. */
  conversation(peer, change = null) {
    const key = conversationKey(peer);
    let conversation = this.privates.get(key);
    if (!conversation) {
      conversation = new Conversation(peer);
      this.privates.set(key, conversation);
      if (change) change.list = true;
    }
    return conversation;
  }

  /** A conversation with `peer` (a member's name clicked), brought into view. */
  openConversation(peer) {
    const conversation = this.conversation(peer);
    this.select(conversation);
    return conversation;
  }

  /** Close a conversation's view (the server keeps nothing of it); returns the view in view after. */
  closeConversation(conversation) {
    this.privates.delete(conversation.key);
    if (this.answers === conversation) this.answers = null;
    if (this.current === conversation) this.select(this.lastRoom ?? [...this.rooms.values()].at(-1) ?? null);
    return this.current;
  }

  /** Who the member list shows for `view`: a room's members, or the two people of a conversation. */
  membersOf(view) {
    if (!view) return { names: [], more: 0, count: 0 };
    if (view.kind === "room") return { names: view.members.list(), more: view.members.more, count: view.members.count };
    const names = this.self !== null && conversationKey(this.self) !== view.key ? [this.self, view.peer] : [view.peer];
    return { names, more: 0, count: names.length };
  }

  // ---------------------------------------------------------------- what the user does

  /**
   * A line typed in the view in view: `{frames, leave, select, closed}`,
   * the frames that say it (none when the page does it itself), whether it
   * leaves the chat (`/quit`), a view it brought into view, and a
   * conversation it closed (a bare `/part` in a conversation). In a
   * room a line is `{"r":ROOM,"x":LINE}`, commands too (`/who` and
   * `/history` are that room's; a bare `/part` names the room, since the
   * server takes it for the room joined last); in a conversation a line
   * is `/msg PEER LINE` (`/me ...` an action, `//text` the message
   * `/text`) and a command goes to the room last in view. `/join ROOM`,
   * `/msg` and `/quit` go as typed; joining a room the page is in brings
   * it into view.
   */
  input(text) {
    const view = this.current;
    const out = { frames: [], leave: false, select: null, closed: null };
    const command = text.startsWith("/") && !text.startsWith("//") ? /^\/(\S*)\s*([\s\S]*)$/.exec(text) : null;
    const word = command ? command[1].toLowerCase() : null;
    const arg = command ? command[2].trim() : "";
    if (word === "quit") {
      out.frames.push(text);
      out.leave = true;
      return out;
    }
    if (word === "join") {
      const name = roomKey(arg);
      const room = name === null ? undefined : this.rooms.get(name);
      if (room?.joined) {
        this.select(room);
        out.select = room;
        return out;
      }
      if (name !== null) {
        this.link?.joining.set(name, BY_USER);
        this.parted.delete(name);
      }
      this.answers = view;
      out.frames.push(text);
      return out;
    }
    if (word === "msg") {
      const to = /^(\S+)\s+\S/.exec(arg);
      if (to) this.opening.add(conversationKey(to[1]));
      this.answers = view;
      out.frames.push(text);
      return out;
    }
    this.answers = view;
    if (view?.kind === "private") {
      if (word === "part" && arg === "") {
        out.closed = view;
        out.select = this.closeConversation(view);
        return out;
      }
      if (word === null) out.frames.push(`/msg ${view.peer} ${text.startsWith("//") ? text.slice(1) : text}`);
      else if (word === "me" && arg !== "") out.frames.push(`/msg ${view.peer} /me ${arg}`);
      else out.frames.push(this.lastRoom ? JSON.stringify({ r: this.lastRoom.name, x: text }) : text);
      return out;
    }
    const line = word === "part" && arg === "" && view ? `/part ${view.name}` : text;
    out.frames.push(view ? JSON.stringify({ r: view.name, x: line }) : line);
    return out;
  }

  /** The room field: join `written` (`rust` or `#rust`), as `/join #rust` typed would. */
  join(written) {
    const name = written.trim();
    if (name === "") return { frames: [], leave: false, select: null, closed: null };
    return this.input(`/join ${name.startsWith("#") ? name : `#${name}`}`);
  }

  /**
   * A room's leave button: the frames that leave it. A room not joined on
   * this connection (offline, or joining it again failed) just goes from
   * the list; the last room cannot be left (the server refuses).
   */
  part(room) {
    if (!room.joined) {
      const change = { select: null, dropped: null };
      this.dropRoom(room.name, change);
      return { frames: [], select: change.select };
    }
    if (this.rooms.size <= 1) return { frames: [], select: null };
    this.answers = this.current === room ? null : this.current;
    return { frames: [`/part ${room.name}`], select: null };
  }
}

/** How many sent lines Up/Down can bring back. */
const RECALL_LIMIT = 100;

/**
 * The lines the user sent, for Up/Down in the input, as a shell does:
 * Up goes back, Down forward, and past the newest it restores what was
 * being typed.
 */
export class Recall {
  constructor(limit = RECALL_LIMIT) {
    this.limit = limit;
    this.lines = [];
    /** Which line is in the input: `lines.length` means the draft. */
    this.at = 0;
    this.draft = "";
  }

  /** A line was sent. */
  push(line) {
    if (this.lines[this.lines.length - 1] !== line) this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
    this.at = this.lines.length;
    this.draft = "";
  }

  /** Up: the previous line (`current` is what the input holds, kept as the draft when leaving it). */
  up(current) {
    if (this.at === this.lines.length) this.draft = current;
    if (this.at > 0) this.at--;
    return this.lines[this.at] ?? current;
  }

  /** Down: the next line, or the draft after the newest. */
  down(current) {
    if (this.at >= this.lines.length) return current;
    this.at++;
    return this.at === this.lines.length ? this.draft : this.lines[this.at];
  }
}
