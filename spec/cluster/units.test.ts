// The cluster's pure parts, in-process on Node: RESP, the Redis URL, room
// keys, backoff, and stream entries both ways.
import t from "tap";
import { backoffMs } from "../../lib/cluster/link.ts";
import { asText, encodeCommand, RespError, RespParser, RespProtocolError, type RespValue } from "../../lib/cluster/resp.ts";
import { describeTarget, parseRedisUrl, RedisUrlError, roomKeys } from "../../lib/cluster/url.ts";
import { EntryKind, type EntryContent } from "../../lib/chat/entry.ts";
import { decodeStreamEntry, entryArgs, NODE_NAME, qualifySender, seqOfId, streamEntries } from "../../lib/cluster/stream-entry.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");

/** Readable form of parsed values: bytes as strings, errors tagged. */
function show(v: RespValue): unknown {
  if (v instanceof Uint8Array) return latin1(v);
  if (v instanceof RespError) return { error: v.message };
  if (Array.isArray(v)) return v.map(show);
  return v;
}

function parseAll(...chunks: Uint8Array[]): unknown[] {
  const p = new RespParser();
  const out: unknown[] = [];
  for (const c of chunks) p.push(c, (v) => out.push(show(v)));
  return out;
}

const replies = enc(
  "+OK\r\n-ERR unknown command\r\n:42\r\n$5\r\nhe\r\nl\r\n$-1\r\n*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$0\r\n\r\n*2\r\n*1\r\n:1\r\n*-1\r\n",
);
const expected = ["OK", { error: "ERR unknown command" }, 42, "he\r\nl", null, ["message", "ch", ""], [[1], null]];

t.test("RESP replies of every type, in one chunk", async (t) => {
  t.same(parseAll(replies), expected);
});

t.test("the same bytes cut at every boundary, and byte by byte", async (t) => {
  for (let cut = 1; cut < replies.length; cut++) {
    t.same(parseAll(replies.subarray(0, cut), replies.subarray(cut)), expected, `cut at ${cut}`);
  }
  t.same(parseAll(...Array.from(replies, (b) => Uint8Array.of(b))), expected);
});

t.test("bulk strings are bytes: NUL, CR, LF and invalid UTF-8 pass unchanged", async (t) => {
  const payload = Uint8Array.of(0, 0xff, 13, 10, 0xc3, 0x28, 10);
  const cmd = encodeCommand(["PUBLISH", "room", payload]);
  const head = "*3\r\n$7\r\nPUBLISH\r\n$4\r\nroom\r\n$7\r\n";
  t.equal(latin1(cmd), head + latin1(payload) + "\r\n");
  // The server would answer with the same framing: parse it back.
  const values: RespValue[] = [];
  new RespParser().push(cmd, (v) => values.push(v));
  t.same(Array.from((values[0] as Uint8Array[])[2]!), Array.from(payload));
  t.equal(asText((values[0] as Uint8Array[])[0]!), "PUBLISH");
});

t.test("a large bulk string arriving in pieces is put together once", async (t) => {
  const big = "x".repeat(300_000);
  const wire = enc(`$${big.length}\r\n${big}\r\n:7\r\n`);
  const p = new RespParser();
  const out: RespValue[] = [];
  for (let at = 0; at < wire.length; at += 65536) p.push(wire.subarray(at, at + 65536), (v) => out.push(v));
  t.equal(out.length, 2);
  t.equal((out[0] as Uint8Array).length, big.length);
  t.equal(out[1], 7);
});

t.test("bytes that are not RESP are a protocol error", async (t) => {
  t.throws(() => parseAll(enc("HTTP/1.1 400 Bad Request\r\n")), RespProtocolError);
  t.throws(() => parseAll(enc("$3\r\nabcXY")), RespProtocolError);
  t.throws(() => parseAll(enc(":12x\r\n")), RespProtocolError);
});

