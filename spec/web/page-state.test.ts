// The web page's logic without a browser: ids and dedup, the member list,
// rooms (each with its own log, ids, members and unread mark), private
// conversations, what a typed line is sent as, the resume of every room
// after a reconnection (requests built per room, nothing shown twice),
// Up/Down recall, the reconnect schedule, and the reconnecting connection
// driven with a fake socket and fake timers. (spec/e2e/browser.test.ts
// runs the page itself in Chromium.)
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import t from "tap";
import { colorFor, cssColor, PALETTE } from "../../lib/chat/colours.ts";
import { root } from "../support/bun.ts";

// Plain browser modules, untyped: loaded as the browser loads them.
const page = (file: string) => import(pathToFileURL(path.join(root, "lib/web/page", file)).href);
const { parseId, Timeline, Members, Recall, Room, Chat, Colours, roomKey, isNickname } = await page("room.js");
const { Connection, reconnectDelay, parseFrame, FIRST_DELAY, MAX_DELAY } = await page("connection.js");

t.test("names: the terminal's 256-colour palette as CSS", async (t) => {
  t.equal(cssColor(27), "#005fff");
  t.equal(cssColor(28), "#008700");
  t.equal(cssColor(198), "#ff0087");
  t.same(
    PALETTE.map(cssColor),
    ["#005fff", "#008700", "#0087d7", "#af5faf", "#af8700", "#d700ff", "#ff0087"],
    "the colours the palette's comment names",
  );
  t.ok(PALETTE.includes(colorFor("bob")), "a name's colour is one of the palette");
});

t.test("parseId: EPOCH:SEQ or nothing", async (t) => {
  t.same(parseId("lq3k9z0a1b:42"), { epoch: "lq3k9z0a1b", seq: 42 });
  for (const bad of [null, undefined, 42, "", "abc", "ABC:1", "a:b", "a:-1", "a:1:2"]) t.equal(parseId(bad), null, String(bad));
});

t.test("Timeline: each id shown once, the newest remembered, a new epoch followed", async (t) => {
  const timeline = new Timeline();
  t.equal(timeline.lastId, null);
  t.ok(timeline.admit("e1:5"));
  t.ok(timeline.admit("e1:7"));
  t.ok(timeline.admit("e1:6"), "an older id not seen yet (a resume filling the gap) is shown");
  t.notOk(timeline.admit("e1:6"), "an id seen before is not shown again");
  t.notOk(timeline.admit("e1:7"));
  t.equal(timeline.lastId, "e1:7", "the newest, not the latest to arrive");
  t.ok(timeline.admit(null), "an unnumbered entry is always shown");
  t.equal(timeline.lastId, "e1:7");
  timeline.note("e1:3");
  t.equal(timeline.lastId, "e1:7", "an older `last` does not move it back");
  t.ok(timeline.admit("e2:1"), "the log started over");
  t.equal(timeline.lastId, "e2:1");
  t.ok(timeline.admit("e1:8"), "shown, but...");
  t.equal(timeline.lastId, "e2:1", "...an id of an epoch left behind never counts as newer");
  timeline.note("e2:4");
  t.equal(timeline.lastId, "e2:4", "presence.last and history-end.last move it on");

  t.ok(Timeline.after("e1:8", "e1:7"));
  t.notOk(Timeline.after("e1:6", "e1:7"), "within an epoch, by SEQ");
  t.ok(Timeline.after("e2:1", "e1:7"), "another epoch never goes before what is shown");
  t.ok(Timeline.after(null, "e1:7"));
});

t.test("Timeline: remembers a bounded number of ids", async (t) => {
  const timeline = new Timeline();
  for (let i = 1; i <= 6000; i++) timeline.admit(`e:${i}`);
  t.ok(timeline.seen.size <= 5000);
  t.notOk(timeline.admit("e:6000"), "recent ones are still known");
  t.equal(timeline.lastId, "e:6000");
});

t.test("Members: presence, then joins, leaves and renames", async (t) => {
  const members = new Members();
  members.presence({ k: "presence", you: "10.0.0.1:5", n: 4, names: ["bob", "alice"], more: 2, last: null });
  t.equal(members.count, 5, "the user, two named, two more");
  t.same(members.list(), ["10.0.0.1:5", "alice", "bob"], "the user first, then by name");
  members.apply({ k: "join", s: "10.0.0.2:6" });
  t.equal(members.count, 6);
  members.apply({ k: "leave", s: "alice" });
  t.same(members.list(), ["10.0.0.1:5", "10.0.0.2:6", "bob"]);
  members.apply({ k: "leave", s: "carol" });
  t.equal(members.more, 1, "a leaver not named by presence was one of the `more`");
  members.apply({ k: "nick", s: "dave", to: "dan" });
  t.equal(members.more, 0, "a renamed one of the `more` is now known by name");
  t.ok(members.list().includes("dan"));
  members.apply({ k: "leave", s: "erin" });
  t.equal(members.more, 0, "never below zero");
  members.apply({ k: "nick", s: "10.0.0.1:5", to: "me2" });
  t.equal(members.self, "me2", "the user's own rename");
  t.same(members.list(), ["me2", "10.0.0.2:6", "bob", "dan"]);
  members.apply({ k: "line", s: "bob", x: "hi" });
  t.equal(members.count, 4, "a line changes nothing");
  members.presence({ k: "presence", you: "10.0.0.1:9", n: 0, names: [], more: 0, last: null });
  t.same(members.list(), ["10.0.0.1:9"], "a new presence (a reconnection) replaces the list");
});

