// The cluster's pure parts, in-process on Node: RESP, the Redis URL, room
// keys, backoff, stream entries both ways (the first release's too), and
// how another server's entries are worded for this server's clients.
import t from "tap";
import { backoffMs } from "../../lib/cluster/link.ts";
import { asText, encodeCommand, RespError, RespParser, RespProtocolError, type RespValue } from "../../lib/cluster/resp.ts";
import { describeTarget, inboxKey, parseRedisUrl, RedisUrlError, roomKeys } from "../../lib/cluster/url.ts";
import { ByteBuilder } from "../../lib/bytes.ts";
import { ENTRY_KIND_NAMES, EntryKind, type EntryContent, type PrivateMessage } from "../../lib/chat/entry.ts";
import { MemberName, NODE_NAME } from "../../lib/chat/naming.ts";
import {
  decodePrivate,
  decodeStreamEntry,
  ENTRY_FIELDS,
  entryArgs,
  privateArgs,
  seqOfId,
  streamEntries,
  VALUES_PER_ENTRY,
} from "../../lib/cluster/stream-entry.ts";
import { EventsCodec } from "../../lib/codecs/events.ts";
import { LineCodec } from "../../lib/codecs/line.ts";

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
  t.equal(inboxKey("eu-1.b"), "select-chat:inbox:eu-1.b", "a node's inbox");
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

const NONE = new Uint8Array(0);
const content = (kind: EntryKind, sender: MemberName | null, text: string | Uint8Array = NONE, newName = ""): EntryContent => ({
  time: 1_700_000_000_123,
  kind,
  sender,
  text: typeof text === "string" ? enc(text) : text,
  newName,
});
/** An entry as plain data, for comparing. */
const plain = (e: EntryContent) => ({
  time: e.time,
  kind: e.kind,
  sender: e.sender && { nick: e.sender.nick, host: e.sender.host, port: e.sender.port, node: e.sender.node },
  text: latin1(e.text),
  newName: e.newName,
});

/** An XRANGE-style entry `[id, [field, value...]]` as Redis would send it. */
const rawEntry = (id: string, fields: Record<string, string | Uint8Array>) => [
  enc(id),
  Object.entries(fields).flatMap(([k, v]) => [enc(k), typeof v === "string" ? enc(v) : v]),
];

/** `e` appended by node `node` (run `run`, ref `ref`) as the script writes it: `o r n` then `ENTRY_FIELDS`. */
function appended(seq: number, e: EntryContent, node: string, run = "ab12", ref = 1) {
  const values = entryArgs(e);
  const fields: Record<string, string | Uint8Array> = { o: node, r: run, n: String(ref) };
  for (const [i, name] of ENTRY_FIELDS.entries()) fields[name] = values[i]!;
  return rawEntry(`${seq}-0`, fields);
}

t.test("entryArgs: one value per ENTRY_FIELDS, the script's stride", async (t) => {
  t.same(ENTRY_FIELDS, ["t", "k", "u", "h", "p", "w", "m"]);
  t.equal(VALUES_PER_ENTRY, ENTRY_FIELDS.length);
  const e = content(EntryKind.NICK, new MemberName(null, "::1", 7, "n2"), NONE, "bob");
  const values = entryArgs(e);
  t.equal(values.length, VALUES_PER_ENTRY);
  t.same(values.slice(0, -1), ["1700000000123", "nick", "", "::1", "7", "bob"], "time, kind, nick, host, port, new name");
  t.equal(values.at(-1), e.text, "the text last, as it is (bytes)");
  t.same(
    entryArgs(content(EntryKind.NOTICE, null, "Server is shutting down")).slice(2, 5),
    ["", "", "0"],
    "the server's: no nick, host or port",
  );
  t.ok(
    NODE_NAME.test("eu-1.b") && !NODE_NAME.test("") && !NODE_NAME.test("a b") && !NODE_NAME.test("-x") && !NODE_NAME.test("x".repeat(33)),
  );
});

