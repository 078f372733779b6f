// The cluster relay in-process, on the node:net backend and a real
// redis-server, without a chat server: its Redis links are `Service`s that a
// few lines of dispatch serve, its sink records what it is handed, and the
// test ends the relay's tick as the server's before-sleep hook would. A
// proxy between a relay and Redis stalls or cuts its links on demand.
import t from "tap";
import { NodeBackend } from "../../lib/backends/node.ts";
import { EntryKind, type EntryContent, type LogEntry } from "../../lib/chat/entry.ts";
import { MemberName } from "../../lib/chat/naming.ts";
import { LineCodec } from "../../lib/codecs/line.ts";
import { ByteBuilder } from "../../lib/bytes.ts";
import { Reactor, type ReadySets } from "../../lib/reactor/reactor.ts";
import type { Service } from "../../lib/reactor/service.ts";
import { ClusterRelay, type ClusterOptions } from "../../lib/cluster/relay.ts";
import { parseRedisUrl } from "../../lib/cluster/url.ts";
import { RedisServer, redisMissing } from "../support/redis.ts";
import { Waiters } from "../support/waiters.ts";
import { StallProxy } from "./support/proxy.ts";
import { RedisClient } from "./support/redis-client.ts";

const skip = redisMissing();
const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

function serveServices(ready: ReadySets<Service>): void {
  for (const key of ready.readable) if (key.valid) key.data.onReadable();
  for (const key of ready.errored) if (key.valid) key.data.onErrored();
}

/**
 * What a sink was handed, in order. An entry as data (`who`: its sender as
 * named across the cluster, `node`: where it came from) and `line`, as this
 * node's TCP clients are told it.
 */
type SinkEvent =
  | { k: "entry"; seq: number; kind: EntryKind; who: string; node: string; text: string; line: string; local: boolean; shown: boolean }
  | { k: "reset"; epoch: string; lastSeq: number }
  | { k: "missed"; count: number };

/** One node: a reactor of its own, a relay on it, and a sink that records. */
async function startNode(port: number, node: string, more: Partial<ClusterOptions> = {}, waitUp = true) {
  const reactor = new Reactor<Service>(new NodeBackend());
  const logs: string[] = [];
  const events: SinkEvent[] = [];
  const waiters = new Waiters();
  const relay = new ClusterRelay(reactor, {
    target: parseRedisUrl(`redis://127.0.0.1:${port}`),
    room: "relay-test",
    node,
    retention: 1000,
    load: 100,
    queueBytes: 16 << 20,
    timing: { retryMs: 20, maxRetryMs: 100 },
    log: (line) => {
      logs.push(line);
      waiters.wake();
    },
    ...more,
  });
  reactor.setBeforeSleep(() => {
    relay.endTick();
    // Every tick: state the sink does not report (the writer's replies, counted in
    // relay.stats) changes in a tick too, and a waiting condition may hold now.
    waiters.wake();
  });
  const running = reactor.run(serveServices);
  const codec = new LineCodec(node);
  relay.start({
    entry: (e: LogEntry, local, shown) => {
      const out = new ByteBuilder();
      codec.entry(out, e, null, false);
      const line = text(out.take()).slice(0, -1);
      const who = e.sender?.shown(true) ?? "";
      events.push({ k: "entry", seq: e.seq, kind: e.kind, who, node: e.sender?.node ?? "", text: text(e.text), line, local, shown });
      waiters.wake();
    },
    reset: (epoch, lastSeq) => events.push({ k: "reset", epoch, lastSeq }),
    missed: (count) => events.push({ k: "missed", count }),
  });
  const entries = () => events.filter((e) => e.k === "entry");
  const until = (test: () => boolean, what: string) => waiters.until(test, what, 15_000, () => `; log: ${logs.join(" | ")}`);
  /** Append lines as one tick (the test is outside the reactor's tick: end it as the hook would). */
  const say = (...lines: string[]): boolean[] => {
    const accepted = lines.map((l) => relay.append(line(l, node)));
    relay.endTick();
    return accepted;
  };
  const stop = async () => {
    relay.close();
    reactor.stop();
    await running;
    reactor.close();
  };
  if (waitUp) await until(() => logs.some((l) => l.startsWith("Cluster link up")), "the link up");
  return { relay, logs, events, entries, until, say, stop };
}

/** A line from an address-named client of the node `node`. */
const line = (t: string, node: string): EntryContent => ({
  time: 1,
  kind: EntryKind.LINE,
  sender: new MemberName(null, "127.0.0.1", 4000, node),
  text: enc(t),
  newName: "",
});

