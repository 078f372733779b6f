// The fan-out hot path without sockets: the room's per-tick shared batch and
// the outbound queue that sends it. What matters here is what each member
// receives, and that the common case shares one buffer instead of copying.
import t from "tap";
import { Member, Room } from "../../lib/server/room.ts";
import { OutboundQueue, type Sink } from "../../lib/reactor/outbound.ts";
import type { Connection } from "../../lib/reactor/backend.ts";
import type { Reactor, SelectorKey } from "../../lib/reactor/reactor.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

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
  const member = (name: string) => new Member<string>({ data: name, handle: {} } as SelectorKey<string, Connection>);
  const webMember = (name: string) =>
    new Member<string>({ data: name, handle: { transport: "websocket" } } as SelectorKey<string, Connection>);
  const got = (m: Member<string>) => (writes.get(m.key) ?? []).map(dec).join("");
  const chunks = (m: Member<string>) => writes.get(m.key) ?? [];
  return { reactor, member, webMember, got, chunks, reset: () => writes.clear() };
}

t.test("a tick's broadcasts reach every member but the sender, as one shared buffer", async (t) => {
  const f = fakeReactor();
  const room = new Room(f.reactor);
  const [a, b, c] = ["a", "b", "c"].map(f.member);
  for (const m of [a!, b!, c!]) room.join(m);
  room.broadcast(a!, enc("<a> "), enc("hi"), enc("\n"));
  room.broadcast(null, enc("notice\n"));
  room.broadcast(b!, enc("<b> yo\n"));
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
  room.broadcast(ms[0]!, enc("x\n"));
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
  room.broadcast(null, enc("first\n"));
  room.seal();
  const kept = f.chunks(b!)[0]!;
  for (let i = 0; i < 50; i++) room.broadcast(null, enc(`later ${i} ${"z".repeat(200)}\n`));
  room.seal();
  t.equal(dec(kept), "first\n");
});

t.test("a member that joins mid-tick gets only what was said after it joined", async (t) => {
  const f = fakeReactor();
  const room = new Room(f.reactor);
  const [a, b] = ["a", "b"].map(f.member);
  room.join(a!);
  room.broadcast(null, enc("before\n"));
  room.join(b!);
  room.broadcast(null, enc("after\n"));
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
    t.equal(room.broadcast(a!, enc("x\n")), 2, "a member's line");
    t.equal(room.broadcast(null, enc("notice\n")), 3, "a notice");
    t.equal(room.broadcast(outsider!, enc("about outsider\n")), 3, "a notice about a client not in the room");
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

t.test("web members get the events batch, sender included; TCP members the lines, sender excluded", async (t) => {
  const f = fakeReactor();
  const room = new Room(f.reactor);
  const [a, b] = ["a", "b"].map(f.member);
  const [w, v] = ["w", "v"].map(f.webMember);
  for (const m of [a!, w!, b!]) room.join(m);
  t.equal(room.eventReaders, 1, "one web member");
  room.broadcast(a!, enc("<a> hi\n"));
  room.broadcastEvent(enc('{"x":"a hi"}\n'));
  room.join(v!); // joins mid-tick: only what comes after
  room.broadcast(null, enc("notice\n"));
  room.broadcastEvent(enc('{"x":"notice"}\n'));
  room.sendTo(w!, enc('{"k":"reply"}\n'));
  room.broadcastEvent(enc('{"x":"last"}\n'));
  room.seal();
  t.equal(f.got(a!), "notice\n", "a: not its own line, no events");
  t.equal(f.got(b!), "<a> hi\nnotice\n", "b: the lines");
  t.equal(f.got(w!), '{"x":"a hi"}\n{"x":"notice"}\n{"k":"reply"}\n{"x":"last"}\n', "w: every event, its reply in order");
  t.equal(f.got(v!), '{"x":"notice"}\n{"x":"last"}\n', "v: the events after it joined");
  room.leave(w!);
  room.leave(v!);
  t.equal(room.eventReaders, 0, "none left");
  f.reset();
  room.broadcastEvent(enc('{"x":"nobody"}\n'));
  room.broadcast(null, enc("still\n"));
  room.seal();
  t.equal(f.got(a!), "still\n", "with no web member, events cost nothing and reach no one");
});