t.test("every kind round-trips through the stream: sender's node from the origin, null sender, IPv6, bytes", async (t) => {
  const address = new MemberName(null, "127.0.0.1", 5555, "n2");
  const v6 = new MemberName(null, "::1", 7, "n2");
  const bob = new MemberName("bob", "10.0.0.9", 40_000, "n2");
  const raw = Uint8Array.of(0xff, 0x0d, 0x00, 0xc3, 0x28); // invalid UTF-8, CR, NUL
  const sent = [
    content(EntryKind.LINE, address, "hi"),
    content(EntryKind.LINE, bob, raw),
    content(EntryKind.ACTION, v6, "waves"),
    content(EntryKind.JOIN, address),
    content(EntryKind.LEAVE, bob, "too slow"),
    content(EntryKind.LEAVE, v6),
    content(EntryKind.QUIT, address),
    content(EntryKind.NICK, v6, NONE, "carol"),
    content(EntryKind.NOTICE, null, "Server is shutting down"),
    content(EntryKind.ENTER, bob),
    content(EntryKind.PART, address, "rust"),
    content(EntryKind.PART, v6),
  ];
  t.same(new Set(sent.map((e) => e.kind)), new Set(ENTRY_KIND_NAMES.map((_, i) => i)), "every kind");
  for (const [i, e] of sent.entries()) {
    const se = decodeStreamEntry(appended(i + 1, e, "n2", "run9", 30 + i))!;
    t.same({ id: se.id, producer: se.producer, ref: se.ref }, { id: `${i + 1}-0`, producer: "n2/run9", ref: 30 + i });
    t.same(plain(se.entry!), plain(e), `${ENTRY_KIND_NAMES[e.kind]}: back as it was sent`);
    t.equal(se.entry!.seq, i + 1);
  }
  // A sender's node is where the entry came from: a stream entry appended by n3 names n3's member.
  t.same(plain(decodeStreamEntry(appended(1, content(EntryKind.LINE, address, "hi"), "n3"))!.entry!).sender, {
    nick: null,
    host: "127.0.0.1",
    port: 5555,
    node: "n3",
  });

  const wire = appended(42, content(EntryKind.LINE, bob, raw), "n1");
  const e = decodeStreamEntry(wire)!.entry!;
  const m = wire[1]![wire[1]!.length - 1] as Uint8Array;
  m[0] = 0;
  t.equal(e.text[0], 0xff, "a copy: the reply's buffer is not kept");
});

t.test("another server's address-named member, as this server's clients see it; nicknames and notices stay", async (t) => {
  // The stream carries the sender as data and its node as the origin; each server's codecs word it for their readers.
  const line = new LineCodec("n1");
  const events = new EventsCodec("n1");
  const fromN2 = (e: EntryContent) => decodeStreamEntry(appended(5, e, "n2"))!.entry!;
  const said = (e: EntryContent) => {
    const out = new ByteBuilder();
    line.entry(out, "chat", fromN2(e), null, false);
    return latin1(out.take());
  };
  const event = (e: EntryContent) => {
    const out = new ByteBuilder();
    events.entry(out, "chat", fromN2(e), "ep:5", false);
    return JSON.parse(new TextDecoder().decode(out.take()));
  };
  const address = new MemberName(null, "127.0.0.1", 5555, "n1");
  t.equal(said(content(EntryKind.LINE, address, "hi")), "<127.0.0.1:5555@n2> hi\n");
  t.equal(said(content(EntryKind.ACTION, address, "waves")), "* 127.0.0.1:5555@n2 waves\n");
  t.equal(
    said(content(EntryKind.LINE, address, "127.0.0.1:5555")),
    "<127.0.0.1:5555@n2> 127.0.0.1:5555\n",
    "the text is the sender's: not touched",
  );
  t.equal(said(content(EntryKind.JOIN, address)), "Client (127.0.0.1, 5555)@n2 connected\n");
  t.equal(
    said(content(EntryKind.NICK, new MemberName(null, "::1", 7, ""), NONE, "bob")),
    "Client (::1, 7)@n2 is now bob\n",
    "IPv6: the notice's tuple has no brackets",
  );
  t.equal(said(content(EntryKind.LINE, new MemberName("bob", "127.0.0.1", 5555, ""), "hi")), "<bob> hi\n", "a nickname is unique as it is");
  t.equal(said(content(EntryKind.QUIT, new MemberName("bob", "127.0.0.1", 5555, ""))), "bob quits\n");
  t.equal(said(content(EntryKind.NOTICE, null, "Server is shutting down")), "Server is shutting down\n");
  t.same([event(content(EntryKind.LINE, address, "hi")).s, event(content(EntryKind.LINE, address, "hi")).o], ["127.0.0.1:5555@n2", "n2"]);
  t.equal(event(content(EntryKind.JOIN, address)).x, "Client (127.0.0.1, 5555)@n2 connected");
  t.equal(event(content(EntryKind.LINE, new MemberName("bob", "127.0.0.1", 5555, ""), "hi")).s, "bob");
  // This server's own entries, back from the stream: its TCP clients see them as they are.
  const own = decodeStreamEntry(appended(6, content(EntryKind.LINE, address, "hi"), "n1"))!.entry!;
  const out = new ByteBuilder();
  line.entry(out, "chat", own, null, false);
  t.equal(latin1(out.take()), "<127.0.0.1:5555> hi\n");
});

