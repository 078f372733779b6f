// The fan-out hot path without sockets: the room's per-tick shared batch and
// the outbound queue that sends it. What matters here is what each member
// receives, and that the common case shares one buffer instead of copying.
import t from "tap";
import { Audience, Member, Room } from "../../lib/server/room.ts";
import type { ByteBuilder } from "../../lib/bytes.ts";
import type { EntryContent } from "../../lib/chat/entry.ts";
import { EntryKind } from "../../lib/chat/entry.ts";
import type { Codec } from "../../lib/codecs/codec.ts";
import { OutboundQueue, type Sink } from "../../lib/reactor/outbound.ts";
import type { Connection } from "../../lib/reactor/backend.ts";
import type { Reactor, SelectorKey } from "../../lib/reactor/reactor.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * Codecs that word an entry as its text, as it is (what matters here is
 * where bytes go, not their words): `lineLike` as TCP lines are (no echo,
 * shown at once), `eventsLike` as the page's events are (echo, numbered).
 * `worded` counts `entry` calls: once per codec per broadcast.
 */
function testCodec(name: string, echo: boolean, numbered: boolean) {
  const codec = {
    name,
    echo,
    numbered,
    rawStream: !echo,
    bareQuit: !echo,
    worded: 0,
    entry(out: ByteBuilder, _room: string, e: EntryContent) {
      codec.worded++;
      out.append(e.text);
    },
  };
  return codec as typeof codec & Codec;
}
const lineLike = testCodec("line", false, false);
const eventsLike = testCodec("events", true, true);

/** An entry whose words are `text`. */
const raw = (text: string): EntryContent => ({ time: 0, kind: EntryKind.NOTICE, sender: null, text: enc(text), newName: "" });

/** Just the part of the reactor a room uses: queued writes per key. A tick ends with `room.seal()`. */
function fakeReactor() {
  const writes = new Map<unknown, Uint8Array[]>();
  const reactor = {
    write(key: SelectorKey<string>, bytes: Uint8Array) {
      writes.set(key, [...(writes.get(key) ?? []), bytes]);
      return true;
    },
    flushKey() {},
  } as unknown as Reactor<string>;
  const member = (name: string) => new Member<string>({ data: name, handle: {} } as SelectorKey<string, Connection>, lineLike);
  const webMember = (name: string) => new Member<string>({ data: name, handle: {} } as SelectorKey<string, Connection>, eventsLike);
  const got = (m: Member<string>) => (writes.get(m.key) ?? []).map(dec).join("");
  const chunks = (m: Member<string>) => writes.get(m.key) ?? [];
  return { reactor, member, webMember, got, chunks, reset: () => writes.clear() };
}

t.test("a tick's broadcasts reach every member but the sender, as one shared buffer", async (t) => {
  const f = fakeReactor();
  const room = new Room(f.reactor);
  const [a, b, c] = ["a", "b", "c"].map(f.member);
  for (const m of [a!, b!, c!]) room.join(m);
  room.broadcast(raw("<a> hi\n"), null, a!);
  room.broadcast(raw("notice\n"), null, null, Audience.LIVE);
  room.broadcast(raw("<b> yo\n"), null, b!, Audience.LIVE);
  room.seal();
  t.equal(f.got(a!), "notice\n<b> yo\n", "a does not hear itself");
  t.equal(f.got(b!), "<a> hi\nnotice\n", "b does not hear itself");
  t.equal(f.got(c!), "<a> hi\nnotice\n<b> yo\n", "c hears everything, in order");
  t.equal(f.chunks(c!).length, 1, "one write per member per tick");
});

t.test("members that sent nothing share the very same buffer", async (t) => {
  const f = fakeReactor();
  const room = new Room(f.reactor);
  const ms = ["a", "b", "c", "d"].map(f.member);
  for (const m of ms) room.join(m);
  room.broadcast(raw("x\n"), null, ms[0]!);
  room.seal();
  t.equal(f.chunks(ms[1]!)[0], f.chunks(ms[2]!)[0], "same Uint8Array object");
  t.equal(f.chunks(ms[2]!)[0], f.chunks(ms[3]!)[0]);
});

