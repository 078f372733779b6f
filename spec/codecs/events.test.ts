// The web page's wire format (lib/codecs/events.ts, EventsCodec): one JSON
// object per line, with the entry's id, time, sender and text; replies,
// errors, presence and the end of a replay.
import t from "tap";
import { ByteBuilder } from "../../lib/bytes.ts";
import { EntryKind, type EntryContent, type LogEntry } from "../../lib/chat/entry.ts";
import { LineFramer } from "../../lib/chat/framing.ts";
import { MemberName } from "../../lib/chat/naming.ts";
import { EventsCodec } from "../../lib/codecs/events.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
/** Events in `bytes`: each on its own line, newline-terminated. */
const parseAll = (b: Uint8Array) => {
  const text = dec(b);
  t.ok(text.endsWith("\n"), "newline-terminated");
  return text
    .slice(0, -1)
    .split("\n")
    .map((line) => JSON.parse(line));
};
/** The one event in `bytes`. */
const parse = (b: Uint8Array) => {
  const events = parseAll(b);
  t.equal(events.length, 1, "one line");
  return events[0];
};

const lone = new EventsCodec("");
const bob = new MemberName("bob", "127.0.0.1", 5555, "");
const address = new MemberName(null, "127.0.0.1", 5555, "");
const entry = (over: Partial<LogEntry>): LogEntry => ({
  seq: 7,
  time: 1_764_072_000_000,
  kind: EntryKind.LINE,
  sender: bob,
  text: enc("<img src=x onerror=alert(1)>\nno"),
  newName: "",
  ...over,
});
/** The event `codec` words for `e`. */
const event = (e: EntryContent, id: string | null = "ep:7", replayed = false, codec = lone, room = "chat") => {
  const out = new ByteBuilder();
  codec.entry(out, room, e, id, replayed);
  return parse(out.take());
};

t.test("what the codec is: the page's, numbered, echoing, no bare quit", async (t) => {
  t.same([lone.name, lone.echo, lone.numbered, lone.rawStream, lone.bareQuit], ["events", true, true, false, false]);
  const framer = lone.newFramer(100);
  t.ok(framer instanceof LineFramer, "input is lines");
  t.equal(framer.maxLine, 100);
});

t.test("an entry: kind, id, time, sender, text (markup and newlines stay text inside the JSON)", async (t) => {
  t.same(event(entry({})), {
    k: "line",
    r: "#chat",
    id: "ep:7",
    t: 1_764_072_000_000,
    s: "bob",
    x: "<img src=x onerror=alert(1)>\nno",
  });
  const nick = event(
    entry({ kind: EntryKind.NICK, sender: new MemberName(null, "1.2.3.4", 5, ""), newName: "rob", text: new Uint8Array(0) }),
    "ep:7",
    true,
  );
  t.same(
    nick,
    { k: "nick", r: "#chat", id: "ep:7", t: 1_764_072_000_000, s: "1.2.3.4:5", x: "Client (1.2.3.4, 5) is now rob", to: "rob", h: 1 },
    "a rename carries the new name (s: the old one, x: the notice); a replayed entry is marked",
  );
  t.equal(event(entry({ sender: new MemberName("bob", "127.0.0.1", 5555, "n1") })).o, "n1", "the origin in a cluster");
  t.equal(event(entry({})).o, undefined, "no origin on a lone server");
  t.equal(event(entry({}), null).id, null, "not numbered yet: id null");
  t.equal(event(entry({})).h, undefined, "a live entry is not marked replayed");
  const action = event(entry({ kind: EntryKind.ACTION, text: enc("waves") }));
  t.same([action.k, action.s, action.x, action.me], ["line", "bob", "waves", 1], "a /me is a line, marked, its text the action");
  t.equal(event(entry({})).me, undefined, "a message is not");
  t.equal(
    event(entry({ text: Uint8Array.of(0x62, 0xff, 0x0d, 0x00) })).x,
    "b\ufffd\r\0",
    "bytes that are not UTF-8 become U+FFFD; CR and NUL stay",
  );
});

t.test("notices: x worded as the line codec words them, a quit a leave", async (t) => {
  const none = new Uint8Array(0);
  const words = (e: Partial<LogEntry>) => {
    const ev = event(entry(e));
    return [ev.k, ev.s, ev.x];
  };
  t.same(words({ kind: EntryKind.JOIN, sender: address, text: none }), ["join", "127.0.0.1:5555", "Client (127.0.0.1, 5555) connected"]);
  t.same(words({ kind: EntryKind.QUIT, text: none }), ["leave", "bob", "bob quits"]);
  t.same(words({ kind: EntryKind.QUIT, sender: address, text: none }), ["leave", "127.0.0.1:5555", "Client (127.0.0.1, 5555) quits"]);
  t.same(words({ kind: EntryKind.LEAVE, text: enc("too slow") }), ["leave", "bob", "bob is offline (too slow)"]);
  t.same(words({ kind: EntryKind.LEAVE, text: none }), ["leave", "bob", "bob is offline"], "no reason said");
  const shutdown = event(entry({ kind: EntryKind.NOTICE, sender: null, text: enc("Server is shutting down") }));
  t.same(
    shutdown,
    { k: "notice", r: "#chat", id: "ep:7", t: 1_764_072_000_000, s: "", x: "Server is shutting down" },
    "the server's: no sender, no origin",
  );
});