t.test("stream entries of the first release (the TCP line in `l`) are read back as data", async (t) => {
  const legacy = (seq: number, fields: Record<string, string | Uint8Array>) =>
    decodeStreamEntry(rawEntry(`${seq}-0`, { o: "n2", r: "old", n: "3", t: "1700000000123", w: "", ...fields }))!;
  const bytes = Uint8Array.of(0x3c, 0x62, 0x3e, 0x20, 0xff, 0x0d, 0x00); // "<b> " then invalid UTF-8, CR, NUL
  const msg = legacy(42, { k: "line", s: "b", x: "4", l: bytes });
  t.same({ id: msg.id, producer: msg.producer, ref: msg.ref }, { id: "42-0", producer: "n2/old", ref: 3 });
  t.same(msg.entry!.seq, 42);
  t.same(
    plain(msg.entry!),
    plain(content(EntryKind.LINE, new MemberName("b", "", 0, "n2"), bytes.subarray(4))),
    "a message: its text after the prefix",
  );
  bytes[4] = 0; // the reply's buffer, reused
  t.equal(msg.entry!.text[0], 0xff, "a copy: the reply's buffer is not kept");
  const qualified = legacy(1, { k: "line", s: "127.0.0.1:5555@n2", x: "20", l: "<127.0.0.1:5555@n2> hi" });
  t.same(
    plain(qualified.entry!),
    plain(content(EntryKind.LINE, new MemberName(null, "127.0.0.1", 5555, "n2"), "hi")),
    "an address with @NODE",
  );
  const action = legacy(2, { k: "line", s: "[::1]:7@n2", x: "13", l: "* [::1]:7@n2 waves" });
  t.same(plain(action.entry!), plain(content(EntryKind.ACTION, new MemberName(null, "::1", 7, "n2"), "waves")), "`* ` was a /me; IPv6");
  const quits = legacy(3, { k: "leave", s: "bob", x: "0", l: "bob quits" });
  t.same(plain(quits.entry!), plain(content(EntryKind.QUIT, new MemberName("bob", "", 0, "n2"))), "`quits` was a quit");
  const offline = legacy(4, { k: "leave", s: "127.0.0.1:5555@n2", x: "0", l: "Client (127.0.0.1, 5555)@n2 is offline (too slow)" });
  t.same(
    plain(offline.entry!),
    plain(content(EntryKind.LEAVE, new MemberName(null, "127.0.0.1", 5555, "n2"), "too slow")),
    "a leave's reason",
  );
  const nick = legacy(5, { k: "nick", s: "127.0.0.1:5555@n2", w: "bob", x: "0", l: "Client (127.0.0.1, 5555)@n2 is now bob" });
  t.same(plain(nick.entry!), plain(content(EntryKind.NICK, new MemberName(null, "127.0.0.1", 5555, "n2"), NONE, "bob")));
  const join = legacy(6, { k: "join", s: "127.0.0.1:5555@n2", x: "0", l: "Client (127.0.0.1, 5555)@n2 connected" });
  t.same(plain(join.entry!), plain(content(EntryKind.JOIN, new MemberName(null, "127.0.0.1", 5555, "n2"))));
  const notice = legacy(7, { k: "notice", s: "", x: "0", l: "Server is shutting down" });
  t.same(plain(notice.entry!), plain(content(EntryKind.NOTICE, null, "Server is shutting down")), "the server's: no sender");
  t.equal(latin1(legacy(8, { k: "line", s: "b", l: "x", x: "99" }).entry!.text), "x", "a text start past the line is 0");
  t.equal(legacy(9, { k: "shout", s: "b", x: "0", l: "x" }).entry, null, "a kind that release never wrote");
});

t.test("stream entries written by hand are not ours", async (t) => {
  const ok = { t: "5", k: "line", u: "bob", h: "127.0.0.1", p: "1", w: "", m: "x" };
  t.ok(decodeStreamEntry(rawEntry("5-0", ok))!.entry, "all fields: an entry");
  t.equal(decodeStreamEntry(rawEntry("1700000000000-1", ok))!.entry, null, "an id that is not SEQ-0");
  const { m: _, ...noText } = ok;
  t.equal(decodeStreamEntry(rawEntry("5-0", noText))!.entry, null, "no text field");
  t.equal(decodeStreamEntry(rawEntry("5-0", { ...ok, k: "shout" }))!.entry, null, "an unknown kind");
  t.equal(decodeStreamEntry(rawEntry("5-0", { k: "line", l: "x" }))!.entry!.kind, EntryKind.LINE, "a bare legacy line");
  t.equal(decodeStreamEntry(enc("nope") as unknown as never), null);
  t.same(decodeStreamEntry(rawEntry("5-0", ok))!.producer, "", "no origin or run: producer unknown");

  t.same([seqOfId("1-0"), seqOfId("123456-0"), seqOfId("1-1"), seqOfId("x")], [1, 123456, null, null]);
});

