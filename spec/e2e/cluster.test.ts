// End to end: several `bun bin/server.ts --cluster` processes sharing one
// room through a real redis-server.
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { runBun, startServer, type ServerProcess } from "../support/bun.ts";
import { freePort, RedisServer, redisMissing } from "../support/redis.ts";

const skip = redisMissing();

async function clusterOf(
  t: { teardown(fn: () => unknown): void },
  redisUrl: string,
  n: number,
  extra: string[] = [],
): Promise<ServerProcess[]> {
  const servers: ServerProcess[] = [];
  for (let i = 0; i < n; i++) {
    const s = await startServer(["--cluster", redisUrl, ...extra]);
    t.teardown(() => s.stop());
    servers.push(s);
  }
  return servers;
}

/** Connect a client and wait until `watchers` have seen its join notice. */
async function join(server: ServerProcess, ...watchers: LineClient[]): Promise<LineClient> {
  const c = await LineClient.connect(server.port);
  for (const w of watchers) await w.waitFor(`Client ${c.addr} connected\n`);
  return c;
}

const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

t.test("clients on different servers are one room", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const [s1, s2, s3] = await clusterOf(t, redis.url, 3);
  for (const s of [s1!, s2!, s3!]) await s.waitFor("Cluster link up");

  const a = await join(s1!);
  const b = await join(s2!, a);
  const c = await join(s3!, a, b);
  const a2 = await join(s1!, a, b, c); // a's neighbour on the same server
  t.teardown(() =>
    [a, b, c, a2].forEach((x) => {
      x.reset();
    }),
  );

  // One sender's lines reach every other client, in order, exactly once.
  const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
  a.send(lines.map((l) => `${l}\n`).join(""));
  const last = `${a.from} line 49\n`;
  for (const x of [b, c, a2]) await x.waitFor(last);
  const expected = lines.map((l) => `${a.from} ${l}\n`).join("");
  for (const x of [b, c, a2]) {
    const got = x.received
      .split("\n")
      .filter((l) => l.startsWith(a.from))
      .map((l) => `${l}\n`)
      .join("");
    t.equal(got, expected, "in order, once each");
  }

  // Not back to the sender: a reply published after a's lines reaches a
  // after anything a's own server could have echoed back from Redis.
  b.send("reply from b\n");
  await a.waitFor(`${b.from} reply from b\n`);
  await a2.waitFor(`${b.from} reply from b\n`);
  t.equal(count(a.received, "line 0\n"), 0, "the sender does not get its own lines");
  t.equal(count(a2.received, `${a.from} line 0\n`), 1, "a local neighbour gets a line once, not again via Redis");

  // Notices cross servers with the same wording.
  c.send("q\n");
  for (const x of [a, b, a2]) await x.waitFor(`Client ${c.addr} quits\n`);
  b.reset();
  for (const x of [a, a2]) await x.waitFor(`Client ${b.addr} is offline\n`);

  // A server shutting down tells the other servers' clients its clients are gone.
  const d = await join(s3!, a);
  s3!.child.kill("SIGTERM");
  await d.waitFor("Server is shutting down\n");
  await a.waitFor(`Client ${d.addr} is offline (server shutting down)\n`);
  t.equal((await s3!.exited).code, 0, "the stopping server exits cleanly");
});

t.test("Redis going away: local chat goes on, the link heals when it is back", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const [s1, s2] = await clusterOf(t, redis.url, 2);
  for (const s of [s1!, s2!]) await s.waitFor("Cluster link up");
  const a = await join(s1!);
  const b = await join(s2!, a);
  const a2 = await join(s1!, a, b);
  t.teardown(() =>
    [a, b, a2].forEach((x) => {
      x.reset();
    }),
  );

  await redis.kill();
  const down = /Cluster link down \((publish|subscribe): [^)]+\); local chat goes on/;
  await t.resolves(s1!.waitFor(down), "server 1 logs the lost link");
  await t.resolves(s2!.waitFor(down), "server 2 logs the lost link");
  a.send("local while redis is down\n");
  await t.resolves(a2.waitFor(`${a.from} local while redis is down\n`), "local chat goes on");

  await redis.restart();
  await t.resolves(
    s1!.waitFor(/Cluster link back after [\d.]+ s \(queued lines relayed: 1, not relayed: 0\)/),
    "server 1 is back and relays what it queued",
  );
  await t.resolves(s2!.waitFor("Cluster link back"), "server 2 is back");
  b.send("after the outage\n");
  await t.resolves(a.waitFor(`${b.from} after the outage\n`), "cross-server chat heals");
  await a2.waitFor(`${b.from} after the outage\n`);
  a.send("and back\n");
  await t.resolves(b.waitFor(`${a.from} and back\n`), "in both directions");
});

t.test("a server starts without Redis and joins once Redis is up", { skip }, async (t) => {
  const port = await freePort();
  const [s1] = await clusterOf(t, `redis://127.0.0.1:${port}`, 1);
  await s1!.waitFor(/Cluster link to redis:\/\/127\.0\.0\.1:\d+\/0 not up \(\w+: .*refused.*\); local chat goes on/);
  const a = await join(s1!);
  const a2 = await join(s1!, a);
  t.teardown(() =>
    [a, a2].forEach((x) => {
      x.reset();
    }),
  );
  a.send("no redis needed for this\n");
  await a2.waitFor(`${a.from} no redis needed for this\n`);
  t.notMatch(s1!.output(), /Cluster link up/);

  const redis = await RedisServer.start(port);
  t.teardown(() => redis.kill());
  await t.resolves(s1!.waitFor("Cluster link up"), "the link comes up once Redis does");
});

t.test("a bad --cluster URL is one line and exit status 2", async (t) => {
  const r = await runBun(["bin/server.ts", "--port", "0", "--cluster", "localhost:6379"]);
  t.equal(r.code, 2);
  t.match(r.stderr, /^server: --cluster: "localhost:6379" is not a Redis URL: it must start with redis:\/\//);
  t.notMatch(r.stderr, /\n\s+at /, "no stack trace");
});
