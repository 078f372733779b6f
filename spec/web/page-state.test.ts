// The web page's logic without a browser: ids and dedup, the member list,
// Up/Down recall, the reconnect schedule, and the reconnecting connection
// driven with a fake socket and fake timers. (spec/e2e/browser.test.ts
// runs the page itself in Chromium.)
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import t from "tap";
import { colorFor, cssColor, PALETTE } from "../../lib/chat/names.ts";
import { root } from "../support/bun.ts";

// Plain browser modules, untyped: loaded as the browser loads them.
const page = (file: string) => import(pathToFileURL(path.join(root, "lib/web/page", file)).href);
const { parseId, Timeline, Members, Recall } = await page("room.js");
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