/** The epoch the room's meta hash in Redis holds. */
async function redisEpoch(port: number): Promise<string> {
  const redis = await RedisClient.connect(port);
  try {
    const epoch = await redis.ok("HGET", "select-chat:relay-test:meta", "epoch");
    return Buffer.from(epoch as Uint8Array).toString("latin1");
  } finally {
    redis.close();
  }
}

t.test("every node gets every entry, its own included, numbered in one order", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const a = await startNode(redis.port, "na");
  const b = await startNode(redis.port, "nb");
  t.teardown(() => Promise.all([a.stop(), b.stop()]));

  for (let i = 0; i < 20; i++) {
    t.same(a.say(`a${i}`, `a${i}'`), [true, true], "the link is up: the entry will come back numbered");
    b.say(`b${i}`);
  }
  for (const n of [a, b]) await n.until(() => n.entries().length === 60, "60 entries");
  const order = (n: typeof a) => n.entries().map((e) => e.k === "entry" && `${e.seq} ${e.who} ${e.text}`);
  t.same(order(a), order(b), "both nodes see the same numbers in the same order");
  t.same(
    a.entries().map((e) => e.k === "entry" && e.seq),
    Array.from({ length: 60 }, (_, i) => i + 1),
    "contiguous from 1",
  );
  const aLines = b.entries().filter((e) => e.k === "entry" && e.node === "na");
  t.equal(aLines.length, 40, "a's address-named client carries a's node name");
  t.ok(
    a.entries().every((e) => e.k === "entry" && e.local === (e.node === "na") && !e.shown),
    "a's own are local, none shown yet",
  );
  t.ok(
    b.entries().every((e) => e.k === "entry" && e.local === (e.node === "nb")),
    "b's own are local",
  );
  t.match(a.entries()[0], { kind: EntryKind.LINE, who: "127.0.0.1:4000@na", node: "na", text: "a0", line: "<127.0.0.1:4000> a0" });
  t.match(b.entries()[0], { who: "127.0.0.1:4000@na", line: "<127.0.0.1:4000@na> a0" }, "b's clients are told a's node");
  const epoch = await redisEpoch(redis.port);
  t.same(a.events[0], { k: "reset", epoch, lastSeq: 0 }, "the sink first learns the stream's epoch");
  t.same(b.events[0], { k: "reset", epoch, lastSeq: 0 }, "one epoch for all");
  // The writer's replies may come after the reader has the entries (two connections).
  await a.until(() => a.relay.stats.appended >= 40, "a's appends answered");
  t.equal(a.relay.stats.appended, 40);
  t.equal(a.relay.stats.remote, 20);

  // A node that starts later has the newest entries as history, not live lines.
  const c = await startNode(redis.port, "nc", { load: 5 });
  t.teardown(() => c.stop());
  t.same(c.events[0], { k: "reset", epoch, lastSeq: 55 });
  t.same(
    c.entries().map((e) => e.k === "entry" && [e.seq, e.shown]),
    [56, 57, 58, 59, 60].map((s) => [s, true]),
    "the last 5, shown to nobody",
  );
  t.match(c.logs.join("\n"), /loaded 5 entries of the room's history/);
  b.say("live");
  await c.until(() => c.entries().length === 6, "the live entry");
  t.match(c.entries()[5], { seq: 61, who: "127.0.0.1:4000@nb", node: "nb", line: "<127.0.0.1:4000@nb> live", local: false, shown: false });
});

