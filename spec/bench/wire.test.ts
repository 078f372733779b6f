// How the generator talks to Redis (bench/wire.ts): PUBLISH frames are RESP
// commands, and the message scanner finds benchmark messages inside RESP3
// push frames and counts subscribe confirmations as a chat server's join
// notices, wherever the stream is cut into chunks.
import t from "tap";
import { formatMessage, scanChunk, type Parsed } from "../../bench/message.ts";
import { lineWire, REDIS_CHANNEL, redisWire } from "../../bench/wire.ts";
import { encodeCommand } from "../../lib/cluster/resp.ts";

const decode = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

t.test("PUBLISH frames are RESP commands", async (t) => {
  const line = formatMessage(2, 5, 7, 123, 64);
  t.equal(redisWire.frame(line), decode(encodeCommand(["PUBLISH", REDIS_CHANNEL, line])));
  t.equal(redisWire.greeting, decode(encodeCommand(["HELLO", "3"])) + decode(encodeCommand(["SUBSCRIBE", REDIS_CHANNEL])));
  t.equal(lineWire.frame(line), line, "a chat server gets the line as it is");
});

t.test("notices: everyone hears a chat joiner; a Redis subscriber hears only its own", async (t) => {
  t.equal(lineWire.notices(0, 1000), (1000 * 999) / 2);
  t.equal(lineWire.notices(0, 3) + lineWire.notices(3, 2), lineWire.notices(0, 5), "joining in steps adds up");
  t.equal(redisWire.notices(4000, 1000), 1000);
});

t.test("messages and subscriptions are found in RESP3 pushes, however the stream is cut", async (t) => {
  const push = (...items: string[]): string => `>${items.length}\r\n${items.map((item) => `$${item.length}\r\n${item}\r\n`).join("")}`;
  const lines = [formatMessage(1, 0, 0, 5, 64), formatMessage(1, 1, 0, 6, 64), formatMessage(1, 0, 1, 7, 80)];
  const stream =
    "%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n" + // HELLO 3's reply (shortened)
    push("subscribe", REDIS_CHANNEL).replace(/\r\n$/, "\r\n:1\r\n") +
    push("message", REDIS_CHANNEL, lines[0]) +
    ":1000\r\n" + // PUBLISH's reply
    push("message", REDIS_CHANNEL, lines[1]) +
    push("message", REDIS_CHANNEL, lines[2]);
  const want = [
    { phase: 1, sender: 0, seq: 0 },
    { phase: 1, sender: 1, seq: 0 },
    { phase: 1, sender: 0, seq: 1 },
  ];
  for (let cut = 0; cut <= stream.length; cut++) {
    const seen: Omit<Parsed, "tUs">[] = [];
    const out: Parsed = { phase: 0, sender: 0, seq: 0, tUs: 0 };
    const onMessage = (message: Parsed): void => void seen.push({ phase: message.phase, sender: message.sender, seq: message.seq });
    let rest = Buffer.alloc(0);
    let joins = 0;
    for (const part of [stream.slice(0, cut), stream.slice(cut)]) {
      const buf = Buffer.concat([rest, Buffer.from(part)]);
      const scan = scanChunk(buf, out, onMessage, true, 64, false, redisWire.notice);
      joins += scan.joins;
      rest = Buffer.from(buf.subarray(scan.consumed));
    }
    if (!t.same(seen, want, `cut at ${cut}: every message once`) || !t.equal(joins, 1, `cut at ${cut}: one subscription`)) break;
  }
});