t.test("XREAD and XRANGE replies give their entries; a timed-out XREAD gives none", async (t) => {
  const e = rawEntry("1-0", { k: "line", m: "x" });
  t.same(streamEntries(null, true), []);
  t.same(streamEntries([[enc("key"), [e]]], true), [e]);
  t.same(streamEntries([e], false), [e]);
  t.equal(streamEntries(enc("x"), true), null);
  t.equal(streamEntries([enc("key")], true), null);
});

/** A private message as plain data, for comparing. */
const plainPrivate = (m: PrivateMessage) => ({
  time: m.time,
  action: m.action,
  text: latin1(m.text),
  from: { nick: m.from.nick, host: m.from.host, port: m.from.port, node: m.from.node },
  to: { nick: m.to.nick, host: m.to.host, port: m.to.port, node: m.to.node },
});
/** Fields as `privateArgs` gives them, as an XREAD reply carries them (all bulk strings). */
const asReply = (args: (string | Uint8Array)[]) => args.map((a) => (typeof a === "string" ? enc(a) : a));

t.test("a private message round-trips through an inbox entry: both names, IPv6, an action, bytes", async (t) => {
  const raw = Uint8Array.of(0xff, 0x0d, 0x00, 0xc3, 0x28);
  const sent: PrivateMessage[] = [
    {
      time: 1_700_000_000_123,
      from: new MemberName("bob", "10.0.0.9", 40_000, "n1"),
      to: new MemberName("ann", "::1", 7, "n2"),
      action: false,
      text: enc("hi"),
    },
    {
      time: 5,
      from: new MemberName(null, "::1", 7, "n1"),
      to: new MemberName(null, "127.0.0.1", 5555, "n2"),
      action: true,
      text: enc("waves"),
    },
    {
      time: 6,
      from: new MemberName(null, "127.0.0.1", 1, "n1"),
      to: new MemberName("ann", "127.0.0.1", 2, "n2"),
      action: false,
      text: raw,
    },
    {
      time: 7,
      from: new MemberName("bob", "127.0.0.1", 1, "n1"),
      to: new MemberName("ann", "127.0.0.1", 2, "n2"),
      action: false,
      text: NONE,
    },
  ];
  for (const m of sent) {
    const args = privateArgs(m);
    t.equal(args.length % 2, 0, "field, value pairs");
    const back = decodePrivate(asReply(args));
    t.not(back, null);
    t.same(plainPrivate(back!), plainPrivate(m), `back as it was sent: ${latin1(m.text)}`);
  }
  const args = privateArgs(sent[0]!);
  const fields = Object.fromEntries(
    Array.from({ length: args.length / 2 }, (_, i) => [
      args[2 * i] as string,
      typeof args[2 * i + 1] === "string" ? args[2 * i + 1] : "BYTES",
    ]),
  );
  t.same(
    fields,
    {
      t: "1700000000123",
      a: "0",
      m: "BYTES",
      u: "bob",
      h: "10.0.0.9",
      p: "40000",
      o: "n1",
      tu: "ann",
      th: "::1",
      tp: "7",
      to: "n2",
    },
    "the fields as the stream shows them; the text as its bytes",
  );
  t.equal(args[5], sent[0]!.text, "the text as it is (bytes)");

  const reply = asReply(privateArgs(sent[2]!));
  const back = decodePrivate(reply)!;
  (reply[5] as Uint8Array)[0] = 0;
  t.equal(back.text[0], 0xff, "a copy: the reply's buffer is not kept");

  t.equal(decodePrivate(enc("nope") as unknown as never), null, "not a field list");
  t.equal(decodePrivate(asReply(["t", "5", "tu", "ann"])), null, "no text");
  t.equal(decodePrivate(asReply(["t", "5", "m", "hi", "u", "bob"])), null, "no receiver");
  const roomEntry = asReply(["t", "5", "k", "line", "u", "bob", "h", "127.0.0.1", "p", "1", "w", "", "m", "x"]);
  t.equal(decodePrivate(roomEntry), null, "a room's log entry is no private message");
});