t.test("a sealed batch is not changed by later ticks (views stay valid)", async (t) => {
  const f = fakeReactor();
  const room = new Room(f.reactor);
  const [a, b] = ["a", "b"].map(f.member);
  room.join(a!);
  room.join(b!);
  room.broadcast(raw("first\n"), null, null, Audience.LIVE);
  room.seal();
  const kept = f.chunks(b!)[0]!;
  for (let i = 0; i < 50; i++) room.broadcast(raw(`later ${i} ${"z".repeat(200)}\n`), null, null, Audience.LIVE);
  room.seal();
  t.equal(dec(kept), "first\n");
});

t.test("a member that joins mid-tick gets only what was said after it joined", async (t) => {
  const f = fakeReactor();
  const room = new Room(f.reactor);
  const [a, b] = ["a", "b"].map(f.member);
  room.join(a!);
  room.broadcast(raw("before\n"), null, null, Audience.LIVE);
  room.join(b!);
  room.broadcast(raw("after\n"), null, null, Audience.LIVE);
  room.seal();
  t.equal(f.got(a!), "before\nafter\n");
  t.equal(f.got(b!), "after\n");
});

t.test("broadcast says how many members it reaches: all but a sender in the room", async (t) => {
  for (const coalesce of [true, false]) {
    const f = fakeReactor();
    const room = new Room(f.reactor, coalesce);
    const [a, b, c, outsider] = ["a", "b", "c", "outsider"].map(f.member);
    for (const m of [a!, b!, c!]) room.join(m);
    t.equal(room.broadcast(raw("x\n"), null, a!, Audience.LIVE), 2, "a member's line");
    t.equal(room.broadcast(raw("notice\n"), null, null, Audience.LIVE), 3, "a notice");
    t.equal(room.broadcast(raw("about outsider\n"), null, outsider!, Audience.LIVE), 3, "a notice about a client not in the room");
    room.seal();
    t.equal(f.got(outsider!), "", "and the outsider gets nothing");
  }
});

t.test("an idle tick writes nothing", async (t) => {
  const f = fakeReactor();
  const room = new Room(f.reactor);
  const a = f.member("a");
  room.join(a);
  room.seal();
  t.equal(f.chunks(a).length, 0);
});

/** A sink that takes at most `room` bytes per send and records what it got. */
function sink(room = Infinity): Sink & { sent: Uint8Array[]; room: number } {
  return {
    room,
    sent: [],
    send(bytes: Uint8Array) {
      const n = Math.min(bytes.length, this.room);
      this.sent.push(bytes.slice(0, n));
      return n;
    },
  };
}

t.test("outbound queue: one chunk is sent as it is, several as one buffer", async (t) => {
  const q = new OutboundQueue();
  const s = sink();
  const one = enc("hello\n");
  q.push(one);
  const sent: Uint8Array[] = [];
  t.equal(q.flushTo({ send: (b) => (sent.push(b), b.length) }), 6);
  t.equal(sent[0], one, "the pushed array itself, not a copy");
  t.ok(q.empty);
  q.push(enc("a"));
  q.push(enc(""));
  q.push(enc("bc"));
  q.push(enc("d\n"));
  t.equal(q.bytes, 5);
  t.equal(q.flushTo(s), 5);
  t.equal(s.sent.length, 1, "one send for the whole queue");
  t.equal(dec(s.sent[0]!), "abcd\n");
  t.ok(q.empty);
});

