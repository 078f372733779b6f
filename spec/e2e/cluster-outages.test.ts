// A cluster of three `bun bin/server.ts --cluster` processes and a real
// redis-server, under steady traffic from clients on every server, while
// Redis is paused or a server's links are killed: every line sent on any
// server reaches every client on every other server exactly once, and all
// receivers see one order (the stream's). And a server that falls behind
// the stream's retention says how many entries it missed.
import t from "tap";
import type { ServerProcess } from "../support/bun.ts";
import { LineClient } from "../support/line-client.ts";
import { RedisServer, redisMissing } from "../support/redis.ts";
import { RedisClient } from "../cluster/support/redis-client.ts";
import { clusterOf, messages, Traffic } from "../cluster/support/room.ts";

const skip = redisMissing();
const LOG = "select-chat:chat:log";

/** `chat_cluster_missed_entries_total` from a server's `--metrics` endpoint. */
async function missedMetric(server: ServerProcess): Promise<number> {
  const base = /Metrics on (http:\S+)metrics/.exec(server.output())![1]!;
  const text = await (await fetch(`${base}metrics`)).text();
  return Number(/^chat_cluster_missed_entries_total (\d+)$/m.exec(text)![1]);
}

/** Resolves after `ms`: the length of an outage, not a wait for something to happen. */
const outage = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test("Redis paused (SIGSTOP) for 8 s under steady traffic: nothing lost, nothing twice, one order", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const servers = await clusterOf(t, redis.url, ["n1", "n2", "n3"]);
  const traffic = await Traffic.start(servers, 2);
  t.teardown(() => traffic.close());
  traffic.flow(40);
  await traffic.moreFromElsewhere(traffic.talkers[0]!, 30);

  redis.signal("SIGSTOP");
  const pausedFor = outage(8000);
  // Local chat goes on meanwhile: a neighbour on the same server hears it.
  const [a, a2] = [traffic.talkers[0]!, traffic.talkers[1]!];
  const before = a2.client.received.length;
  await a2.client.waitUntil((r) => r.slice(before).includes(`> ${a.id}-`), "local lines while Redis is paused");
  // The heartbeat finds the link dead 5-7 s into the pause (a busy machine may take longer: awaited, not timed).
  for (const s of servers) await s.waitFor(/Cluster link down \((append|read): redis did not answer PING/, 30_000);
  await pausedFor;
  redis.signal("SIGCONT");

  for (const s of servers) await s.waitFor(/Cluster link back after [\d.]+ s/, 20_000);
  await traffic.moreFromElsewhere(a, 30);
  await traffic.stop();
  const admin = await RedisClient.connect(redis.port);
  t.teardown(() => admin.close());
  t.same(await traffic.check(admin, LOG), [], `${traffic.sentCount} lines, each to every other client once, in one order`);
  for (const s of servers) t.notMatch(s.output(), /not relayed: [1-9]|left the stream/, "nothing dropped or trimmed");
});

t.test("one server's links killed (CLIENT KILL) under steady traffic: nothing lost, nothing twice, one order", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const servers = await clusterOf(t, redis.url, ["n1", "n2", "n3"]);
  const admin = await RedisClient.connect(redis.port);
  t.teardown(() => admin.close());
  const traffic = await Traffic.start(servers, 2);
  t.teardown(() => traffic.close());
  traffic.flow(20);
  const s2 = servers[1]!;
  const backs = () => (s2.output().match(/Cluster link back/g) ?? []).length;

  for (let round = 1; round <= 4; round++) {
    await traffic.moreFromElsewhere(traffic.talkers[2]!, 20); // s2's first client: traffic flows both ways
    const ids = await admin.clientIds("select-chat:n2:");
    t.equal(ids.length, 2, `round ${round}: n2's two connections (append, read)`);
    // Both in one go (one pipelined write): n2 cannot reconnect one before the other is killed.
    await Promise.all(ids.map((id) => admin.ok("CLIENT", "KILL", "ID", id)));
    await s2.waitUntil(() => backs() >= round, `link back ${round} times`, 20_000);
  }
  await traffic.moreFromElsewhere(traffic.talkers[2]!, 20);
  await traffic.stop();
  t.same(await traffic.check(admin, LOG), [], `${traffic.sentCount} lines, each to every other client once, in one order`);
  t.match(s2.output(), /Cluster link down \((append|read): redis closed the connection\)/);
  for (const s of servers) t.notMatch(s.output(), /not relayed: [1-9]|left the stream/, "nothing dropped or trimmed");
});

