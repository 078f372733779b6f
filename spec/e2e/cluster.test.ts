// End to end: several `bun bin/server.ts --cluster` processes sharing one
// room through a real redis-server, whose stream is the room's log. (Under
// outages: cluster-outages.test.ts.)
import * as net from "node:net";
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { runBun, type ServerProcess, startServer } from "../support/bun.ts";
import { freePort, RedisServer, redisMissing } from "../support/redis.ts";
import { clusterOf } from "../cluster/support/room.ts";
import { StallProxy } from "../cluster/support/proxy.ts";

const skip = redisMissing();

/** Connect a client and wait until it is in the room and `watchers` have seen it join. */
async function join(server: ServerProcess, ...watchers: LineClient[]): Promise<LineClient> {
  const c = await LineClient.connect(server.port);
  await c.joined();
  for (const w of watchers)
    await w.waitUntil((r) => new RegExp(`Client \\(127\\.0\\.0\\.1, ${c.port}\\)(@\\w+)? connected\\n`).test(r), `${c.addr} joins`);
  return c;
}

/** `<127.0.0.1:PORT@NODE>`: how other servers name a client without a nickname. */
const remote = (c: LineClient, node: string) => `<127.0.0.1:${c.port}@${node}>`;

const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

/**
 * Send `/history ...`; resolves with the answer's lines, up to and with its
 * end line. Live lines may arrive before or between them (the room goes on
 * while the answer is queued): only `[history` lines are the answer.
 */
async function ask(client: LineClient, command: string): Promise<string[]> {
  const mark = client.received.length;
  client.send(`${command}\n`);
  await client.waitUntil((r) => /\n\[history end\][^\n]*\n/.test(`\n${r.slice(mark)}`), `the answer to ${command}`);
  const lines = client.received.slice(mark).split("\n");
  return lines.slice(0, lines.findIndex((l) => l.startsWith("[history end]")) + 1).filter((l) => l.startsWith("[history"));
}

/** The `[history ID TIME] LINE` lines of an answer as [id, line]. */
const replayed = (answer: string[]): Array<[string, string]> =>
  answer.flatMap((l) => {
    const m = /^\[history (\S+) \S+\] (.*)$/.exec(l);
    return m ? [[m[1]!, m[2]!] as [string, string]] : [];
  });

/** The newest id an answer's end line gives. */
const lastId = (answer: string[]): string => /^\[history end\] \d+ entr(?:y|ies), last (\S+)$/.exec(answer.at(-1) ?? "")![1]!;

t.test("clients on different servers are one room, numbered alike everywhere", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const [s1, s2, s3] = await clusterOf(t, redis.url, ["n1", "n2", "n3"]);
  const a = await join(s1!);
  const b = await join(s2!, a);
  const c = await join(s3!, a, b);
  const a2 = await join(s1!, a, b, c); // a's neighbour on the same server
  t.teardown(() => [a, b, c, a2].forEach((x) => void x.reset()));
  t.match(a.received, `Client ${b.addr}@n2 connected\n`, "a notice names another server's client with its node");
  t.match(b.received, `Client ${c.addr}@n3 connected\n`);
  t.match(a.received, `Client ${a2.addr} connected\n`, "and a neighbour on the same server as it always did");

  // One sender's lines reach every other client, in order, exactly once.
  const lines = Array.from({ length: 50 }, (_, i) => `line ${i}`);
  a.send(lines.map((l) => `${l}\n`).join(""));
  for (const [x, from] of [
    [b, remote(a, "n1")],
    [c, remote(a, "n1")],
    [a2, a.from],
  ] as const) {
    await x.waitFor(`${from} line 49\n`);
    const got = x.received.split("\n").filter((l) => l.startsWith(from));
    t.same(
      got,
      lines.map((l) => `${from} ${l}`),
      "in order, once each",
    );
  }
  b.send("reply from b\n");
  // c too: s3 reads the stream on its own connection, maybe after s1 (its /history is compared below).
  for (const x of [a, a2, c]) await x.waitFor(`${remote(b, "n2")} reply from b\n`);
  t.equal(count(a.received, "line 0\n"), 0, "the sender does not get its own lines");
  t.equal(count(a2.received, `${a.from} line 0\n`), 1, "a local neighbour gets a line once, not again from the stream");

  // History has the same ids on every server: the stream's.
  const onA = await ask(a2, "/history 3");
  t.equal(onA.length, 4, "3 entries and the end line");
  t.same(await ask(c, "/history 3"), onA, "the same ids, times and lines on another server");
  t.match(onA.at(-1), /^\[history end\] 3 entries, last \w+:\d+$/);

  // Notices cross servers; a server shutting down tells the others its clients are gone.
  c.send("q\n");
  for (const x of [a, b, a2]) await x.waitFor(`Client ${c.addr}@n3 quits\n`);
  const d = await join(s3!, a);
  s3!.child.kill("SIGTERM");
  await d.waitFor("Server is shutting down\n");
  await a.waitFor(`Client ${d.addr}@n3 is offline (server shutting down)\n`);
  t.equal((await s3!.exited).code, 0, "the stopping server exits cleanly");
});