/**
 * The page as app.js draws it from `Room.take`, without the DOM: the log's
 * rows (text, and each line's name with its colour as drawn then) and the
 * member list, redrawn only when `take` says so, as app.js does.
 */
class PageModel {
  readonly room = new Room(colorFor);
  log: Array<{ text: string; name?: string; color?: number }> = [];
  memberList: Array<{ name: string; color: number }> = [];
  self: string | null = null;
  feed(...events: object[]) {
    for (const event of events as Array<Record<string, unknown>>) {
      const change = this.room.take(event);
      if (change.self) this.self = this.room.members.self;
      if (change.members) this.memberList = this.room.members.list().map((name: string) => ({ name, color: this.room.colorOf(name) }));
      if (change.show === "entry" && event.k === "line") {
        const name = event.s as string;
        this.log.push({ text: change.text, name, color: this.room.colorOf(name) });
      } else if (change.show !== null) this.log.push({ text: change.text });
    }
  }
  memberColor(name: string) {
    return this.memberList.find((member) => member.name === name)?.color;
  }
}

/** Two addresses whose own colours differ from `name`'s, so a colour handed on by a rename can be told apart. */
function unlike(name: string): string[] {
  const out: string[] = [];
  for (let port = 1000; out.length < 2; port++) {
    const address = `10.0.0.9:${port}`;
    if (colorFor(address) !== colorFor(name) && !out.some((a) => colorFor(a) === colorFor(address))) out.push(address);
  }
  return out;
}

t.test("Room: a rename in the replay recolours the member list as it does the log, at once", async (t) => {
  const [pias, own] = unlike("pia");
  const page = new PageModel();
  // Joining: who is here (pia, named so since before this page came), then the replay of how she got the name.
  page.feed(
    { k: "presence", you: own, n: 1, names: ["pia"], more: 0, last: "e:3" },
    { k: "join", id: "e:1", t: 1, s: pias, x: `Client (10.0.0.9, ${pias!.split(":")[1]}) connected`, h: 1 },
    { k: "nick", id: "e:2", t: 2, s: pias, to: "pia", x: `Client (10.0.0.9, ${pias!.split(":")[1]}) is now pia`, h: 1 },
    { k: "line", id: "e:3", t: 3, s: "pia", x: "hi", h: 1 },
    { k: "history-end", n: 3, missed: 0, reset: false, last: "e:3" },
  );
  const line = page.log.find((row) => row.text === "hi")!;
  t.equal(line.color, colorFor(pias!), "the log: pia in the colour she came with");
  t.equal(page.memberColor("pia"), line.color, "the member list: the same colour, without waiting for someone to join");
  t.not(colorFor("pia"), line.color, "(the colour of the name itself would differ)");
  page.feed({ k: "line", id: "e:4", t: 4, s: "pia", x: "live now" });
  t.equal(page.log.at(-1)!.color, page.memberColor("pia"), "live lines agree too");
  page.feed({ k: "nick", id: "e:5", t: 5, s: "pia", to: "zoe", x: "pia is now zoe" });
  t.equal(page.memberColor("zoe"), line.color, "a live rename: the list and the log still agree");
  t.equal(page.memberColor("pia"), undefined, "and the old name is gone");
});