t.test("a member coming from another room is a join, one going to another a leave; r names the entry's room", async (t) => {
  const none = new Uint8Array(0);
  const words = (e: Partial<LogEntry>, room = "chat") => {
    const ev = event(entry(e), "ep:7", false, lone, room);
    return [ev.k, ev.r, ev.s, ev.x];
  };
  t.same(words({ kind: EntryKind.ENTER, text: none }, "rust"), ["join", "#rust", "bob", "bob joined"]);
  t.same(words({ kind: EntryKind.ENTER, sender: address, text: none }), [
    "join",
    "#chat",
    "127.0.0.1:5555",
    "Client (127.0.0.1, 5555) joined",
  ]);
  t.same(words({ kind: EntryKind.PART, text: enc("rust") }), ["leave", "#chat", "bob", "bob left for #rust"], "the room it went to");
  t.same(words({ kind: EntryKind.PART, text: none }, "rust"), ["leave", "#rust", "bob", "bob left"], "/part: for no room");
  const there = new MemberName(null, "127.0.0.1", 5555, "n2");
  t.same(
    [event(entry({ kind: EntryKind.PART, sender: there, text: enc("go") }), "ep:7", false, new EventsCodec("n1"), "c.d-e_f")].map((ev) => [
      ev.k,
      ev.r,
      ev.s,
      ev.x,
      ev.o,
    ])[0],
    ["leave", "#c.d-e_f", "127.0.0.1:5555@n2", "Client (127.0.0.1, 5555)@n2 left for #go", "n2"],
  );
  t.equal(event(entry({}), "ep:7", true, lone, "rust").r, "#rust", "a replayed entry too");
  t.equal(event(entry({ kind: EntryKind.ACTION, text: enc("waves") }), null, false, lone, "rust").r, "#rust", "an unnumbered /me too");
});

t.test("input: {r, x} says x in room r; any other line is for the member's current room", async (t) => {
  const route = (line: string | Uint8Array) => {
    const r = lone.route(typeof line === "string" ? enc(line) : line);
    return r && { room: r.room, line: dec(r.line) };
  };
  t.same(route('{"r":"#rust","x":"hi"}'), { room: "#rust", line: "hi" });
  t.same(route('{"r":"rust","x":"/history 5"}'), { room: "rust", line: "/history 5" }, "a command, and the room as written");
  t.same(route('{"x":"hi","r":"#Go"}'), { room: "#Go", line: "hi" }, "in any order; the room as written (the server canonicalises)");
  t.same(route('{"r":"#a","x":"","more":1}'), { room: "#a", line: "" }, "other fields ignored; an empty line is a line");
  t.same(
    route('{"r":"#a","x":"caf\\u00e9 \\ud83d\\ude00 \\"<b>\\""}'),
    { room: "#a", line: 'café 😀 "<b>"' },
    "JSON escapes: the text as UTF-8",
  );
  t.same(route('  {"r":"#a","x":"hi"}'.trim()), { room: "#a", line: "hi" });
  for (const other of [
    "hi",
    "/join #rust",
    "{",
    "{hello} there",
    "{} is empty",
    "{}",
    '{"r":"#a"}',
    '{"x":"hi"}',
    '{"r":1,"x":"hi"}',
    '{"r":"#a","x":5}',
    '{"r":"#a","x":null}',
    '{"r":null,"x":"hi"}',
    '{"r":"#a","x":"hi"} and more',
    ' {"r":"#a","x":"hi"}',
    '["#a","hi"]',
    "null",
    JSON.stringify(JSON.stringify({ r: "#a", x: "hi" })),
  ]) {
    t.equal(route(other), null, `not routed: ${other}`);
  }
  t.equal(route(Uint8Array.of(0x7b, 0xff, 0x7d)), null, "not UTF-8 after the brace");
  const spoof = JSON.stringify({ r: "#a", x: "hi\n<alice> I owe bob 100" });
  t.ok(!spoof.includes("\n"), "one line of input");
  t.equal(route(spoof), null, "a newline in x: not one line (a line client would read a second, spoofed line)");
  t.equal(route(JSON.stringify({ r: "#a", x: "a\rb\u0000c" }))?.line, "a\rb\u0000c", "CR and NUL stay, as in a line over TCP");
});

