// The load generator's WebSocket client (bench/ws.ts): the upgrade, masked
// client frames, and the reader that strips frame headers and finds
// benchmark messages and join events in JSON events, however the stream is
// cut into chunks.
import t from "tap";
import { formatMessage, type Parsed } from "../../bench/message.ts";
import {
  acceptFor,
  checkUpgradeResponse,
  clientFrame,
  closeFrame,
  OP,
  parseWsUrl,
  upgradeRequest,
  WsReader,
  wsWire,
  type WsEvents,
} from "../../bench/ws.ts";

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

t.test("ws:// URLs: host, port and path", async (t) => {
  t.same(parseWsUrl("ws://127.0.0.1:8080/ws"), { host: "127.0.0.1", port: 8080, path: "/ws" });
  t.same(parseWsUrl("ws://[::1]:81/a/b"), { host: "::1", port: 81, path: "/a/b" });
  t.same(parseWsUrl("ws://localhost:9"), { host: "localhost", port: 9, path: "/" });
  for (const bad of ["ws://localhost/ws", "ws://h:0/ws", "ws://h:70000/", "wss://h:1/ws", "http://h:1/ws", "h:1"])
    t.equal(parseWsUrl(bad), null, bad);
});

t.test("the upgrade: the RFC's accept value, a request with the page's origin, the answer checked", async (t) => {
  t.equal(acceptFor(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455 section 1.3's example");
  const request = upgradeRequest({ host: "127.0.0.1", port: 8080, path: "/ws" }, KEY);
  t.match(request, /^GET \/ws HTTP\/1\.1\r\n/);
  t.match(request, /\r\nHost: 127\.0\.0\.1:8080\r\n/);
  t.match(request, /\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n/);
  t.match(request, new RegExp(`\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n`));
  t.match(request, /\r\nOrigin: http:\/\/127\.0\.0\.1:8080\r\n\r\n$/);
  t.match(upgradeRequest({ host: "::1", port: 81, path: "/" }, KEY), /\r\nHost: \[::1\]:81\r\n[\s\S]*Origin: http:\/\/\[::1\]:81\r\n/);
  const ok = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nsec-websocket-accept: ${acceptFor(KEY)}`;
  t.equal(checkUpgradeResponse(ok, KEY), null);
  t.equal(checkUpgradeResponse("HTTP/1.1 403 Forbidden\r\nContent-Length: 0", KEY), "upgrade refused: HTTP/1.1 403 Forbidden");
  t.equal(checkUpgradeResponse(ok.replace(acceptFor(KEY), "nope"), KEY), "upgrade answered with a wrong Sec-WebSocket-Accept");
});

/** A client frame decoded as a server reads it: FIN, opcode, mask bit, and the unmasked payload. */
function decodeClientFrame(bytes: Buffer): { fin: boolean; op: number; masked: boolean; payload: string; size: number } {
  const short = bytes[1]! & 0x7f;
  const head = short === 126 ? 4 : short === 127 ? 10 : 2;
  const length = short === 126 ? bytes.readUInt16BE(2) : short === 127 ? Number(bytes.readBigUInt64BE(2)) : short;
  const key = bytes.subarray(head, head + 4);
  const payload = Buffer.from(bytes.subarray(head + 4, head + 4 + length));
  for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
  return {
    fin: (bytes[0]! & 0x80) !== 0,
    op: bytes[0]! & 0x0f,
    masked: (bytes[1]! & 0x80) !== 0,
    payload: payload.toString("latin1"),
    size: head + 4 + length,
  };
}

t.test("client frames: masked, every length form, a line without its newline", async (t) => {
  for (const n of [0, 1, 125, 126, 65535, 65536, 70000]) {
    const payload = "ab~\n".repeat(Math.ceil(n / 4)).slice(0, n);
    const frame = Buffer.from(clientFrame(OP.TEXT, payload), "latin1");
    const decoded = decodeClientFrame(frame);
    t.same(
      [decoded.fin, decoded.op, decoded.masked, decoded.payload === payload, decoded.size],
      [true, OP.TEXT, true, true, frame.length],
      `${n} bytes`,
    );
  }
  const wire = wsWire({ host: "127.0.0.1", port: 1, path: "/ws" });
  const line = formatMessage(1, 2, 3, 4, 64);
  t.equal(decodeClientFrame(Buffer.from(wire.frame(line), "latin1")).payload, line.slice(0, -1), "one frame per line, no newline");
  const close = decodeClientFrame(Buffer.from(closeFrame(), "latin1"));
  t.same([close.op, close.payload], [OP.CLOSE, "\x03\xe8"], "close 1000");
  t.equal(wire.notices(0, 3) + wire.notices(3, 2), wire.notices(0, 5), "joining in steps adds up");
  t.equal(wire.notices(0, 2), 1, "the first joiner hears the second's join; nobody hears its own");
});

/** A server frame (never masked). */
function serverFrame(op: number, payload: Buffer | string, fin = true): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  const n = body.length;
  const head = n < 126 ? Buffer.from([0, n]) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (n >= 126 && n < 65536) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else if (n >= 65536) {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  head[0] = (fin ? 0x80 : 0) | op;
  return Buffer.concat([head, body]);
}

const event = (k: string, x: string, id = 7): string =>
  `${JSON.stringify({ k, id: `lq3k9z0a:${id}`, t: 1764072000000, s: "127.0.0.1:5555", x })}\n`;

/** A reader with everything it reports recorded. */
function recorder() {
  const seen: string[] = [];
  const said: string[] = [];
  const out: Parsed = { phase: 0, sender: 0, seq: 0, tUs: 0 };
  const events: WsEvents = {
    upgraded: () => said.push("upgraded"),
    refused: (why) => said.push(`refused: ${why}`),
    ping: (payload) => said.push(`ping ${payload}`),
    closed: (code, reason) => said.push(`closed ${code} ${reason}`),
  };
  const reader = new WsReader(KEY, out, (m) => void seen.push(`${m.phase}/${m.sender}/${m.seq}`), events);
  return { reader, seen, said };
}

const UPGRADED = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(KEY)}\r\n\r\n`;

t.test("the reader finds every message and join once, wherever the stream is cut", async (t) => {
  const msg = (sender: number, seq: number, size = 64): string => event("line", formatMessage(1, sender, seq, 5, size).slice(0, -1));
  const stream = Buffer.concat([
    Buffer.from(UPGRADED),
    serverFrame(OP.TEXT, event("presence-like", "In the room: nobody else yet")), // not a join
    serverFrame(OP.TEXT, event("join", "Client (127.0.0.1, 5555) connected")),
    serverFrame(OP.TEXT, msg(0, 0)), // one event per frame (bun-publish)
    serverFrame(OP.TEXT, msg(1, 0) + event("join", "bob connected") + msg(0, 1, 200)), // a tick's worth (ours), 16-bit length
    serverFrame(OP.PING, "hb"),
    serverFrame(OP.TEXT, event("line", "~x not ~b a message, ~b 1")), // tildes that are no message
    serverFrame(OP.TEXT, msg(2, 0).slice(0, 40), false), // a fragmented message
    serverFrame(OP.CONTINUATION, msg(2, 0).slice(40)),
    serverFrame(OP.BINARY, msg(9, 9)), // not text: skipped
    serverFrame(OP.TEXT, msg(3, 0, 70_000)), // 64-bit length
    serverFrame(OP.CLOSE, Buffer.concat([Buffer.from([0x03, 0xf1]), Buffer.from("too slow")])),
    serverFrame(OP.TEXT, msg(4, 0)), // after the close: ignored
  ]);
  const want = ["1/0/0", "1/1/0", "1/0/1", "1/2/0", "1/3/0"];
  const said = ["upgraded", "ping hb", "closed 1009 too slow"];
  const expected = JSON.stringify([want, said, 2]);
  let wrong: string | null = null;
  for (let cut = 0; cut <= stream.length && wrong === null; cut += cut < 1000 ? 1 : 997) {
    const r = recorder();
    let joins = 0;
    for (const part of [stream.subarray(0, cut), stream.subarray(cut)]) joins += r.reader.feed(Buffer.from(part), true);
    const got = JSON.stringify([r.seen, r.said, joins]);
    if (got !== expected) wrong = `cut at ${cut}: ${got}`;
  }
  t.equal(wrong, null, "cut in two anywhere (every byte of the first 1000, then every 997th)");
  // and byte by byte, the hardest cut of all
  const r = recorder();
  let joins = 0;
  for (let i = 0; i < stream.length; i++) joins += r.reader.feed(stream.subarray(i, i + 1), true);
  t.same([r.seen, r.said, joins], [want, said, 2], "one byte at a time");
  const quiet = recorder();
  t.equal(quiet.reader.feed(stream, false), 0, "joins are counted only when asked");
  t.same(quiet.seen, want);
});

t.test("the reader reports a refused upgrade and a protocol error, then reads nothing more", async (t) => {
  const refused = recorder();
  refused.reader.feed(Buffer.from("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"), true);
  refused.reader.feed(serverFrame(OP.TEXT, event("join", "x connected")), true);
  t.same(refused.said, ["refused: upgrade refused: HTTP/1.1 403 Forbidden"]);
  const masked = recorder();
  const frame = serverFrame(OP.TEXT, event("join", "x connected"));
  frame[1]! |= 0x80;
  t.equal(masked.reader.feed(Buffer.concat([Buffer.from(UPGRADED), frame]), true), 0);
  t.same(masked.said, ["upgraded", "closed 1002 the server masked a frame"]);
});