t.test("Room: the user's own rename is shown once, by its entry", async (t) => {
  const page = new PageModel();
  page.feed({ k: "presence", you: "10.0.0.1:5", n: 0, names: [], more: 0, last: null });
  t.equal(page.self, "10.0.0.1:5");
  // What the server sends for /nick pia: the reply to the asker, then the entry to the whole room, the asker included.
  page.feed(
    { k: "reply", x: "You are now pia" },
    { k: "nick", id: "e:1", t: 1, s: "10.0.0.1:5", to: "pia", x: "Client (10.0.0.1, 5) is now pia" },
  );
  t.same(
    page.log.map((row) => row.text),
    ["You are now pia"],
    "one line, worded for the user",
  );
  t.equal(page.self, "pia", "the name field follows");
  t.same(page.memberList, [{ name: "pia", color: colorFor("10.0.0.1:5") }], "the member list too, in the colour the user had");
  page.feed({ k: "reply", x: "You are already pia" }, { k: "reply", x: "Error: nickname bob is taken" });
  t.same(
    page.log.map((row) => row.text),
    ["You are now pia", "You are already pia", "Error: nickname bob is taken"],
    "other replies are shown as they come",
  );
  page.feed(
    { k: "nick", id: "e:2", t: 2, s: "10.0.0.7:8", to: "bob", x: "Client (10.0.0.7, 8) is now bob" },
    { k: "nick", id: "e:3", t: 3, s: "10.0.0.1:5", to: "pia", x: "Client (10.0.0.1, 5) is now pia", h: 1 },
  );
  t.same(
    page.log.slice(-2).map((row) => row.text),
    ["Client (10.0.0.7, 8) is now bob", "Client (10.0.0.1, 5) is now pia"],
    "someone else's rename, and a replayed one, read as the room recorded them",
  );
});

// ---------------------------------------------------------------- rooms, conversations, resume (Chat)

let clock = 1_000;
type Ev = Record<string, unknown>;
const presence = (r: string, you: string, names: string[], last: string | null): Ev => ({
  k: "presence",
  r,
  you,
  n: names.length,
  names,
  more: 0,
  last,
});
const said = (r: string, id: string, s: string, x: string, extra: Ev = {}): Ev => ({ k: "line", r, id, t: clock++, s, x, ...extra });
const joined = (r: string, id: string, s: string, extra: Ev = {}): Ev => ({ k: "join", r, id, t: clock++, s, x: `${s} joined`, ...extra });
const left = (r: string, id: string, s: string, extra: Ev = {}): Ev => ({ k: "leave", r, id, t: clock++, s, x: `${s} left`, ...extra });
const renamed = (r: string, id: string, s: string, to: string, extra: Ev = {}): Ev => ({
  k: "nick",
  r,
  id,
  t: clock++,
  s,
  to,
  x: `${s} is now ${to}`,
  ...extra,
});
const historyEnd = (r: string, n: number, last: string, extra: Ev = {}): Ev => ({
  k: "history-end",
  r,
  n,
  missed: 0,
  reset: false,
  last,
  ...extra,
});
const privately = (s: string, to: string, x: string, extra: Ev = {}): Ev => ({ k: "private", t: clock++, s, to, x, ...extra });
const reply = (x: string): Ev => ({ k: "reply", x });
/** A line said in a room, as the page sends it. */
const routed = (r: string, x: string) => JSON.stringify({ r, x });

type Row = { text: string; kind: string; id?: string; name?: string };
/**
 * The page as app.js draws it from `Chat`, without the DOM: one log per
 * view (entries placed by id as app.js places them), and every frame the
 * page would send.
 */
class ChatModel {
  readonly chat = new Chat(colorFor);
  readonly logs = new Map<unknown, Row[]>();
  sent: string[] = [];
  connect(nick: string | null = null) {
    this.sent.push(...this.chat.connected(nick));
  }
  drop() {
    this.chat.disconnected();
  }
  feed(...events: Ev[]) {
    for (const event of events) {
      const change = this.chat.take(event);
      this.sent.push(...change.send);
      if (change.dropped) this.logs.delete(change.dropped);
      const name = event.k === "line" || event.k === "private" ? (event.s as string) : undefined;
      if (change.show === "entry") this.place(change.view, { text: change.text, kind: event.k as string, id: event.id as string, name });
      else if (change.show === "private") this.place(change.view, { text: event.x as string, kind: "private", name });
      else if (change.show !== null) this.place(change.view, { text: change.text, kind: change.show });
      for (const n of change.notes) this.place(n.view, { text: n.text, kind: "note" });
    }
  }
  type(text: string) {
    const out = this.chat.input(text);
    this.sent.push(...out.frames);
    return out;
  }
  /** As app.js places an item: an entry with an id goes before the last entries whose ids are not before it. */
  place(view: unknown, row: Row) {
    const log = this.logs.get(view) ?? [];
    this.logs.set(view, log);
    let at = log.length;
    if (row.id) while (at > 0 && log[at - 1]!.id && !Timeline.after(row.id, log[at - 1]!.id)) at--;
    log.splice(at, 0, row);
  }
  room(name: string) {
    return this.chat.rooms.get(name);
  }
  texts(view: unknown) {
    return (this.logs.get(view) ?? []).map((row) => row.text);
  }
  ids(view: unknown) {
    return (this.logs.get(view) ?? []).filter((row) => row.id).map((row) => row.id);
  }
  /** The frames sent since the last look. */
  frames() {
    const sent = this.sent;
    this.sent = [];
    return sent;
  }
}

/**
 * A page named `nick` in #chat (where the server put it: c:1 to c:3 shown)
 * and #rust (joined from the page: r:5 to r:8 shown), #rust in view.
 */
