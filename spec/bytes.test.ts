// lib/bytes.ts: the byte helpers every layer shares.
import t from "tap";
import { ByteBuilder, ChunkQueue, bytesEqual, concat, startsWith } from "../lib/bytes.ts";
import { JOIN_MAX_BYTES, OutboundQueue } from "../lib/reactor/outbound.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

t.test("concat, startsWith, bytesEqual", async (t) => {
  t.equal(dec(concat([enc("ab"), enc(""), enc("cd")])), "abcd");
  t.ok(startsWith(enc("hello"), enc("he")));
  t.notOk(startsWith(enc("he"), enc("hello")));
  t.ok(bytesEqual(enc("x"), enc("x")));
  t.notOk(bytesEqual(enc("x"), enc("xy")));
});

t.test("ChunkQueue keeps chunks by reference and takes them in order", async (t) => {
  const q = new ChunkQueue();
  const a = enc("abc");
  q.push(a);
  q.push(enc(""));
  t.equal(q.chunks, 1, "an empty chunk is not queued");
  const all = q.takeAll();
  t.equal(all, a, "a single chunk comes back as itself, not a copy");
  t.ok(q.empty);
  q.push(enc("ab"));
  q.push(enc("cd"));
  q.push(enc("ef"));
  t.equal(dec(q.take(3)), "abc", "take() across chunks");
  t.equal(q.bytes, 3);
  t.equal(dec(q.shift()!), "d");
  q.unshift(enc("D"));
  t.equal(dec(q.takeAll()), "Def");
  t.equal(q.shift(), null);
});

t.test("ChunkQueue.take() within the first chunk is a view", async (t) => {
  const q = new ChunkQueue();
  const a = enc("abcdef");
  q.push(a);
  const head = q.take(2);
  t.equal(head.buffer, a.buffer, "no copy");
  t.equal(dec(head), "ab");
  t.equal(dec(q.takeAll()), "cdef");
});

t.test("ByteBuilder hands out views that stay valid across growth and take()", async (t) => {
  const b = new ByteBuilder(4);
  b.append(enc("ab"));
  const v = b.view(0, 2);
  b.append(enc("cdefgh"));
  b.appendByte(0x69);
  t.equal(dec(v), "ab");
  t.equal(dec(b.take()), "abcdefghi");
  t.equal(b.length, 0);
});

t.test("OutboundQueue sends a large queue of several chunks chunk by chunk, without joining", async (t) => {
  const q = new OutboundQueue();
  const big = new Uint8Array(2 * JOIN_MAX_BYTES).fill(1);
  q.push(big.subarray(0, 100));
  q.push(big.subarray(200));
  const seen: Uint8Array[] = [];
  const n = q.flushTo({ send: (b) => (seen.push(b), b.length) });
  t.equal(n, 100 + 2 * JOIN_MAX_BYTES - 200);
  t.equal(seen.length, 2, "two sends");
  t.ok(
    seen.every((s) => s.buffer === big.buffer),
    "each send is a view of the shared buffer",
  );
  t.ok(q.empty);
});

t.test("OutboundQueue keeps the unsent rest in order after a short send of a chunk", async (t) => {
  const q = new OutboundQueue();
  const big = new Uint8Array(2 * JOIN_MAX_BYTES);
  for (let i = 0; i < big.length; i++) big[i] = i & 0xff;
  q.push(big.subarray(0, JOIN_MAX_BYTES));
  q.push(big.subarray(JOIN_MAX_BYTES));
  t.equal(q.flushTo({ send: (b) => Math.min(b.length, 10) }), 10);
  t.equal(q.bytes, big.length - 10);
  const out: number[] = [];
  while (!q.empty) q.flushTo({ send: (b) => (out.push(...b), b.length) });
  t.equal(out.length, big.length - 10);
  t.same(out.slice(0, 3), [10, 11, 12]);
  t.equal(out[out.length - 1], big[big.length - 1]);
});

t.test("OutboundQueue keeps everything when the sink is dead (-1)", async (t) => {
  const q = new OutboundQueue();
  q.push(new Uint8Array(JOIN_MAX_BYTES));
  q.push(new Uint8Array(10));
  t.equal(q.flushTo({ send: () => -1 }), -1);
  t.equal(q.bytes, JOIN_MAX_BYTES + 10);
});