t.test("a server that falls behind the retention logs how many entries it missed", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const admin = await RedisClient.connect(redis.port);
  t.teardown(() => admin.close());
  // Small stream nodes, so that MAXLEN ~ 10 trims near 10 entries.
  await admin.ok("CONFIG", "SET", "stream-node-max-entries", "4");
  const [s1, s2, s3] = await clusterOf(t, redis.url, ["n1", "n2", "n3"], ["--cluster-retention", "10", "--metrics", "127.0.0.1:0"]);
  const a = await LineClient.connect(s1!.port);
  const b = await LineClient.connect(s2!.port);
  const c = await LineClient.connect(s3!.port);
  t.teardown(() => [a, b, c].forEach((x) => void x.reset()));
  a.send("before\n");
  for (const x of [b, c]) await x.waitFor("> before\n");

  // s2 stops reading (the whole process is paused); the others go on, one
  // line at a time so that s3 keeps up with the small retention.
  s2!.child.kill("SIGSTOP");
  const lines = Array.from({ length: 60 }, (_, i) => `while away ${i}`);
  for (const line of lines) {
    a.send(`${line}\n`);
    await c.waitFor(`> ${line}\n`);
  }
  s2!.child.kill("SIGCONT");
  await b.waitFor(`> ${lines.at(-1)}\n`);

  // One gap as a rule; should s2 have read between two trims, each is logged with its own range.
  const gapLines = () => [
    ...s2!.output().matchAll(/Cluster: (\d+) entr(?:y|ies) \(\w+:(\d+) to \w+:(\d+)\) left the stream before this server read them/g),
  ];
  const sum = (found: RegExpMatchArray[]) => found.reduce((n, gap) => n + Number(gap[1]), 0);
  // The gap lines come on s2's stdout, which may lag behind b's socket: wait until they add up to what
  // s2 counted (final once b has the last line, as s2 counts a gap before it hands on what follows).
  const counted = await missedMetric(s2!);
  await s2!.waitUntil(() => sum(gapLines()) >= counted, `gaps logged adding up to ${counted}`);
  const gaps = gapLines();
  const missed = sum(gaps);
  const got = messages(b.received)
    .map(([, text]) => text)
    .filter((text) => text.startsWith("while away"));
  t.ok(missed > 0, `s2 missed ${missed}`);
  t.equal(got.length + missed, lines.length, "what s2's client got and what s2 says it missed add up to everything");
  // What it got: the first few (read before the pause took hold), then the newest ones, in order; the
  // lines it did not get are one unbroken run per gap logged, of the size logged.
  const positions = got.map((text) => lines.indexOf(text));
  t.ok(
    positions.every((p, i) => i === 0 || p > positions[i - 1]!),
    "in order, none twice",
  );
  t.equal(positions.at(-1), lines.length - 1, "up to the newest");
  const runs: number[] = [];
  lines.forEach((_, i) => {
    if (positions.includes(i)) return;
    if (i > 0 && !positions.includes(i - 1)) runs[runs.length - 1]!++;
    else runs.push(1);
  });
  t.same(
    runs,
    gaps.map((gap) => Number(gap[1])),
    "the lines missed are the gaps logged",
  );
  for (const gap of gaps) t.equal(Number(gap[3]) - Number(gap[2]) + 1, Number(gap[1]), "the id range logged is the count");
  t.match(c.received, /> while away 59\n/, "s3 kept up");
  t.notMatch(s3!.output(), /left the stream/, "s3 missed nothing");
  t.equal(await missedMetric(s2!), missed, "s2's metrics count what it missed");
  t.equal(await missedMetric(s3!), 0, "s3's count none");
});