function twoRooms(nick = "ann") {
  const m = new ChatModel();
  m.connect();
  m.feed(presence("#chat", "10.0.0.1:5", ["bob"], "c:1"), joined("#chat", "c:1", "bob", { h: 1 }), historyEnd("#chat", 1, "c:1"));
  m.feed(reply(`You are now ${nick}`), renamed("#chat", "c:2", "10.0.0.1:5", nick), said("#chat", "c:3", "bob", "hi"));
  m.type("/join #rust");
  m.feed(reply("You are now in #rust"), presence("#rust", nick, ["dan"], "r:6"));
  m.feed(said("#rust", "r:5", "dan", "before you came", { h: 1 }), joined("#rust", "r:6", nick, { h: 1 }), historyEnd("#rust", 2, "r:6"));
  m.feed(said("#rust", "r:7", "dan", "welcome"), said("#rust", "r:8", nick, "thanks"));
  m.frames();
  return { m, chat: m.room("#chat"), rust: m.room("#rust") };
}

t.test("Chat: the room the server puts the page in, then one joined from the page; each with its own log, ids and members", async (t) => {
  const m = new ChatModel();
  m.connect();
  t.same(m.frames(), [], "the first connection: no name to claim, no room to join");
  m.feed(presence("#chat", "10.0.0.1:5", ["bob"], "c:2"));
  const chat = m.room("#chat");
  t.equal(m.chat.home, "#chat", "the first presence is the room the server puts the page in");
  t.equal(m.chat.current, chat, "in view");
  t.same(m.frames(), [routed("#chat", "/history 50")], "its recent history, asked for in that room");
  m.feed(joined("#chat", "c:1", "bob", { h: 1 }), said("#chat", "c:2", "bob", "hi", { h: 1 }), historyEnd("#chat", 2, "c:2"));
  t.same(m.texts(chat), ["bob joined", "hi"]);
  t.equal(chat.unread, 0, "a first history is not news");

  const out = m.chat.join("Rust");
  m.sent.push(...out.frames);
  t.same(m.frames(), ["/join #Rust"], "the room field sends /join #NAME");
  m.feed(reply("You are now in #rust"));
  t.same([...m.logs.keys()], [chat], "the reply is not shown: the room's presence says it");
  m.feed(presence("#rust", "10.0.0.1:5", ["dan", "eve"], "r:7"));
  const rust = m.room("#rust");
  t.same([...m.chat.rooms.keys()], ["#chat", "#rust"], "two rooms, in the order joined");
  t.equal(m.chat.current, rust, "a room the user joined comes into view");
  t.same(m.frames(), [routed("#rust", "/history 50")]);
  m.feed(
    said("#rust", "r:6", "dan", "before you came", { h: 1 }),
    joined("#rust", "r:7", "10.0.0.1:5", { h: 1 }),
    historyEnd("#rust", 2, "r:7"),
  );
  t.same(
    m.texts(rust),
    ["before you came", "10.0.0.1:5 joined", "You are now in #rust, with 2 others."],
    "the room's history, then the page says where the user is",
  );

  m.feed(said("#chat", "c:3", "bob", "in chat"), said("#rust", "r:8", "dan", "in rust"));
  t.equal(m.texts(chat).at(-1), "in chat", "each room's lines in its own view");
  t.equal(m.texts(rust).at(-1), "in rust");
  t.same([chat.timeline.lastId, rust.timeline.lastId], ["c:3", "r:8"], "each room's own ids");
  m.feed(said("#chat", "c:3", "bob", "in chat", { h: 1 }));
  t.equal(m.texts(chat).filter((x) => x === "in chat").length, 1, "an id a room has shown is not shown again");

  t.same([chat.members.count, rust.members.count], [2, 3], "each room's members, from its presence");
  m.feed(joined("#rust", "r:9", "fay"), left("#chat", "c:4", "bob"), renamed("#rust", "r:10", "eve", "eva"));
  t.same([chat.members.count, rust.members.count], [1, 4], "...and its joins and leaves");
  t.same(m.chat.membersOf(rust).names, ["10.0.0.1:5", "dan", "eva", "fay"], "the member list of a room: the user first");
  t.same(m.chat.membersOf(chat).names, ["10.0.0.1:5"]);

  m.feed(said("#elsewhere", "x:1", "zed", "not for this page"));
  t.notOk(
    [...m.logs.values()].flat().some((row) => row.text === "not for this page"),
    "an event of a room the page is not in is shown nowhere",
  );
});

