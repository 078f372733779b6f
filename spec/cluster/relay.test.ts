// The cluster relay in-process, on the node:net backend and a real
// redis-server, without a chat server: its Redis links are `Service`s that a
// few lines of dispatch serve, its sink records what it is handed, and the
// test ends the relay's tick as the server's before-sleep hook would. A
// proxy between a relay and Redis stalls or cuts its links on demand.
// One relay serves all of a node's rooms (a stream each) and its inbox of
// private messages: rooms kept apart, a room opened while the reader waits
// in XREAD, a room closed, private messages across a reader's reconnection.
import t from "tap";
import { NodeBackend } from "../../lib/backends/node.ts";
import { EntryKind, type EntryContent, type LogEntry, type PrivateMessage } from "../../lib/chat/entry.ts";
import { MemberName } from "../../lib/chat/naming.ts";
import { LineCodec } from "../../lib/codecs/line.ts";
import { ByteBuilder } from "../../lib/bytes.ts";
import { Reactor, type ReadySets } from "../../lib/reactor/reactor.ts";
import type { Service } from "../../lib/reactor/service.ts";
import { ClusterRelay, type ClusterOptions } from "../../lib/cluster/stream-relay.ts";
import { inboxKey, parseRedisUrl, roomKeys } from "../../lib/cluster/url.ts";
import { RedisServer, redisMissing } from "../support/redis.ts";
import { Waiters } from "../support/waiters.ts";
import { StallProxy } from "./support/proxy.ts";
import { RedisClient, readStream } from "./support/redis-client.ts";

const skip = redisMissing();
const enc = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

function serveServices(ready: ReadySets<Service>): void {
  for (const key of ready.readable) if (key.valid) key.data.onReadable();
  for (const key of ready.errored) if (key.valid) key.data.onErrored();
}

/** The room the tests that need one use. */
const ROOM = "relay-test";

/**
 * What a sink was handed, in order. An entry as data (`who`: its sender as
 * named across the cluster, `node`: where it came from) and `line`, as this
 * node's TCP clients are told it; a private message with its names as
 * named across the cluster.
 */
type EntryEvent = {
  k: "entry";
  room: string;
  seq: number;
  kind: EntryKind;
  who: string;
  node: string;
  text: string;
  line: string;
  local: boolean;
  shown: boolean;
};
type PrivateEvent = { k: "private"; time: number; from: string; to: string; action: boolean; text: string };
type SinkEvent =
  | EntryEvent
  | { k: "reset"; room: string; epoch: string; lastSeq: number }
  | { k: "missed"; room: string; count: number }
  | { k: "opened"; room: string }
  | PrivateEvent;

/**
 * One node: a reactor of its own, a relay on it, and a sink that records.
 * `rooms` are opened before the relay starts, as the server opens its
 * default room.
 */