t.test("a client resumes on another server with an id it got from the first: the ids are the room's everywhere", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const [s1, s2, s3] = await clusterOf(t, redis.url, ["n1", "n2", "n3"]);
  const a = await join(s1!);
  const b = await join(s2!, a);
  const c = await join(s3!, a, b);
  t.teardown(() => [a, b, c].forEach((x) => void x.reset()));

  // A client of s1 learns where the room is, and goes (a quiet client: it never said a word).
  const gone = await join(s1!, a, b, c);
  // Its join is in s1's log only once s1 reads it back from the stream (another connection than
  // gone's): a line from c that gone has heard was read after it.
  c.send("before the mark\n");
  await gone.waitFor(`${remote(c, "n3")} before the mark\n`);
  const mark = lastId(await ask(gone, "/history 0"));
  gone.end();
  await c.waitFor(`Client ${gone.addr}@n1 is offline\n`);
  a.send("while\n");
  await c.waitFor(`${remote(a, "n1")} while\n`);
  b.send("you were away\n");
  await c.waitFor(`${remote(b, "n2")} you were away\n`);

  // It comes back through another server (as a load balancer may send it).
  const back = await join(s2!, a, c);
  t.teardown(() => back.reset());
  // A line from a third server, read by s1 and s2 after everything before it: both logs hold the same entries now.
  c.send("sync\n");
  for (const x of [a, back]) await x.waitFor(`${remote(c, "n3")} sync\n`);

  const onB = await ask(back, `/history since ${mark}`);
  t.same(
    replayed(onB).map(([, line]) => line),
    [
      `Client ${gone.addr}@n1 is offline`,
      `${remote(a, "n1")} while`,
      `${remote(b, "n2")} you were away`,
      `Client ${back.addr}@n2 connected`,
      `${remote(c, "n3")} sync`,
    ],
    "everything after the id s1 gave, once each, in the room's order",
  );
  t.notMatch(onB.join("\n"), /missed|started over/, "no gap, same epoch");
  const [epoch, seq] = mark.split(":");
  t.same(
    replayed(onB).map(([id]) => id),
    [1, 2, 3, 4, 5].map((i) => `${epoch}:${Number(seq) + i}`),
    "ids follow on from s1's",
  );
  t.same(await ask(a, `/history since ${mark}`), onB, "s1 answers the same resume with the same ids, times and lines");
  t.same(replayed(await ask(back, `/history since ${lastId(onB)}`)), [], "resuming from the newest id gives nothing");
});

