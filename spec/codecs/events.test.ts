// The web page's wire format (lib/chat/events.ts): one JSON object per
// line, with the entry's id, time, sender and text.
import t from "tap";
import { EntryKind, type LogEntry } from "../../lib/chat/entry.ts";
import { entryEvent, historyEndEvent, presenceEvent, replyEvent, unnumberedEvent } from "../../lib/chat/events.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const parse = (b: Uint8Array) => {
  const text = dec(b);
  t.ok(text.endsWith("\n") && !text.slice(0, -1).includes("\n"), "one line, newline-terminated");
  return JSON.parse(text);
};
const entry = (over: Partial<LogEntry>): LogEntry => ({
  seq: 7,
  time: 1_764_072_000_000,
  kind: EntryKind.LINE,
  sender: "bob",
  line: new TextEncoder().encode("<bob> <img src=x onerror=alert(1)>\nno"),
  textStart: 6,
  newName: "",
  origin: "",
  ...over,
});

t.test("an entry: kind, id, time, sender, text (markup and newlines stay text inside the JSON)", async (t) => {
  t.same(parse(entryEvent("ep", entry({}))), {
    k: "line",
    id: "ep:7",
    t: 1_764_072_000_000,
    s: "bob",
    x: "<img src=x onerror=alert(1)>\nno",
  });
  const nick = parse(entryEvent("ep", entry({ kind: EntryKind.NICK, sender: "1.2.3.4:5", newName: "rob", textStart: 0 }), true));
  t.same([nick.k, nick.to, nick.h], ["nick", "rob", 1], "a rename carries the new name; a replayed entry is marked");
  t.equal(parse(entryEvent("ep", entry({ origin: "n1" }))).o, "n1", "the origin in a cluster");
  t.equal(parse(unnumberedEvent(entry({}))).id, null, "not numbered yet: id null");
  const action = parse(entryEvent("ep", entry({ line: new TextEncoder().encode("* bob waves"), textStart: 6 })));
  t.same([action.x, action.me], ["waves", 1], "a /me line is marked, its text the action");
  t.equal(parse(entryEvent("ep", entry({}))).me, undefined, "a message is not");
});

t.test("replies, presence and the end of a replay", async (t) => {
  t.same(parse(replyEvent("Online (1): a (you)")), { k: "reply", x: "Online (1): a (you)" });
  t.same(parse(presenceEvent("me", ["a", "b"], 3, "ep:9")), { k: "presence", you: "me", n: 5, names: ["a", "b"], more: 3, last: "ep:9" });
  t.same(parse(historyEndEvent(2, 1, false, null)), { k: "history-end", n: 2, missed: 1, reset: false, last: null });
});
