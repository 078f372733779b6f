// The web page's logic without a browser: ids and dedup, the member list,
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
const { parseId, Timeline, Members, Recall, Room } = await page("room.js");
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