t.test("Redis URLs", async (t) => {
  t.same(parseRedisUrl("redis://127.0.0.1:6380/3"), { host: "127.0.0.1", port: 6380, db: 3, username: null, password: null });
  t.same(parseRedisUrl("redis://localhost"), { host: "localhost", port: 6379, db: 0, username: null, password: null });
  t.same(parseRedisUrl("redis://[::1]:7000"), { host: "::1", port: 7000, db: 0, username: null, password: null });
  const withAuth = parseRedisUrl("redis://chat:s%40cret@h:1/2");
  t.same([withAuth.username, withAuth.password], ["chat", "s@cret"]);
  t.equal(describeTarget(withAuth), "redis://chat:***@h:1/2", "no password in logs");
  t.equal(describeTarget(parseRedisUrl("redis://:pw@[::1]")), "redis://:***@[::1]:6379/0");
  for (const bad of ["localhost:6379", "redis://", "redis://h:0", "redis://h:70000", "redis://h/x", "redis://h/1?a=b", "rediss://h"]) {
    t.throws(() => parseRedisUrl(bad), RedisUrlError, bad);
  }
  t.same(roomKeys("lobby"), { log: "select-chat:lobby:log", meta: "select-chat:lobby:meta", producer: "select-chat:lobby:producer:" });
});

t.test("backoff doubles per failure up to the cap, with bounded jitter", async (t) => {
  const mid = () => 0.5; // no jitter
  t.same(
    [0, 1, 2, 3, 10, 100].map((n) => backoffMs(n, 100, 2000, mid)),
    [100, 200, 400, 800, 2000, 2000],
  );
  t.equal(
    backoffMs(0, 100, 2000, () => 0),
    80,
  );
  t.equal(
    backoffMs(0, 100, 2000, () => 0.999999),
    120,
  );
});

const content = (kind: EntryKind, sender: string, line: string, textStart = 0, newName = ""): EntryContent => ({
  time: 1_700_000_000_123,
  kind,
  sender,
  line: enc(line),
  textStart,
  newName,
  origin: "",
});
const text = (e: EntryContent) => ({ sender: e.sender, line: latin1(e.line), x: e.textStart, rest: latin1(e.line.subarray(e.textStart)) });

t.test("another server's address-named clients carry its node name; nicknames and notices stay", async (t) => {
  t.same(text(qualifySender(content(EntryKind.LINE, "127.0.0.1:5555", "<127.0.0.1:5555> hi", 17), "n2")), {
    sender: "127.0.0.1:5555@n2",
    line: "<127.0.0.1:5555@n2> hi",
    x: 20,
    rest: "hi",
  });
  t.same(text(qualifySender(content(EntryKind.LINE, "127.0.0.1:5555", "* 127.0.0.1:5555 waves", 17), "n2")), {
    sender: "127.0.0.1:5555@n2",
    line: "* 127.0.0.1:5555@n2 waves",
    x: 20,
    rest: "waves",
  });
  // The text is the sender's: an address in it is not touched.
  t.same(
    text(qualifySender(content(EntryKind.LINE, "127.0.0.1:5555", "<127.0.0.1:5555> 127.0.0.1:5555", 17), "n2")).rest,
    "127.0.0.1:5555",
  );
  t.same(text(qualifySender(content(EntryKind.JOIN, "127.0.0.1:5555", "Client (127.0.0.1, 5555) connected"), "n2")), {
    sender: "127.0.0.1:5555@n2",
    line: "Client (127.0.0.1, 5555)@n2 connected",
    x: 0,
    rest: "Client (127.0.0.1, 5555)@n2 connected",
  });
  t.equal(
    latin1(qualifySender(content(EntryKind.NICK, "[::1]:7", "Client (::1, 7) is now bob", 0, "bob"), "n2").line),
    "Client (::1, 7)@n2 is now bob",
    "IPv6: the notice's tuple has no brackets",
  );
  t.same(
    text(qualifySender(content(EntryKind.NICK, "bob", "Client (127.0.0.1, 5555) is now bob", 0, "bob"), "n2")),
    { sender: "bob", line: "Client (127.0.0.1, 5555)@n2 is now bob", x: 0, rest: "Client (127.0.0.1, 5555)@n2 is now bob" },
    "a notice naming a client by address, whatever its sender field",
  );
  const nick = content(EntryKind.LINE, "bob", "<bob> hi", 6);
  t.equal(qualifySender(nick, "n2"), nick, "a nickname is unique as it is");
  const notice = content(EntryKind.NOTICE, "", "Server is shutting down");
  t.equal(qualifySender(notice, "n2"), notice);
  const quits = content(EntryKind.LEAVE, "bob", "bob quits");
  t.equal(qualifySender(quits, "n2"), quits);
  t.ok(
    NODE_NAME.test("eu-1.b") && !NODE_NAME.test("") && !NODE_NAME.test("a b") && !NODE_NAME.test("-x") && !NODE_NAME.test("x".repeat(33)),
  );
});