t.test("Chat: unread marks count the lines of the rooms not in view", async (t) => {
  const { m, chat, rust } = twoRooms();
  t.equal(m.chat.current, rust);
  m.feed(
    said("#chat", "c:4", "bob", "one"),
    said("#chat", "c:5", "bob", "two"),
    joined("#chat", "c:6", "gus"),
    said("#chat", "c:7", "ann", "mine"),
  );
  t.equal(chat.unread, 2, "two lines: a join is no line, the user's own line is no news");
  m.feed(said("#rust", "r:9", "dan", "in view"));
  t.equal(rust.unread, 0, "the room in view has no mark");
  t.equal(m.chat.unread, 2, "the page's total (the tab's title)");
  m.feed(said("#chat", "c:5", "bob", "two", { h: 1 }));
  t.equal(chat.unread, 2, "a line shown before, replayed, is not counted again");
  m.chat.select(chat);
  t.equal(chat.unread, 0, "seen once in view");
  m.feed(said("#rust", "r:10", "dan", "meanwhile"));
  t.same([chat.unread, rust.unread], [0, 1]);
});

t.test("Chat: what a line typed in a room is sent as; replies shown where their command was typed; leaving a room", async (t) => {
  const { m, chat, rust } = twoRooms();
  m.type("hi");
  m.type("/who");
  m.type("/part");
  t.same(
    m.frames(),
    [routed("#rust", "hi"), routed("#rust", "/who"), routed("#rust", "/part #rust")],
    "to the room in view, commands too; a bare /part names it (the server would take the room joined last)",
  );
  const back = m.type("/join #CHAT");
  t.same([m.frames(), back.select, m.chat.current], [[], chat, chat], "joining a room the page is in brings it into view");
  m.type("/join go");
  t.same(m.frames(), ["/join go"], "/join goes as typed");
  t.same(m.type("/quit bye"), { frames: ["/quit bye"], leave: true, select: null, closed: null }, "/quit leaves");
  t.same(m.type("q").frames, [routed("#chat", "q")], "q is a message to a page (only line clients quit with it)");
  m.frames();

  m.chat.select(rust);
  m.type("/rooms");
  m.chat.select(chat);
  m.feed(reply("Rooms (2): #chat (5), #rust (2)"), { k: "error", x: "Error: unknown command /x (try /help)" });
  t.same(
    m.texts(rust).slice(-2),
    ["Rooms (2): #chat (5), #rust (2)", "Error: unknown command /x (try /help)"],
    "a reply names no room: it is shown in the view its command was typed in",
  );

  const part = m.chat.part(rust);
  t.same(part.frames, ["/part #rust"], "the leave button");
  m.feed(reply("You left #rust"));
  t.same([...m.chat.rooms.keys()], ["#chat"], "the room is gone from the list");
  t.notOk(m.logs.has(rust), "and its log");
  t.equal(m.texts(chat).at(-1), "You left #rust", "said in the view in view");
  t.same(m.chat.part(chat).frames, [], "the last room cannot be left (the server refuses)");

  t.same(
    ["Rust", "#a.b-c_d", "a b", "#", "-x", "#x,y"].map(roomKey),
    ["#rust", "#a.b-c_d", null, null, null, null],
    "room names as the server keys them",
  );
});

t.test("Chat: private conversations, one view each", async (t) => {
  const { m, chat, rust } = twoRooms("ann");
  m.feed(privately("bob", "ann", "psst"));
  const bob = m.chat.privates.get("bob");
  t.ok(bob, "a message that comes opens a conversation");
  t.equal(m.chat.current, rust, "without taking the view");
  t.equal(bob.unread, 1, "with an unread mark");
  t.same(m.texts(bob), ["psst"]);
  t.same(m.texts(rust).includes("psst"), false, "not in any room");
  m.chat.select(bob);
  t.equal(bob.unread, 0);
  t.same(m.chat.membersOf(bob).names, ["ann", "bob"], "the member list of a conversation: its two people");

  m.type("hello");
  m.type("/me waves");
  m.type("//etc is a directory");
  m.type("/who");
  t.same(
    m.frames(),
    ["/msg bob hello", "/msg bob /me waves", "/msg bob /etc is a directory", routed("#rust", "/who")],
    "a line is /msg PEER LINE (an action too); a command goes to the room last in view",
  );
  m.feed(privately("ann", "bob", "hello"), privately("ann", "bob", "waves", { me: 1 }));
  t.same(m.texts(bob), ["psst", "hello", "waves"], "the server's echo of what the user sent");
  t.equal(bob.unread, 0, "the user's own messages are no news");

  m.chat.select(chat);
  m.type("/msg Cat hi there");
  t.same(m.frames(), ["/msg Cat hi there"], "/msg typed in a room goes as typed");
  m.feed(privately("ann", "cat", "hi there"));
  const cat = m.chat.privates.get("cat");
  t.equal(m.chat.current, cat, "its echo brings the conversation into view");
  m.feed(privately("cat", "ann", "hi ann"));
  t.equal(cat.unread, 0, "the conversation in view has no mark");

  t.equal(m.chat.openConversation("dan"), m.chat.current, "a member's name clicked: a conversation in view");
  t.same(m.texts(m.chat.current), [], "empty until something is said");
  t.same(
    [isNickname("dan"), isNickname("10.0.0.1:5"), isNickname("10.0.0.1:5@n1"), isNickname("[::1]:5")],
    [true, false, false, false],
    "only a nickname can be sent /msg",
  );

  const t0 = clock++;
  m.feed({ k: "private", t: t0, s: "ann", to: "ann", x: "note to self" }, { k: "private", t: t0, s: "ann", to: "ann", x: "note to self" });
  t.same(m.texts(m.chat.privates.get("ann")), ["note to self"], "a message to oneself (delivered, then echoed) is shown once");

  m.feed(renamed("#chat", "c:4", "bob", "rob"), renamed("#rust", "r:9", "bob", "rob"));
  t.notOk(m.chat.privates.has("bob"), "a peer's rename, told by both rooms...");
  t.equal(m.chat.privates.get("rob"), bob, "...carries the conversation on");
  t.equal(bob.peer, "rob");
  t.same([...m.chat.privates.keys()][0], "rob", "in its place in the list");
  t.same(
    m.texts(bob).filter((x) => x.includes("is now")),
    ["bob is now rob"],
    "said once in the conversation",
  );
  m.chat.select(bob);
  m.type("again");
  t.same(m.frames(), ["/msg rob again"], "and the next message goes to the new name");

  const out = m.type("/part");
  t.same([out.frames, out.closed, m.chat.privates.has("rob")], [[], bob, false], "a bare /part in a conversation closes it");
  t.equal(m.chat.current, chat, "the room last in view comes back");
});