async function startNode(port: number, node: string, more: Partial<ClusterOptions> = {}, waitUp = true, rooms = [ROOM]) {
  const reactor = new Reactor<Service>(new NodeBackend());
  const logs: string[] = [];
  const events: SinkEvent[] = [];
  const waiters = new Waiters();
  const relay = new ClusterRelay(reactor, {
    target: parseRedisUrl(`redis://127.0.0.1:${port}`),
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
  for (const room of rooms) relay.openRoom(room);
  relay.start({
    entry: (room: string, e: LogEntry, local, shown) => {
      const out = new ByteBuilder();
      codec.entry(out, room, e, null, false);
      const line = text(out.take()).slice(0, -1);
      const who = e.sender?.shown(true) ?? "";
      events.push({ k: "entry", room, seq: e.seq, kind: e.kind, who, node: e.sender?.node ?? "", text: text(e.text), line, local, shown });
      waiters.wake();
    },
    reset: (room, epoch, lastSeq) => {
      events.push({ k: "reset", room, epoch, lastSeq });
      waiters.wake();
    },
    missed: (room, count) => {
      events.push({ k: "missed", room, count });
      waiters.wake();
    },
    opened: (room) => {
      events.push({ k: "opened", room });
      waiters.wake();
    },
    private: (m: PrivateMessage) => {
      events.push({ k: "private", time: m.time, from: m.from.shown(true), to: m.to.shown(true), action: m.action, text: text(m.text) });
      waiters.wake();
    },
  });
  /** The entries handed to the sink, of `room` or of every room. */
  const entries = (room?: string) => events.filter((e): e is EntryEvent => e.k === "entry" && (room === undefined || e.room === room));
  const privates = () => events.filter((e): e is PrivateEvent => e.k === "private");
  const until = (test: () => boolean, what: string) => waiters.until(test, what, 15_000, () => `; log: ${logs.join(" | ")}`);
  /** Append `[room, text]` lines as one tick (the test is outside the reactor's tick: end it as the hook would). */
  const tick = (...lines: [string, string][]): boolean[] => {
    const accepted = lines.map(([room, l]) => relay.append(room, line(l, node)));
    relay.endTick();
    return accepted;
  };
  /** Append lines to ROOM as one tick. */
  const say = (...lines: string[]): boolean[] => tick(...lines.map((l): [string, string] => [ROOM, l]));
  const stop = async () => {
    relay.close();
    reactor.stop();
    await running;
    reactor.close();
  };
  if (waitUp) await until(() => logs.some((l) => l.startsWith("Cluster link up")), "the link up");
  return { relay, logs, events, entries, privates, until, tick, say, stop };
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
async function redisEpoch(port: number, room = ROOM): Promise<string> {
  const redis = await RedisClient.connect(port);
  try {
    const epoch = await redis.ok("HGET", roomKeys(room).meta, "epoch");
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
  const order = (n: typeof a) => n.entries().map((e) => `${e.seq} ${e.who} ${e.text}`);
  t.same(order(a), order(b), "both nodes see the same numbers in the same order");
  t.same(
    a.entries().map((e) => e.seq),
    Array.from({ length: 60 }, (_, i) => i + 1),
    "contiguous from 1",
  );
  const aLines = b.entries().filter((e) => e.node === "na");
  t.equal(aLines.length, 40, "a's address-named client carries a's node name");
  t.ok(
    a.entries().every((e) => e.local === (e.node === "na") && !e.shown),
    "a's own are local, none shown yet",
  );
  t.ok(
    b.entries().every((e) => e.local === (e.node === "nb")),
    "b's own are local",
  );
  t.match(a.entries()[0], { kind: EntryKind.LINE, who: "127.0.0.1:4000@na", node: "na", text: "a0", line: "<127.0.0.1:4000> a0" });
  t.match(b.entries()[0], { who: "127.0.0.1:4000@na", line: "<127.0.0.1:4000@na> a0" }, "b's clients are told a's node");
  const epoch = await redisEpoch(redis.port);
  t.same(a.events[0], { k: "reset", room: ROOM, epoch, lastSeq: 0 }, "the sink first learns the stream's epoch");
  t.same(b.events[0], { k: "reset", room: ROOM, epoch, lastSeq: 0 }, "one epoch for all");
  // The writer's replies may come after the reader has the entries (two connections).
  await a.until(() => a.relay.stats.appended >= 40, "a's appends answered");
  t.equal(a.relay.stats.appended, 40);
  t.equal(a.relay.stats.remote, 20);

  // A node that starts later has the newest entries as history, not live lines.
  const c = await startNode(redis.port, "nc", { load: 5 });
  t.teardown(() => c.stop());
  t.same(c.events[0], { k: "reset", room: ROOM, epoch, lastSeq: 55 });
  t.same(
    c.entries().map((e) => [e.seq, e.shown]),
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
    b.entries().map((e) => `${e.seq} ${e.line}`),
    ["1 <127.0.0.1:4000@na> sent once", "2 <127.0.0.1:4000@na> while down 1", "3 <127.0.0.1:4000@na> while down 2"],
    "each once, in order",
  );
  t.same(
    a.entries().map((e) => [e.seq, e.local, e.shown]),
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
  t.same((await RedisClient.connect(redis.port).then(async (r) => [await r.ok("XLEN", roomKeys(ROOM).log), r.close()]))[0], 3);
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

  const got = b.entries().map((e) => e.seq);
  const missed = b.events.reduce((n, e) => n + (e.k === "missed" && e.room === ROOM ? e.count : 0), 0);
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
  const kept = (await admin.ok("XLEN", roomKeys(ROOM).log)) as number;
  t.ok(got.filter((s) => s > 101 - kept).length >= 1, "the retained tail arrived");
});

t.test("Redis refusing the script (a key of another type) is retried, later each time, until it works", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const admin = await RedisClient.connect(redis.port);
  t.teardown(() => admin.close());
  await admin.ok("SET", roomKeys(ROOM).log, "not a stream");
  const a = await startNode(redis.port, "na", {}, false);
  t.teardown(() => a.stop());
  await a.until(() => a.logs.some((l) => /not up \(read: redis refused the sync: WRONGTYPE/.test(l)), "the refusal logged");
  t.same(a.say("meanwhile"), [false], "not up: the server shows it now");
  await admin.ok("DEL", roomKeys(ROOM).log);
  await a.until(() => a.entries().length === 1, "the entry back once the key is fixed");
  t.match(a.entries()[0], { seq: 1, who: "127.0.0.1:4000@na", node: "na", text: "meanwhile", local: true, shown: true });
  t.equal(a.logs.filter((l) => /refused/.test(l)).length, 1, "the refusal is logged once, not on every retry");
});

/** Where the last of `events` that `test` holds is, or -1. */
function lastIndex(events: readonly SinkEvent[], test: (e: SinkEvent) => boolean): number {
  for (let i = events.length - 1; i >= 0; i--) if (test(events[i]!)) return i;
  return -1;
}

/** `[seq, text]` of a node's entries of `room`, in the order its sink got them. */
const numbered = (n: { entries(room?: string): EntryEvent[] }, room: string) => n.entries(room).map((e) => [e.seq, e.text]);

t.test(
  "a stream per room: a room's entries reach every node's sink for that room only, numbered per room in one order",
  { skip },
  async (t) => {
    const redis = await RedisServer.start();
    t.teardown(() => redis.kill());
    const a = await startNode(redis.port, "na", {}, true, ["a", "b"]);
    const b = await startNode(redis.port, "nb", {}, true, ["a", "b"]);
    t.teardown(() => Promise.all([a.stop(), b.stop()]));

    // Ticks with entries for both rooms (one append call per room), and for one.
    for (let i = 0; i < 10; i++) {
      t.same(a.tick(["a", `na-a${i}`], ["b", `na-b${i}`], ["a", `na-a${i}'`]), [true, true, true]);
      b.tick(["a", `nb-a${i}`]);
      if (i % 2 === 0) b.tick(["b", `nb-b${i}`]);
    }
    for (const n of [a, b]) await n.until(() => n.entries("a").length === 30 && n.entries("b").length === 15, "30 entries of a, 15 of b");

    for (const [n, name] of [
      [a, "na"],
      [b, "nb"],
    ] as const) {
      t.ok(
        n.entries("a").every((e) => /^n[ab]-a\d'?$/.test(e.text)),
        `${name}: only a's entries under a`,
      );
      t.ok(
        n.entries("b").every((e) => /^n[ab]-b\d$/.test(e.text)),
        `${name}: only b's entries under b`,
      );
      t.same(
        n.entries("a").map((e) => e.seq),
        Array.from({ length: 30 }, (_, i) => i + 1),
        `${name}: a numbered 1, 2, 3... on its own`,
      );
      t.same(
        n.entries("b").map((e) => e.seq),
        Array.from({ length: 15 }, (_, i) => i + 1),
        `${name}: b numbered 1, 2, 3... on its own`,
      );
      t.equal(n.entries().length, 45, `${name}: nothing else`);
      t.ok(
        n.entries().every((e) => e.local === (e.node === name) && !e.shown),
        `${name}: its own are local, none shown`,
      );
      t.equal(n.events.filter((e) => e.k === "missed").length, 0, `${name}: nothing missed`);
    }
    t.same(numbered(a, "a"), numbered(b, "a"), "one order of a on both nodes");
    t.same(numbered(a, "b"), numbered(b, "b"), "one order of b on both nodes");
    // Each node's lines of a room in the order it said them.
    t.same(
      a
        .entries("a")
        .filter((e) => e.node === "na")
        .map((e) => e.text),
      Array.from({ length: 10 }, (_, i) => [`na-a${i}`, `na-a${i}'`]).flat(),
    );
    t.same(
      b
        .entries("b")
        .filter((e) => e.node === "nb")
        .map((e) => e.text),
      [0, 2, 4, 6, 8].map((i) => `nb-b${i}`),
    );

    // Each room its epoch, as its meta hash in Redis holds it, told to each sink once.
    for (const room of ["a", "b"]) {
      const epoch = await redisEpoch(redis.port, room);
      for (const n of [a, b])
        t.same(
          n.events.filter((e) => e.k === "reset" && e.room === room),
          [{ k: "reset", room, epoch, lastSeq: 0 }],
        );
    }
    const admin = await RedisClient.connect(redis.port);
    t.teardown(() => admin.close());
    t.same([await admin.ok("XLEN", roomKeys("a").log), await admin.ok("XLEN", roomKeys("b").log)], [30, 15], "a stream per room");
    t.same(
      (await readStream(admin, roomKeys("b").log)).map((e) => e.id),
      Array.from({ length: 15 }, (_, i) => `${i + 1}-0`),
      "the stream's ids are the room's own SEQs",
    );
    await a.until(() => a.relay.stats.appended >= 30, "a's appends answered");
    t.equal(a.relay.stats.appended, 30);
    t.equal(a.relay.stats.remote, 15, "a read back b's 10 + 5");
    t.equal(a.relay.openRooms, 2);

    // A room only one node has open: the other is never handed its entries.
    a.relay.openRoom("c");
    await a.until(() => a.events.some((e) => e.k === "opened" && e.room === "c"), "c opened on a");
    a.tick(["c", "only a reads c"]);
    await a.until(() => a.entries("c").length === 1, "a has c's entry");
    a.tick(["a", "after c"]);
    await b.until(() => b.entries("a").some((e) => e.text === "after c"), "b has the entry of a said after c's");
    t.same(b.entries("c"), [], "b, which has not opened c, is handed none of it");
    t.notOk(
      b.events.some((e) => "room" in e && e.room === "c"),
      "nor anything else of c",
    );
  },
);

/** The CLIENT LIST line of the connection named `name`. */
async function clientLine(admin: RedisClient, name: string): Promise<string> {
  const list = Buffer.from((await admin.ok("CLIENT", "LIST")) as Uint8Array).toString("latin1");
  return list.split("\n").find((l) => l.includes(` name=${name} `)) ?? "";
}

/** Resolves once the connection named `name` waits in a blocking command (Redis' `flags=b`). */
async function untilBlocked(admin: RedisClient, name: string): Promise<void> {
  // Each look is a round trip to Redis: no sleeping, and the read is in Redis within a few.
  for (let looks = 0; looks < 100_000; looks++) if (/ flags=\w*b/.test(await clientLine(admin, name))) return;
  throw new Error(`${name} never blocked: ${await clientLine(admin, name)}`);
}

t.test("a room opened while the readers wait in XREAD is read at once: CLIENT UNBLOCK, not the end of the block", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const admin = await RedisClient.connect(redis.port);
  t.teardown(() => admin.close());
  // A read blocks for 30 s, longer than the test waits for anything (15 s), and
  // the heartbeat does not declare a reader stuck in it dead: only waking the
  // reader can explain a room opened meanwhile being read within the test.
  const slow: Partial<ClusterOptions> = { blockMs: 30_000, timing: { retryMs: 20, maxRetryMs: 100, heartbeatMs: 1000, deadMs: 120_000 } };
  const a = await startNode(redis.port, "na", slow, true, ["a"]);
  const b = await startNode(redis.port, "nb", slow, true, ["a"]);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  a.tick(["a", "before"]);
  for (const n of [a, b]) await n.until(() => n.entries("a").length === 1, "the first entry of a");
  // Both readers are blocked now in an XREAD of a and the inbox only.
  await untilBlocked(admin, "select-chat:na:read");
  await untilBlocked(admin, "select-chat:nb:read");

  for (const n of [a, b]) n.relay.openRoom("late");
  for (const n of [a, b]) await n.until(() => n.events.some((e) => e.k === "opened" && e.room === "late"), "late opened");
  t.same(
    [a, b].map((n) => n.events.filter((e) => e.k === "reset" && e.room === "late").length),
    [1, 1],
    "each learnt late's epoch (its history: none)",
  );
  t.same(a.tick(["late", "first in late"]), [true], "late is read: its entries will come back numbered");
  await b.until(() => b.entries("late").length === 1, "b reads late within the test, not 30 s on");
  await a.until(() => a.entries("late").length === 1, "a reads its own back");
  t.match(
    b.entries("late")[0],
    { room: "late", seq: 1, text: "first in late", node: "na", local: false, shown: false },
    "a live entry, not history",
  );
  t.match(a.entries("late")[0], { room: "late", seq: 1, local: true, shown: false });
  b.tick(["late", "b answers"], ["a", "and in a"]);
  for (const n of [a, b]) await n.until(() => n.entries("late").length === 2 && n.entries("a").length === 2, "b's two");
  t.same(numbered(a, "late"), numbered(b, "late"));
  t.same(numbered(a, "a"), numbered(b, "a"));
  t.same(
    a.entries("a").map((e) => e.text),
    ["before", "and in a"],
    "a goes on being read with late",
  );
  for (const n of [a, b]) {
    t.notOk(
      n.logs.some((l) => /Cluster link down|not up/.test(l)),
      "no reconnection either: the same reader connection all along",
    );
  }
});

t.test("a closed room is read no more; opened again, it comes back with its history", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const a = await startNode(redis.port, "na", {}, true, ["a", "b"]);
  const b = await startNode(redis.port, "nb", {}, true, ["a", "b"]);
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  a.tick(["b", "b before"], ["a", "a before"]);
  await b.until(() => b.entries("b").length === 1 && b.entries("a").length === 1, "b has both");

  b.relay.closeRoom("b");
  t.equal(b.relay.openRooms, 1);
  // b's reader may be waiting in an XREAD that still names b's stream: what it reads of b now goes nowhere.
  for (let i = 1; i <= 3; i++) {
    a.tick(["b", `b after ${i}`]);
    await a.until(() => a.entries("b").length === i + 1, `a has b's entry ${i} back: it is in the stream`);
    // Said after b's entry was in b's stream: a read that has this one would have had b's too.
    a.tick(["a", `a after ${i}`]);
    await b.until(() => b.entries("a").length === i + 1, `b has a's entry ${i}`);
  }
  t.same(numbered(b, "b"), [[1, "b before"]], "nothing of b after closeRoom");
  t.same(
    b.entries("a").map((e) => e.text),
    ["a before", "a after 1", "a after 2", "a after 3"],
    "a's go on",
  );

  // Opened again: the entries said meanwhile are its history, then it is live again.
  b.relay.openRoom("b");
  await b.until(() => b.events.filter((e) => e.k === "opened" && e.room === "b").length === 2, "b opened again");
  const epoch = await redisEpoch(redis.port, "b");
  const since = b.events.slice(lastIndex(b.events, (e) => e.k === "reset" && e.room === "b"));
  t.same(since[0], { k: "reset", room: "b", epoch, lastSeq: 0 }, "the room's log anew, from the stream");
  t.same(
    b
      .entries("b")
      .slice(1)
      .map((e) => [e.seq, e.text, e.shown]),
    [
      [1, "b before", true],
      [2, "b after 1", true],
      [3, "b after 2", true],
      [4, "b after 3", true],
    ],
    "its history, shown to nobody",
  );
  a.tick(["b", "b live"]);
  await b.until(() => b.entries("b").length === 6, "the live entry");
  t.match(b.entries("b")[5], { seq: 5, text: "b live", shown: false, local: false });
  t.equal(b.events.filter((e) => e.k === "missed").length, 0, "nothing missed");
});

t.test(
  "a room closed and opened again at once, with an entry on the way: its log starts from the stream, nothing missed",
  { skip },
  async (t) => {
    const redis = await RedisServer.start();
    t.teardown(() => redis.kill());
    const a = await startNode(redis.port, "na", {}, true, ["b"]);
    const b = await startNode(redis.port, "nb", {}, true, ["b"]);
    t.teardown(() => Promise.all([a.stop(), b.stop()]));
    for (let round = 1; round <= 5; round++) {
      a.tick(["b", `before ${round}`]);
      await b.until(() => b.entries("b").some((e) => e.text === `before ${round}`), `before ${round}`);
      // b's reader waits in an XREAD of b; b closes the room, opens it again, and an entry comes:
      // the read may hand it over before the reopened room is synced.
      const opened = b.events.filter((e) => e.k === "opened").length;
      b.relay.closeRoom("b");
      b.relay.openRoom("b");
      a.tick(["b", `racing ${round}`]);
      await b.until(() => b.events.filter((e) => e.k === "opened").length > opened, "b opened again");
      a.tick(["b", `after ${round}`]);
      await b.until(() => b.entries("b").some((e) => e.text === `after ${round}`), `after ${round}`);
      const last = lastIndex(b.events, (e) => e.k === "reset");
      const since = b.events.slice(last + 1).filter((e): e is EntryEvent => e.k === "entry");
      t.same(
        since.map((e) => e.seq),
        Array.from({ length: 3 * round }, (_, i) => i + 1),
        `round ${round}: after the reopened room's reset, every entry once, in order`,
      );
      t.equal(since.filter((e) => e.text === `racing ${round}`).length, 1, "the racing entry once");
      t.notOk(
        b.events.slice(0, last).some((e) => e.k === "entry" && e.text === `racing ${round}`),
        "and not before the room was synced",
      );
    }
    t.same(
      b.events.filter((e) => e.k === "missed"),
      [],
      "nothing reported missed",
    );
    t.notOk(
      b.logs.some((l) => /left the stream/.test(l)),
      "nor logged",
    );
  },
);

t.test("private messages go to the receiving node's inbox: once each, and across its reader's reconnection", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const admin = await RedisClient.connect(redis.port);
  t.teardown(() => admin.close());
  const proxy = await StallProxy.start(redis.port);
  t.teardown(() => proxy.close());
  const a = await startNode(redis.port, "na");
  const b = await startNode(proxy.port, "nb");
  t.teardown(() => Promise.all([a.stop(), b.stop()]));
  const bob = new MemberName("bob", "127.0.0.1", 4000, "na");
  const ann = new MemberName("ann", "::1", 5000, "nb");
  const pm = (text: string, action = false, from = bob): PrivateMessage => ({ time: 42, from, to: ann, action, text: enc(text) });
  const got = () => b.privates().map((p) => [p.from, p.to, p.action, p.text]);

  t.equal(a.relay.sendPrivate(pm("hi ann")), true);
  t.equal(a.relay.sendPrivate(pm("waves", true, new MemberName(null, "127.0.0.1", 4001, "na"))), true);
  await b.until(() => b.privates().length === 2, "both at b");
  t.same(b.privates()[0], { k: "private", time: 42, from: "bob", to: "ann", action: false, text: "hi ann" });
  t.same(got(), [
    ["bob", "ann", false, "hi ann"],
    ["127.0.0.1:4001@na", "ann", true, "waves"],
  ]);
  t.equal(
    a.relay.sendPrivate({ ...pm("no node"), to: new MemberName("x", "127.0.0.1", 1, "") }),
    false,
    "a member of no node: nowhere to send",
  );
  t.same(Buffer.from((await admin.ok("TYPE", inboxKey("nb"))) as Uint8Array).toString(), "stream", "nb's inbox is a stream of its own");
  t.equal(await admin.ok("XLEN", inboxKey("nb")), 2, "holding the two");

  // b's reader loses its connection; while it is away (the proxy refuses it
  // a new one, b's writer staying up), a message comes to its inbox: it
  // reads it once it is back.
  proxy.refuseNew();
  const [readerId] = await admin.clientIds("select-chat:nb:read");
  t.ok(readerId, "b's reader, by its name");
  await admin.ok("CLIENT", "KILL", "ID", readerId!);
  await b.until(() => b.logs.some((l) => l.startsWith("Cluster link down (read")), "b's reader down");
  const newest = (await admin.ok("XREVRANGE", inboxKey("nb"), "+", "-", "COUNT", "1")) as [Uint8Array, unknown][];
  t.equal(a.relay.sendPrivate(pm("while you were away")), true);
  // Resolves once the message is in b's inbox.
  await admin.ok("XREAD", "BLOCK", "0", "STREAMS", inboxKey("nb"), Buffer.from(newest[0]![0]).toString());
  t.equal(b.privates().length, 2, "b cannot have it yet");
  proxy.restore();
  await b.until(() => b.logs.some((l) => l.startsWith("Cluster link back")), "b's link back");
  await b.until(() => b.privates().length === 3, "the message from while b was away");
  t.equal(a.relay.sendPrivate(pm("and after")), true);
  await b.until(() => b.privates().length === 4, "and one after");
  t.same(
    got().map((g) => g[3]),
    ["hi ann", "waves", "while you were away", "and after"],
    "each once, in the order sent",
  );
  t.same(a.privates(), [], "the sender's own inbox holds none of them");
  // The room goes on as before the reconnection: its entries once each.
  a.say("room after");
  await b.until(() => b.entries().length === 1, "the room's entry");
  t.match(b.entries()[0], { seq: 1, text: "room after" });
  t.equal(a.relay.stats.privateSent, 4);
  t.equal(b.relay.stats.privateReceived, 4);
});