t.test("outbound queue: a short send keeps the rest, in order, for the next flush", async (t) => {
  const q = new OutboundQueue();
  const s = sink(3);
  q.push(enc("abcd"));
  q.push(enc("efg"));
  t.equal(q.flushTo(s), 3);
  t.equal(q.bytes, 4);
  q.push(enc("h"));
  s.room = Infinity;
  t.equal(q.flushTo(s), 5);
  t.equal(s.sent.map(dec).join(""), "abcdefgh");
  t.ok(q.empty);
});

t.test("outbound queue: a dead sink reports -1 and keeps the bytes for the caller to drop", async (t) => {
  const q = new OutboundQueue();
  q.push(enc("x"));
  t.equal(q.flushTo({ send: () => -1 }), -1);
  t.equal(q.bytes, 1);
  q.clear();
  t.ok(q.empty);
});

t.test("each codec its own batch: an echoing codec's members get the sender's entries too, the others not", async (t) => {
  const f = fakeReactor();
  const room = new Room(f.reactor);
  const [a, b] = ["a", "b"].map(f.member);
  const [w, v] = ["w", "v"].map(f.webMember);
  for (const m of [a!, w!, b!]) room.join(m);
  t.equal(room.membersOf(eventsLike), 1, "one web member");
  room.broadcast(raw("<a> hi\n"), null, a!, Audience.LIVE);
  room.broadcast(raw('{"x":"a hi"}\n'), null, null, Audience.NUMBERED);
  room.join(v!); // joins mid-tick: only what comes after
  room.broadcast(raw("notice\n"), null, null, Audience.LIVE);
  room.broadcast(raw('{"x":"notice"}\n'), null, null, Audience.NUMBERED);
  room.sendTo(w!, enc('{"k":"reply"}\n'));
  room.broadcast(raw('{"x":"last"}\n'), null, null, Audience.NUMBERED);
  room.seal();
  t.equal(f.got(a!), "notice\n", "a: not its own line, no events");
  t.equal(f.got(b!), "<a> hi\nnotice\n", "b: the lines");
  t.equal(f.got(w!), '{"x":"a hi"}\n{"x":"notice"}\n{"k":"reply"}\n{"x":"last"}\n', "w: every event, its reply in order");
  t.equal(f.got(v!), '{"x":"notice"}\n{"x":"last"}\n', "v: the events after it joined");
  room.leave(w!);
  room.leave(v!);
  t.equal(room.membersOf(eventsLike), 0, "none left");
  f.reset();
  room.broadcast(raw('{"x":"nobody"}\n'), null, null, Audience.NUMBERED);
  room.broadcast(raw("still\n"), null, null, Audience.LIVE);
  room.seal();
  t.equal(f.got(a!), "still\n", "with no web member, events cost nothing and reach no one");
});

t.test("an entry is worded once per codec in use per broadcast, never once per reader", async (t) => {
  const f = fakeReactor();
  const room = new Room(f.reactor);
  const tcp = Array.from({ length: 100 }, (_, i) => f.member(`t${i}`));
  const web = Array.from({ length: 50 }, (_, i) => f.webMember(`w${i}`));
  for (const m of [...tcp, ...web]) room.join(m);
  const [lines, events] = [lineLike.worded, eventsLike.worded];
  t.equal(room.broadcast(raw("x\n"), "ep:1", tcp[0]!), 149, "everyone but the sender (its codec does not echo)");
  t.equal(lineLike.worded - lines, 1, "the line codec worded it once");
  t.equal(eventsLike.worded - events, 1, "the events codec once");
  room.seal();
  t.equal(f.chunks(tcp[1]!)[0], f.chunks(tcp[99]!)[0], "one buffer for the TCP members");
  t.equal(f.chunks(web[0]!)[0], f.chunks(web[49]!)[0], "one for the web members");
  t.not(f.chunks(tcp[1]!)[0], f.chunks(web[0]!)[0]);
  for (const m of web) room.leave(m);
  room.broadcast(raw("y\n"), "ep:2", null);
  t.equal(eventsLike.worded - events, 1, "a codec nobody in the room speaks words nothing");
});