t.test(
  "a joining client is told who is here on every server, and the count follows renames, quits and a server going",
  { skip },
  async (t) => {
    const redis = await RedisServer.start();
    t.teardown(() => redis.kill());
    const [s1, s2, s3] = await clusterOf(t, redis.url, ["n1", "n2", "n3"]);
    const w = await join(s3!);
    const a = await join(s1!, w);
    a.send("/nick alice\n");
    await w.waitFor(`Client ${a.addr}@n1 is now alice\n`);
    const b = await join(s2!, w, a);
    t.teardown(() => [w, a, b].forEach((x) => void x.reset()));

    const newcomer = async (server: ServerProcess) => {
      const x = await join(server, w);
      t.teardown(() => x.reset());
      return x;
    };
    const n1 = await newcomer(s3!);
    t.equal(n1.presence, `In the room: 127.0.0.1:${w.port}, alice, 127.0.0.1:${b.port}@n2 (3 others)`, "this server's and the others'");

    b.send("/nick bob\n");
    await w.waitFor(`Client ${b.addr}@n2 is now bob\n`);
    a.send("q\n");
    await w.waitFor("alice quits\n");
    const n2 = await newcomer(s3!);
    t.equal(n2.presence, `In the room: 127.0.0.1:${w.port}, 127.0.0.1:${n1.port}, bob (3 others)`, "renamed, and one less");

    s2!.child.kill("SIGTERM");
    await w.waitFor("bob is offline (server shutting down)\n");
    const n3 = await newcomer(s3!);
    t.equal(
      n3.presence,
      `In the room: 127.0.0.1:${w.port}, 127.0.0.1:${n1.port}, 127.0.0.1:${n2.port} (3 others)`,
      "a server that went takes its clients",
    );

    // A server that joins later learns who is here from the history it loads.
    const [s4] = await clusterOf(t, redis.url, ["n4"]);
    const n4 = await newcomer(s4!);
    t.equal(
      n4.presence,
      `In the room: 127.0.0.1:${w.port}@n3, 127.0.0.1:${n1.port}@n3, 127.0.0.1:${n2.port}@n3, 127.0.0.1:${n3.port}@n3 (4 others)`,
    );
  },
);

t.test("two clients with the same address on two servers are told apart", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const [s1, s2] = await clusterOf(t, redis.url, ["east", "west"]);
  const watcher = await join(s1!);
  t.teardown(() => watcher.reset());
  // Same local address and port, two servers (libuv sets SO_REUSEADDR on a bound client socket).
  const port = await freePort();
  const twin = (server: ServerProcess) =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port: server.port, host: "127.0.0.1", localAddress: "127.0.0.1", localPort: port }, () => resolve(s));
      s.once("error", reject);
    });
  const x = await twin(s1!);
  const y = await twin(s2!);
  t.teardown(() => {
    x.destroy();
    y.destroy();
  });
  x.write("from east\n");
  y.write("from west\n");
  await watcher.waitFor(`<127.0.0.1:${port}@west> from west\n`);
  await watcher.waitFor(`<127.0.0.1:${port}> from east\n`);
  t.match(watcher.received, `Client (127.0.0.1, ${port})@west connected\n`);
  t.match(watcher.received, `Client (127.0.0.1, ${port}) connected\n`);

  // A nickname held on one server is refused on the other, in any case.
  const other = await join(s2!);
  t.teardown(() => other.reset());
  watcher.send("/nick Zed\n");
  // Once s2 shows the rename, its roster has it (an entry is noted before it is shown).
  await other.waitFor(" is now Zed\n");
  other.send("/nick zed\n");
  await other.waitFor("Error: the nickname zed is taken\n");
  other.send("/nick Yan\n");
  await other.waitFor("You are now Yan\n");
});

