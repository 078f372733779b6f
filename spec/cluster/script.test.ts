// The stream script (lib/cluster/script.ts) against a real redis-server,
// called by hand: contiguous numbering across servers, idempotent resends,
// epochs, trimming, and what the stream holds.
import t, { type Test } from "tap";
import { asText, RespError, type RespValue } from "../../lib/cluster/resp.ts";
import { EntryKind } from "../../lib/chat/entry.ts";
import { MemberName } from "../../lib/chat/naming.ts";
import { appendCommand, LOAD_SCRIPT, STREAM_SCRIPT, STREAM_SCRIPT_SHA, scriptReply, syncCommand } from "../../lib/cluster/script.ts";
import { ENTRY_FIELDS, entryArgs, VALUES_PER_ENTRY } from "../../lib/cluster/stream-entry.ts";
import { roomKeys } from "../../lib/cluster/url.ts";
import { RedisServer, redisMissing } from "../support/redis.ts";
import { RedisClient, readStream } from "./support/redis-client.ts";

const skip = redisMissing();

/** Call the script as the relay does, with the relay's own encoding. */
const raw = (redis: RedisClient, bytes: Uint8Array): Promise<RespValue> => redis.sendEncoded(bytes);

const keys = roomKeys("script-test");
const producer = (node: string, run: string) => `${keys.producer}${node}/${run}`;

/** The append call for entries with these refs, each its ref and `entryArgs` as the relay sends them; each entry's text says its node and ref. */
function append(node: string, run: string, refs: number[], epoch = "candidate1", retention = 1000): Uint8Array {
  const args: (string | Uint8Array)[] = [];
  for (const ref of refs) {
    const sender = new MemberName(`${node}-user`, "127.0.0.1", 4000 + ref, node);
    const text = new TextEncoder().encode(`${node}:${ref}`);
    args.push(String(ref), ...entryArgs({ time: 1_700_000_000_000 + ref, kind: EntryKind.LINE, sender, text, newName: "" }));
  }
  return appendCommand(keys, producer(node, run), epoch, retention, node, run, args);
}

async function fresh(t: Test) {
  const server = await RedisServer.start();
  t.teardown(() => server.kill());
  const redis = await RedisClient.connect(server.port);
  t.teardown(() => redis.close());
  t.equal(asText(await redis.ok(...LOAD_SCRIPT)), STREAM_SCRIPT_SHA, "SCRIPT LOAD gives the SHA the relay computed");
  return redis;
}

const lines = async (redis: RedisClient) => (await readStream(redis, keys.log)).map((e) => `${e.id} ${e.f.m}`);

t.test("the script's stride and XADD fields follow ENTRY_FIELDS", async (t) => {
  t.match(STREAM_SCRIPT, `for i = 6, #ARGV, ${1 + VALUES_PER_ENTRY} do`, "per entry: its ref and one value per field");
  t.match(STREAM_SCRIPT, `'n', ARGV[i], ${ENTRY_FIELDS.map((f, j) => `'${f}', ARGV[i + ${j + 1}]`).join(", ")})`);
});

t.test("appends number entries contiguously across servers, as ids SEQ-0", { skip }, async (t) => {
  const redis = await fresh(t);
  t.same(scriptReply(await raw(redis, append("a", "r1", [1, 2]))), { epoch: "candidate1", seq: 2, third: 2 });
  t.same(
    scriptReply(await raw(redis, append("b", "r9", [1], "candidate2"))),
    { epoch: "candidate1", seq: 3, third: 1 },
    "the first epoch stays",
  );
  t.same(scriptReply(await raw(redis, append("a", "r1", [3]))), { epoch: "candidate1", seq: 4, third: 1 });
  t.same(await lines(redis), ["1-0 a:1", "2-0 a:2", "3-0 b:1", "4-0 a:3"]);
  const [first, second] = await readStream(redis, keys.log);
  t.same(
    first!.f,
    { o: "a", r: "r1", n: "1", t: "1700000000001", k: "line", u: "a-user", h: "127.0.0.1", p: "4001", w: "", m: "a:1" },
    "every field",
  );
  t.same(
    second!.f,
    { o: "a", r: "r1", n: "2", t: "1700000000002", k: "line", u: "a-user", h: "127.0.0.1", p: "4002", w: "", m: "a:2" },
    "the second entry of the call: the stride is right",
  );
  const ttl = (await redis.ok("TTL", producer("a", "r1"))) as number;
  t.ok(ttl > 86000 && ttl <= 86400, "the producer's last ref expires after a day");
  t.equal(asText(await redis.ok("GET", producer("a", "r1"))), "3");
});