t.test("a private message: the same event for its receiver and (echo) its sender, never numbered", async (t) => {
  const ann = new MemberName("ann", "127.0.0.1", 6000, "");
  const m = { time: 1_764_072_000_000, from: bob, to: ann, action: false, text: enc("<b>hi</b>") };
  const expected = { k: "private", t: 1_764_072_000_000, s: "bob", to: "ann", x: "<b>hi</b>" };
  t.same(parse(lone.privateMessage(m, false)), expected, "as the receiver gets it");
  t.same(parse(lone.privateMessage(m, true)), expected, "as the sender gets it back: the page shows the conversation");
  t.same(parse(lone.privateMessage({ ...m, action: true, text: enc("waves") }, false)), { ...expected, x: "waves", me: 1 }, "a /me");
  const n1 = new EventsCodec("n1");
  const fromThere = { ...m, from: new MemberName(null, "::1", 5, "n2"), to: new MemberName(null, "127.0.0.1", 4, "n1") };
  t.same(
    parse(n1.privateMessage(fromThere, false)),
    { ...expected, s: "[::1]:5@n2", to: "127.0.0.1:4@n1" },
    "addresses with @NODE, this server's too",
  );
  t.equal(parse(lone.privateMessage({ ...m, text: Uint8Array.of(0x62, 0xff) }, false)).x, "b\ufffd", "not UTF-8: U+FFFD");
});

t.test("in a cluster every address gets @NODE, this server's too; nicknames stay as they are", async (t) => {
  const n1 = new EventsCodec("n1");
  const here = new MemberName(null, "127.0.0.1", 5555, "n1");
  const there = new MemberName(null, "127.0.0.1", 5555, "n2");
  const line = (sender: MemberName) => event(entry({ sender, text: enc("hi") }), "ep:7", false, n1);
  t.same([line(here).s, line(here).o], ["127.0.0.1:5555@n1", "n1"], "this server's own: the page gets it back from the shared log");
  t.same([line(there).s, line(there).o], ["127.0.0.1:5555@n2", "n2"]);
  t.equal(line(new MemberName("bob", "127.0.0.1", 5555, "n2")).s, "bob", "a nickname is unique as it is");
  const join = event(entry({ kind: EntryKind.JOIN, sender: there, text: new Uint8Array(0) }), "ep:7", false, n1);
  t.equal(join.x, "Client (127.0.0.1, 5555)@n2 connected");
  const v6 = event(
    entry({ kind: EntryKind.NICK, sender: new MemberName(null, "::1", 7, "n2"), newName: "bob", text: new Uint8Array(0) }),
    "ep:7",
    false,
    n1,
  );
  t.same(
    [v6.s, v6.x, v6.to],
    ["[::1]:7@n2", "Client (::1, 7)@n2 is now bob", "bob"],
    "IPv6: bracketed address, the notice's tuple without brackets",
  );
});

t.test("replies, errors, presence and the end of a replay", async (t) => {
  t.same(parse(lone.reply("Online (1): a (you)")), { k: "reply", x: "Online (1): a (you)" });
  t.same(
    parse(lone.reply("Error: no such command")),
    { k: "error", x: "Error: no such command" },
    "a reply that reports a refusal is an error",
  );
  t.same(parse(lone.error("Line too long")), { k: "error", x: "Line too long" });
  const parts = lone.replyParts([enc("Online (2): a (you), "), enc("b\n")]);
  t.equal(parts.length, 1, "parts reworded as one reply");
  t.same(parse(parts[0]!), { k: "reply", x: "Online (2): a (you), b" }, "the parts' last newline is the line's end");
  const n = (nick: string) => new MemberName(nick, "127.0.0.1", 1, "");
  t.same(parse(lone.presence({ room: "chat", isDefault: true, you: n("me"), names: [n("a"), n("b")], others: 5, last: "ep:9" })), {
    k: "presence",
    r: "#chat",
    you: "me",
    n: 5,
    names: ["a", "b"],
    more: 3,
    last: "ep:9",
  });
  const n1 = new EventsCodec("n1");
  t.same(
    parse(
      n1.presence({
        room: "rust",
        isDefault: false,
        you: new MemberName(null, "127.0.0.1", 4, "n1"),
        names: [new MemberName(null, "::1", 5, "n2")],
        others: 1,
        last: null,
      }),
    ),
    { k: "presence", r: "#rust", you: "127.0.0.1:4@n1", n: 1, names: ["[::1]:5@n2"], more: 0, last: null },
    "names as the page shows them, the room named (any room, the default one too)",
  );
  const answer = parseAll(
    lone.history({
      room: "rust",
      epoch: "ep",
      entries: [entry({ seq: 8, text: enc("one") }), entry({ seq: 9, kind: EntryKind.ACTION, text: enc("two") })],
      missed: 1,
      reset: false,
      since: "ep:6",
      last: "ep:9",
    }),
  );
  t.same(
    answer.map((e) => [e.k, e.r, e.id, e.x, e.h]),
    [
      ["line", "#rust", "ep:8", "one", 1],
      ["line", "#rust", "ep:9", "two", 1],
      ["history-end", "#rust", undefined, undefined, undefined],
    ],
    "the entries replayed (ids from the answer's epoch, the answer's room), then the end",
  );
  t.same(answer[2], { k: "history-end", r: "#rust", n: 2, missed: 1, reset: false, last: "ep:9" });
  t.same(parseAll(lone.history({ room: "chat", epoch: "new", entries: [], missed: 0, reset: true, since: "old:3", last: null })), [
    { k: "history-end", r: "#chat", n: 0, missed: 0, reset: true, last: null },
  ]);
});