t.test("Redis lost: local chat goes on; when it is back the log starts a new epoch", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const [s1, s2] = await clusterOf(t, redis.url, ["n1", "n2"]);
  const a = await join(s1!);
  const b = await join(s2!, a);
  const a2 = await join(s1!, a, b);
  t.teardown(() => [a, b, a2].forEach((x) => void x.reset()));
  const epoch = /the room's log is at (\w+):0/.exec(s1!.output())![1];

  await redis.kill();
  const down = /Cluster link down \((append|read): [^)]+\); local chat goes on/;
  for (const s of [s1!, s2!]) await t.resolves(s.waitFor(down), "the lost link is logged");
  a.send("local while redis is down\n");
  await t.resolves(a2.waitFor(`${a.from} local while redis is down\n`), "local chat goes on");

  await redis.restart(); // empty: it kept nothing
  for (const s of [s1!, s2!]) {
    await t.resolves(s.waitFor(/the room's log started over in Redis \(was \w+:\d+, now epoch \w+ after 0\)/), "a new epoch");
  }
  await s1!.waitFor(/Cluster link back after [\d.]+ s \(entries queued meanwhile: 1, not relayed: 0\)/);
  await t.resolves(b.waitFor(`${remote(a, "n1")} local while redis is down\n`), "what was said meanwhile is appended and read");
  t.equal(count(a2.received, "local while redis is down"), 1, "a neighbour had it once, not again");
  b.send("after the outage\n");
  await t.resolves(a.waitFor(`${remote(b, "n2")} after the outage\n`), "cross-server chat heals");
  const newEpoch = /now epoch (\w+) after/.exec(s1!.output())![1];
  t.not(newEpoch, epoch);
});

t.test("a server that connects late has the room's history, and does not replay it as live lines", { skip }, async (t) => {
  const redis = await RedisServer.start();
  t.teardown(() => redis.kill());
  const proxy = await StallProxy.start(redis.port);
  t.teardown(() => proxy.close());
  proxy.cut(); // s2's way to Redis is closed for now
  const [s1, s3] = await clusterOf(t, redis.url, ["n1", "n3"]);
  const s2 = await startServer(["--cluster", `redis://127.0.0.1:${proxy.port}`, "--node", "n2"]);
  t.teardown(() => s2.stop());
  const a = await join(s1!);
  const b = await join(s2);
  const c = await join(s3!);
  t.teardown(() => [a, b, c].forEach((x) => void x.reset()));
  a.send("said before s2 connected\n");
  await c.waitFor(`${remote(a, "n1")} said before s2 connected\n`); // it is in the stream
  proxy.restore();
  await s2.waitFor("Cluster link up");
  t.match(s2.output(), /Cluster: loaded \d+ entries of the room's history/);
  a.send("said after\n");
  await b.waitFor(`${remote(a, "n1")} said after\n`);
  t.notMatch(b.received, "said before", "history is not replayed as live lines");
  const mark = b.received.length;
  b.send("/history 5\n");
  await b.waitUntil((r) => r.slice(mark).includes("[history end]"), "the history");
  t.match(b.received.slice(mark), `${remote(a, "n1")} said before s2 connected\n`, "but /history has it");
});

t.test("a server starts without Redis and joins once Redis is up", { skip }, async (t) => {
  const port = await freePort();
  const s1 = await startServer(["--cluster", `redis://127.0.0.1:${port}`, "--node", "n1"]);
  t.teardown(() => s1.stop());
  await s1!.waitFor(/Cluster link to redis:\/\/127\.0\.0\.1:\d+\/0 not up \(\w+: .*refused.*\); local chat goes on/);
  const a = await join(s1!);
  const a2 = await join(s1!, a);
  t.teardown(() => [a, a2].forEach((x) => void x.reset()));
  a.send("no redis needed for this\n");
  await a2.waitFor(`${a.from} no redis needed for this\n`);
  t.notMatch(s1!.output(), /Cluster link up/);

  const redis = await RedisServer.start(port);
  t.teardown(() => redis.kill());
  await t.resolves(s1!.waitFor("Cluster link up"), "the link comes up once Redis does");
});

t.test("bad --cluster and --node values are one line and exit status 2", async (t) => {
  const r = await runBun(["bin/server.ts", "--port", "0", "--cluster", "localhost:6379"]);
  t.equal(r.code, 2);
  t.match(r.stderr, /^server: --cluster: "localhost:6379" is not a Redis URL: it must start with redis:\/\//);
  t.notMatch(r.stderr, /\n\s+at /, "no stack trace");
  const n = await runBun(["bin/server.ts", "--port", "0", "--cluster", "redis://127.0.0.1:1", "--node", "a b"]);
  t.equal(n.code, 2);
  t.match(n.stderr, /--node.*must be 1 to 32 letters, digits/);
  t.notMatch(n.stderr, /\n\s+at /, "no stack trace");
});