t.test("Chat: after a reconnection every room resumes from its own last id, nothing shown twice", async (t) => {
  const { m, chat, rust } = twoRooms("ann");
  m.drop();
  t.same([chat.joined, rust.joined], [false, false], "offline: no room is joined");
  m.connect("ann");
  t.same(m.frames(), ["/nick ann", "/join #rust"], "the name again, and each room but the one the server puts the page in");
  // The server: the default room's presence at once (the /nick is read after it).
  m.feed(presence("#chat", "10.0.0.1:9", ["bob"], "c:9"));
  t.same(m.frames(), [routed("#chat", "/history since c:3")], "#chat: what came after the last entry the page showed of it");
  m.feed(reply("You are now ann"), renamed("#chat", "c:10", "10.0.0.1:9", "ann"));
  m.feed(reply("You are now in #rust"), presence("#rust", "ann", ["dan"], "r:12"));
  t.same(m.frames(), [routed("#rust", "/history since r:8")], "#rust: likewise, from its own last id");
  t.equal(m.chat.current, rust, "the view stays where it was");
  m.feed(said("#rust", "r:13", "dan", "live, before the replay"));
  m.feed(presence("#rust", "ann", ["dan"], "r:13"));
  t.same(m.frames(), [], "one request per room per connection");

  m.feed(
    said("#chat", "c:4", "bob", "one", { h: 1 }),
    left("#chat", "c:5", "ann", { h: 1 }),
    { k: "notice", r: "#chat", id: "c:6", t: clock++, s: "", x: "Server is shutting down", h: 1 },
    said("#chat", "c:7", "bob", "two", { h: 1 }),
    said("#chat", "c:8", "bob", "three", { h: 1 }),
    joined("#chat", "c:9", "10.0.0.1:9", { h: 1 }),
    renamed("#chat", "c:10", "10.0.0.1:9", "ann", { h: 1 }),
    historyEnd("#chat", 7, "c:10"),
  );
  m.feed(
    said("#rust", "r:9", "dan", "a", { h: 1 }),
    said("#rust", "r:10", "dan", "b", { h: 1 }),
    said("#rust", "r:11", "dan", "c", { h: 1 }),
    joined("#rust", "r:12", "ann", { h: 1 }),
    said("#rust", "r:13", "dan", "live, before the replay", { h: 1 }),
    historyEnd("#rust", 5, "r:13"),
  );
  const seq = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}:${from + i}`);
  t.same(m.ids(chat), seq("c", 1, 10), "#chat: every id once, in order, no gap");
  t.same(m.ids(rust), seq("r", 5, 13), "#rust: likewise, the line that came live before the replay in its place");
  t.equal(
    m.texts(chat).filter((x) => x === "You are now ann").length,
    2,
    "the own rename: once before, once for the rename after reconnecting, not from the replay",
  );
  t.equal(m.texts(chat).at(-1), "Back: 7 entries from while you were away are shown above.", "each room says what its resume recovered");
  t.equal(m.texts(rust).at(-1), "Back: 5 entries from while you were away are shown above.");
  t.equal(chat.unread, 3, "the lines recovered in the room not in view are unread");
  t.same([chat.resumingFrom, rust.resumingFrom], [null, null]);

  m.drop();
  m.connect("ann");
  m.feed(presence("#chat", "ann", [], "c:12"));
  t.same(m.frames(), ["/nick ann", "/join #rust", routed("#chat", "/history since c:10")], "the next time, from the new last ids");
  m.drop();
  m.connect("ann");
  m.feed(presence("#chat", "ann", [], "c:14"));
  t.same(
    m.frames(),
    ["/nick ann", "/join #rust", routed("#chat", "/history since c:10")],
    "a resume cut off is asked for again from the same id",
  );
});

t.test("Chat: the room the server puts the page in, left by the user, stays left after a reconnection", async (t) => {
  const { m, chat, rust } = twoRooms("ann");
  t.same(m.chat.part(chat).frames, ["/part #chat"]);
  m.feed(reply("You left #chat"));
  t.same([...m.chat.rooms.keys()], ["#rust"]);
  t.same(m.texts(rust).at(-1), "You left #chat", "said once, when the user left");
  m.drop();
  m.connect("ann");
  t.same(m.frames(), ["/nick ann", "/join #rust"]);
  m.feed(presence("#chat", "10.0.0.1:9", ["bob"], "c:9"));
  t.same(m.frames(), ["/part #chat"], "left again, after the joins");
  m.feed(said("#chat", "c:10", "bob", "not for this page"), reply("You left #chat"));
  t.same([...m.chat.rooms.keys()], ["#rust"], "not back in the list");
  t.notOk(
    [...m.logs.values()].flat().some((row) => row.text === "not for this page"),
    "nothing of it shown",
  );
  t.equal(m.texts(rust).filter((x) => x === "You left #chat").length, 1, "and no second 'You left'");
  m.feed(reply("You are now in #rust"), presence("#rust", "ann", ["dan"], "r:9"));
  t.same(m.frames(), [routed("#rust", "/history since r:8")]);
});

t.test("Chat: a server back with another default room: the page's old one is joined again too", async (t) => {
  const { m } = twoRooms("ann");
  m.drop();
  m.connect("ann");
  m.frames();
  m.feed(presence("#lobby", "ann", [], "l:1"));
  t.same(m.frames(), ["/join #chat", routed("#lobby", "/history 50")], "#chat joined like the others; the new room is new to the page");
  t.equal(m.chat.home, "#lobby");
  m.feed(reply("You are now in #chat"), presence("#chat", "ann", ["bob"], "c:9"));
  t.same(m.frames(), [routed("#chat", "/history since c:3")]);
  t.same([...m.chat.rooms.keys()], ["#chat", "#rust", "#lobby"]);
});

t.test("Colours: a rename told by two rooms hands the colour on once", async (t) => {
  const [address] = unlike("bob");
  t.not(colorFor("bob"), colorFor(address!), "(bob's own colour differs from the address's)");
  const colours = new Colours(colorFor);
  colours.renamed(address, "bob");
  colours.renamed(address, "bob");
  t.equal(colours.of("bob"), colorFor(address!));
  colours.renamed("bob", "rob");
  colours.renamed("bob", "rob");
  t.equal(colours.of("rob"), colorFor(address!), "the second room's telling changes nothing (it would give rob bob's own colour)");
  colours.renamed("rob", "bob");
  colours.renamed("rob", "bob");
  t.equal(colours.of("bob"), colorFor(address!), "back and forth");

  const { m, chat, rust } = twoRooms("ann");
  m.feed(joined("#chat", "c:4", address!), joined("#rust", "r:9", address!));
  m.feed(renamed("#chat", "c:5", address!, "pia"), renamed("#rust", "r:10", address!, "pia"));
  m.feed(renamed("#chat", "c:6", "pia", "zoe"), renamed("#rust", "r:11", "pia", "zoe"));
  t.equal(chat.colorOf("zoe"), colorFor(address!), "in the one room...");
  t.equal(rust.colorOf("zoe"), colorFor(address!), "...and the other");
  t.equal(m.chat.colorOf("zoe"), colorFor(address!), "and in a conversation");
});

t.test("Recall: Up and Down through sent lines, the draft kept", async (t) => {
  const recall = new Recall(3);
  t.equal(recall.up("typing"), "typing", "nothing sent yet");
  for (const line of ["one", "two", "two", "three"]) recall.push(line);
  t.equal(recall.up("draft"), "three");
  t.equal(recall.up("three"), "two", "a line sent twice in a row is kept once");
  t.equal(recall.up("two"), "one");
  t.equal(recall.up("one"), "one", "stays at the oldest");
  t.equal(recall.down("one"), "two");
  t.equal(recall.down("two"), "three");
  t.equal(recall.down("three"), "draft", "past the newest: what was being typed");
  t.equal(recall.down("draft"), "draft");
  recall.push("four");
  t.equal(recall.up(""), "four");
  t.equal(recall.up("four"), "three");
  t.equal(recall.up("three"), "two", "only the newest `limit` are kept");
  t.equal(recall.up("two"), "two");
});

t.test("reconnectDelay: 0.5 s doubling to 10 s, each between half and all of it", async (t) => {
  t.equal(FIRST_DELAY, 500);
  t.equal(MAX_DELAY, 10_000);
  const low = () => 0;
  const high = () => 1;
  t.same(
    [0, 1, 2, 3, 4, 5, 6, 50].map((n) => [reconnectDelay(n, low), reconnectDelay(n, high)]),
    [
      [250, 500],
      [500, 1000],
      [1000, 2000],
      [2000, 4000],
      [4000, 8000],
      [5000, 10000],
      [5000, 10000],
      [5000, 10000],
    ],
  );
});

t.test("parseFrame: one event per line; anything else skipped", async (t) => {
  t.same(parseFrame('{"k":"line","x":"a"}\n{"k":"join","x":"b"}\n'), [
    { k: "line", x: "a" },
    { k: "join", x: "b" },
  ]);
  t.same(parseFrame('{"k":"reply","x":"c"}'), [{ k: "reply", x: "c" }], "the last newline is optional");
  t.same(parseFrame('not json\n[1]\n{"x":1}\nnull\n{"k":"error","x":"d"}\n'), [{ k: "error", x: "d" }]);
});

/** A socket as the page sees it, opened and closed by the test. */
class FakeSocket {
  readyState = 0;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: unknown }) => void) | null = null;
  onerror: (() => void) | null = null;
  onclose: ((c: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) {}
  send(text: string) {
    this.sent.push(text);
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  close(code = 1006, reason = "") {
    this.readyState = 3;
    this.onerror?.();
    this.onclose?.({ code, reason });
  }
}

t.test("Connection: reconnects after each close, waits longer each failed try, and stops when the user leaves", async (t) => {
  const sockets: FakeSocket[] = [];
  const timers: Array<{ f: () => void; ms: number; cancelled?: boolean }> = [];
  const env = {
    open: (url: string) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    setTimeout: (f: () => void, ms: number) => timers.push({ f, ms }) - 1,
    clearTimeout: (i: number) => (timers[i]!.cancelled = true),
    random: () => 1,
  };
  const states: string[] = [];
  const events: unknown[] = [];
  const closes: unknown[] = [];
  let opens = 0;
  const connection = new Connection(
    "ws://h/ws",
    {
      state: (name: string, delay?: number) => states.push(delay === undefined ? name : `${name} ${delay}`),
      open: () => opens++,
      event: (e: unknown) => events.push(e),
      closed: (c: unknown) => closes.push(c),
    },
    env,
  );
  t.notOk(connection.send("early"), "nothing is sent before the socket opens");
  connection.start();
  t.equal(sockets.length, 1);
  t.equal(sockets[0]!.url, "ws://h/ws");
  sockets[0]!.open();
  t.equal(opens, 1);
  t.ok(connection.send("hi"));
  t.same(sockets[0]!.sent, ["hi"], "one line, one frame");
  sockets[0]!.onmessage!({ data: '{"k":"line","x":"a"}\n{"k":"reply","x":"b"}\n' });
  sockets[0]!.onmessage!({ data: new ArrayBuffer(2) });
  t.same(
    events,
    [
      { k: "line", x: "a" },
      { k: "reply", x: "b" },
    ],
    "text frames split into events; binary ignored",
  );
  connection.settled();

  sockets[0]!.close(1001, "Server is shutting down");
  t.same(closes, [{ code: 1001, reason: "Server is shutting down", wasOpen: true }]);
  t.same(states, ["connecting", "connected", "waiting 500"], "a retry after the first wait");
  t.notOk(connection.send("while away"), "not sent while away");
  timers[0]!.f();
  t.equal(sockets.length, 2);
  sockets[1]!.close();
  t.same(closes[1], { code: 1006, reason: "", wasOpen: false }, "a refused try");
  t.equal(timers[1]!.ms, 1000, "the next wait is twice as long");
  connection.retryNow();
  t.ok(timers[1]!.cancelled, "back online: the timer is dropped...");
  t.equal(sockets.length, 3, "...and it tries at once");
  sockets[2]!.close();
  t.equal(timers[2]!.ms, 2000, "tries keep counting until one gets into the room");
  timers[2]!.f();
  sockets[3]!.open();
  t.equal(opens, 2);
  connection.settled();
  connection.leave();
  sockets[3]!.close(1000);
  t.equal(states.at(-1), "left", "after /quit it stays closed");
  t.equal(timers.length, 3, "no retry scheduled");
  connection.start();
  t.equal(sockets.length, 5, "start() rejoins");
  sockets[4]!.close();
  t.equal(timers[3]!.ms, 500, "settled: the waits start from the shortest again");
});