t.test("a resend appends only what was not appended: nothing twice, nothing lost", { skip }, async (t) => {
  const redis = await fresh(t);
  await raw(redis, append("a", "r1", [1, 2, 3]));
  // The reply to [1, 2, 3] was lost; the server sends it again with what came next.
  t.same(scriptReply(await raw(redis, append("a", "r1", [1, 2, 3]))), { epoch: "candidate1", seq: 3, third: 0 }, "all skipped");
  t.same(
    scriptReply(await raw(redis, append("a", "r1", [2, 3, 4, 5]))),
    { epoch: "candidate1", seq: 5, third: 2 },
    "the new part appended",
  );
  // Another run of the same node name starts its refs again at 1: a separate producer.
  t.same(scriptReply(await raw(redis, append("a", "r2", [1]))), { epoch: "candidate1", seq: 6, third: 1 });
  // Refs that were never sent (dropped while the link was down) leave no hole in the numbering.
  t.same(scriptReply(await raw(redis, append("a", "r1", [9]))), { epoch: "candidate1", seq: 7, third: 1 });
  t.same(await lines(redis), ["1-0 a:1", "2-0 a:2", "3-0 a:3", "4-0 a:4", "5-0 a:5", "6-0 a:1", "7-0 a:9"]);
});

t.test("sync: where the log is, and a new epoch when Redis lost or went back", { skip }, async (t) => {
  const redis = await fresh(t);
  t.same(scriptReply(await raw(redis, syncCommand(keys, "e1", "", 0))), { epoch: "e1", seq: 0, third: 0 }, "an empty Redis: a new epoch");
  await raw(redis, append("a", "r1", [1, 2, 3], "ignored"));
  t.same(scriptReply(await raw(redis, syncCommand(keys, "e2", "e1", 3))), { epoch: "e1", seq: 3, third: 0 }, "in step");
  t.same(scriptReply(await raw(redis, syncCommand(keys, "e2", "e1", 1))), { epoch: "e1", seq: 3, third: 0 }, "behind: same epoch");

  // Redis went back in time (an older copy restored): a reader that has seen
  // SEQ 5 hears of a log at 3. The ids after 3 would be given again: new epoch.
  t.same(scriptReply(await raw(redis, syncCommand(keys, "e3", "e1", 5))), { epoch: "e3", seq: 3, third: 3 }, "new epoch after 3");
  t.same(scriptReply(await raw(redis, append("b", "r1", [1], "ignored"))), { epoch: "e3", seq: 4, third: 1 }, "numbering goes on");

  // Redis lost everything.
  await redis.ok("FLUSHALL");
  t.same(scriptReply(await raw(redis, append("a", "r1", [4], "e4"))), { epoch: "e4", seq: 1, third: 1 }, "new epoch, from 1");

  // Only the meta hash is lost (an operator's DEL): a new epoch, numbering after what the stream holds.
  await redis.ok("DEL", keys.meta);
  t.same(scriptReply(await raw(redis, syncCommand(keys, "e5", "e4", 1))), { epoch: "e5", seq: 1, third: 1 });
  t.same(scriptReply(await raw(redis, append("a", "r1", [5], "e6"))), { epoch: "e5", seq: 2, third: 1 });
  t.same(await lines(redis), ["1-0 a:4", "2-0 a:5"]);
});

t.test("MAXLEN ~ keeps about RETENTION entries, trimming the oldest", { skip }, async (t) => {
  const redis = await fresh(t);
  // Small stream nodes, so that approximate trimming bites at a small length.
  await redis.ok("CONFIG", "SET", "stream-node-max-entries", "4");
  for (let ref = 1; ref <= 100; ref++) await raw(redis, append("a", "r1", [ref], "e", 10));
  const entries = await readStream(redis, keys.log);
  t.ok(entries.length >= 10 && entries.length < 20, `about 10 kept (${entries.length})`);
  t.equal(entries.at(-1)!.id, "100-0", "the newest kept");
  const first = Number(entries[0]!.id.split("-")[0]);
  t.same(
    entries.map((e) => e.id),
    Array.from({ length: 101 - first }, (_, i) => `${first + i}-0`),
    "what is kept is contiguous",
  );
});

t.test("a script Redis does not know is refused, not run (the relay reconnects, which loads it)", { skip }, async (t) => {
  const redis = await fresh(t);
  await redis.ok("SCRIPT", "FLUSH");
  const reply = await raw(redis, append("a", "r1", [1]));
  t.ok(reply instanceof RespError && reply.message.startsWith("NOSCRIPT"), "NOSCRIPT");
  t.equal(scriptReply(reply), null);
  t.same(await lines(redis), []);
});