t.test("link down: entries wait and come back marked shown; a lost reply's batch is not appended twice", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const proxy = await StallProxy.start(redis.port);
  t.teardown(() => proxy.close());
  const a = await startNode(proxy.port, "na");
  const b = await startNode(redis.port, "nb");
  t.teardown(() => Promise.all([a.stop(), b.stop()]));

  // Redis runs a's append, but its reply never reaches a...
  proxy.stallReplies();
  t.same(a.say("sent once"), [true]);
  await b.until(() => b.entries().length === 1, "b has it");
  // ...and a's links are lost: a sends the batch again on its next connection.
  proxy.cut();
  await a.until(() => a.logs.some((l) => l.startsWith("Cluster link down")), "a's link down");
  t.same(a.say("while down 1", "while down 2"), [false, false], "the link is down: the server shows them now, unnumbered");
  proxy.restore();
  await a.until(() => a.logs.some((l) => l.startsWith("Cluster link back")), "a's link back");
  await b.until(() => b.entries().length === 3, "b has all three");
  await a.until(() => a.entries().length === 3, "a has all three back");

  t.same(
    b.entries().map((e) => e.k === "entry" && `${e.seq} ${e.line}`),
    ["1 <127.0.0.1:4000@na> sent once", "2 <127.0.0.1:4000@na> while down 1", "3 <127.0.0.1:4000@na> while down 2"],
    "each once, in order",
  );
  t.same(
    a.entries().map((e) => e.k === "entry" && [e.seq, e.local, e.shown]),
    [
      [1, true, false],
      [2, true, true],
      [3, true, true],
    ],
    "the ones queued while down come back as already shown",
  );
  // The first reply was lost; the resend's says it appended nothing of that batch.
  // The writer's replies come on its own connection, maybe after the reader has
  // the entries: wait for them (a resend appended again would make it 3).
  await a.until(() => a.relay.stats.appended >= 2, "a's appends answered");
  t.equal(a.relay.stats.appended, 2, "the resent batch was skipped by the script");
  t.match(a.logs.join("\n"), /Cluster link back after [\d.]+ s \(entries queued meanwhile: 2, not relayed: 0\)/);
  t.same((await RedisClient.connect(redis.port).then(async (r) => [await r.ok("XLEN", a.relay.keys.log), r.close()]))[0], 3);
});

t.test("a reader that fell behind the retention is told how many entries it missed", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const admin = await RedisClient.connect(redis.port);
  t.teardown(() => admin.close());
  // Small stream nodes, so that MAXLEN ~ 10 trims near 10.
  await admin.ok("CONFIG", "SET", "stream-node-max-entries", "4");
  const proxy = await StallProxy.start(redis.port);
  t.teardown(() => proxy.close());
  const a = await startNode(redis.port, "na", { retention: 10 });
  const b = await startNode(proxy.port, "nb", { retention: 10 });
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  a.say("before");
  await b.until(() => b.entries().length === 1, "b in step");

  proxy.stall(); // b's reader (and writer) hear nothing from Redis now
  // In ticks of 5, each read by a before the next: a keeps up, b does not.
  for (let i = 0; i < 100; i += 5) {
    a.say(...[0, 1, 2, 3, 4].map((j) => `n${i + j}`));
    await a.until(() => a.entries().length === i + 6, `a has ${i + 6}`);
  }
  t.equal(a.relay.stats.missed, 0, "a missed nothing");
  proxy.restore();
  await b.until(() => b.entries().at(-1)?.seq === 101, "b read up to the newest");

  const got = b.entries().map((e) => e.k === "entry" && e.seq) as number[];
  const missed = b.events.filter((e) => e.k === "missed").reduce((n, e) => n + (e.k === "missed" ? e.count : 0), 0);
  t.ok(missed > 0, `b missed some (${missed})`);
  t.equal(got.length + missed, 101, "what b got and what it missed add up to everything");
  t.ok(
    got.every((s, i) => i === 0 || s > got[i - 1]!),
    "in order",
  );
  t.equal(b.relay.stats.missed, missed);
  const said = b.logs.filter((l) => / left the stream before this server read them/.test(l));
  t.equal(said.length, 1, "logged once");
  t.match(said[0], new RegExp(`^Cluster: ${missed} entries \\(\\w+:\\d+ to \\w+:\\d+\\) left the stream`));
  // What b still got after the gap is what Redis kept.
  const kept = (await admin.ok("XLEN", a.relay.keys.log)) as number;
  t.ok(got.filter((s) => s > 101 - kept).length >= 1, "the retained tail arrived");
});

t.test("Redis refusing the script (a key of another type) is retried, later each time, until it works", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const admin = await RedisClient.connect(redis.port);
  t.teardown(() => admin.close());
  await admin.ok("SET", "select-chat:relay-test:log", "not a stream");
  const a = await startNode(redis.port, "na", {}, false);
  t.teardown(() => a.stop());
  await a.until(() => a.logs.some((l) => /not up \(read: redis refused the sync: WRONGTYPE/.test(l)), "the refusal logged");
  t.same(a.say("meanwhile"), [false], "not up: the server shows it now");
  await admin.ok("DEL", "select-chat:relay-test:log");
  await a.until(() => a.entries().length === 1, "the entry back once the key is fixed");
  t.match(a.entries()[0], { seq: 1, who: "127.0.0.1:4000@na", node: "na", text: "meanwhile", local: true, shown: true });
  t.equal(a.logs.filter((l) => /refused/.test(l)).length, 1, "the refusal is logged once, not on every retry");
});