/** An XRANGE-style entry `[id, [field, value...]]` as Redis would send it. */
const rawEntry = (id: string, fields: Record<string, string | Uint8Array>) => [
  enc(id),
  Object.entries(fields).flatMap(([k, v]) => [enc(k), typeof v === "string" ? enc(v) : v]),
];

t.test("stream entries decode to log entries, bytes copied and unchanged", async (t) => {
  const line = Uint8Array.of(0x3c, 0x62, 0x3e, 0x20, 0xff, 0x0d, 0x00); // "<b> " then invalid UTF-8, CR, NUL
  const [time, kind, sender, newName, x, l] = entryArgs({ ...content(EntryKind.LINE, "b", "", 4), line });
  const raw = rawEntry("42-0", {
    o: "n1",
    r: "ab12",
    n: "7",
    t: time as string,
    k: kind as string,
    s: sender as string,
    w: newName as string,
    x: x as string,
    l: l as Uint8Array,
  });
  const se = decodeStreamEntry(raw)!;
  t.same({ id: se.id, producer: se.producer, ref: se.ref }, { id: "42-0", producer: "n1/ab12", ref: 7 });
  const e = se.entry!;
  t.same(
    { seq: e.seq, time: e.time, kind: e.kind, sender: e.sender, textStart: e.textStart, newName: e.newName, origin: e.origin },
    { seq: 42, time: 1_700_000_000_123, kind: EntryKind.LINE, sender: "b", textStart: 4, newName: "", origin: "n1" },
  );
  t.same(Array.from(e.line), Array.from(line));
  const wire = raw[1]![raw[1]!.length - 1] as Uint8Array;
  wire[0] = 0;
  t.equal(e.line[0], 0x3c, "a copy: the reply's buffer is not kept");

  const nick = decodeStreamEntry(
    rawEntry("3-0", { o: "n1", r: "x", n: "1", t: "5", k: "nick", s: "a", w: "bob", x: "0", l: "a is now bob" }),
  )!;
  t.same([nick.entry!.kind, nick.entry!.newName], [EntryKind.NICK, "bob"]);

  // Written by hand: an id that is not SEQ-0, no line, or an unknown kind.
  t.equal(decodeStreamEntry(rawEntry("1700000000000-1", { k: "line", l: "x" }))!.entry, null);
  t.equal(decodeStreamEntry(rawEntry("5-0", { k: "line" }))!.entry, null);
  t.equal(decodeStreamEntry(rawEntry("5-0", { k: "shout", l: "x" }))!.entry, null);
  t.equal(decodeStreamEntry(rawEntry("5-0", { k: "line", l: "x", x: "99" }))!.entry!.textStart, 0, "a text start past the line is 0");
  t.equal(decodeStreamEntry(enc("nope") as unknown as never), null);

  t.same([seqOfId("1-0"), seqOfId("123456-0"), seqOfId("1-1"), seqOfId("x")], [1, 123456, null, null]);
});

t.test("XREAD and XRANGE replies give their entries; a timed-out XREAD gives none", async (t) => {
  const e = rawEntry("1-0", { k: "line", l: "x" });
  t.same(streamEntries(null, true), []);
  t.same(streamEntries([[enc("key"), [e]]], true), [e]);
  t.same(streamEntries([e], false), [e]);
  t.equal(streamEntries(enc("x"), true), null);
  t.equal(streamEntries([enc("key")], true), null);
});
