// The cluster's pure parts, in-process on Node: RESP, the Redis URL, backoff.
import t from "tap";
import { backoffMs } from "../../lib/cluster/link.ts";
import { asText, encodeCommand, RespError, RespParser, RespProtocolError, type RespValue } from "../../lib/cluster/resp.ts";
import { describeTarget, parseRedisUrl, RedisUrlError, roomChannel } from "../../lib/cluster/url.ts";

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
  t.equal(roomChannel(2, "lobby"), "select-chat:2:lobby");
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
