// End to end: the room's log over TCP. `/history [N]`, `/history since ID`
// (a resume, with and without a gap, and across an epoch), the presence
// line on joining, and what a client that asks for nothing gets.
import t from "tap";
import { LineClient } from "../support/line-client.ts";
import { ask, lastId, replayed } from "../support/history-answers.ts";
import { type ServerProcess, startServer } from "../support/bun.ts";

/** Fetch the server's `/metrics` until `test` holds for it (they are sampled once a second); resolves with the text. */
async function metricsUntil(server: ServerProcess, test: (text: string) => boolean): Promise<string> {
  const where = /Metrics on (http:\/\/\S+?\/metrics)/;
  await server.waitFor(where);
  const url = where.exec(server.output())![1]!;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await (await fetch(url)).text();
    if (test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the metrics; last: ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

t.test("/history replays the room's last entries, marked, oldest first, closed by an end line with the last id", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
  a.send("/nick alice\n");
  await b.waitFor("is now alice\n");
  for (const text of ["one", "two", "three"]) a.send(`${text}\n`);
  await b.waitFor("<alice> three\n");
  t.notMatch(b.received, "[history", "a client that asked for nothing gets no replay");

  const all = await ask(b, "/history");
  const entries = replayed(all);
  t.same(
    entries.map(([, line]) => line),
    [
      `Client ${a.addr} connected`,
      `Client ${b.addr} connected`,
      `Client ${a.addr} is now alice`,
      "<alice> one",
      "<alice> two",
      "<alice> three",
    ],
    "joins, the rename and the lines, in the room's order, each as it was shown live",
  );
  const seqs = entries.map(([id]) => Number(id.split(":")[1]));
  t.same(seqs, [1, 2, 3, 4, 5, 6], "ids count 1, 2, 3... with no gaps");
  t.ok(
    entries.every(([id]) => id.split(":")[0] === entries[0]![0].split(":")[0]),
    "one epoch",
  );
  t.equal(lastId(all), entries[5]![0], "the end line names the newest id");

  const two = replayed(await ask(b, "/history 2"));
  t.same(
    two.map(([, line]) => line),
    ["<alice> two", "<alice> three"],
    "/history N: the newest N",
  );
  b.send("/history lots\n");
  await b.waitFor("Error: usage: /history [N] or /history since ID");
  b.send("/history since nonsense\n");
  await b.waitFor("Error: nonsense is not an entry id (EPOCH:NUMBER)\n");
  t.notMatch(a.received, "[history", "replies go to the asker only");
  a.end();
  b.end();
});

t.test("/history since ID resumes without gaps or duplicates, also for a client that was quiet", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
  a.send("before\n");
  await b.waitFor("before\n");
  const mark = lastId(await ask(b, "/history 0"));
  t.ok(mark, "an empty replay still names the newest id");
  b.end();
  await a.waitFor(`Client ${b.addr} is offline\n`);
  for (const text of ["while", "you", "were", "away"]) a.send(`${text}\n`);
  await ask(a, "/history 0"); // answered after a's lines: the server has them all

  const c = await LineClient.connect(server.port);
  await c.joined();
  await a.waitFor(`Client ${c.addr} connected\n`);
  const resumed = await ask(c, `/history since ${mark}`);
  t.same(
    replayed(resumed).map(([, line]) => line),
    [
      `Client ${b.addr} is offline`,
      `<127.0.0.1:${a.port}> while`,
      `<127.0.0.1:${a.port}> you`,
      `<127.0.0.1:${a.port}> were`,
      `<127.0.0.1:${a.port}> away`,
      `Client ${c.addr} connected`,
    ],
    "everything after the id, once each",
  );
  t.notMatch(resumed, "missed", "no gap reported");
  const again = await ask(c, `/history since ${lastId(resumed)}`);
  t.same(replayed(again), [], "resuming from the newest id gives nothing");
  a.end();
  c.end();
});

t.test(
  "a resume past what is kept says how many were missed; an id of another epoch says the log started over; metrics count them",
  async (t) => {
    const server = await startServer(["--history", "3", "--metrics", "127.0.0.1:0"]);
    t.teardown(() => server.stop());
    const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
    const start = lastId(await ask(b, "/history 0"))!;
    for (let i = 1; i <= 6; i++) a.send(`m${i}\n`);
    await b.waitFor("m6\n");
    const gap = await ask(b, `/history since ${start}`);
    t.match(gap, /^\[history\] 3 entries missed: no longer kept$/m, "the gap is counted: 6 entries after the id, 3 kept");
    t.same(
      replayed(gap).map(([, line]) => line.slice(line.indexOf(">") + 2)),
      ["m4", "m5", "m6"],
      "then what is kept",
    );
    const epoch = start.split(":")[0]!;
    const other = `${epoch === "zz" ? "yy" : "zz"}:5`;
    const reset = await ask(b, `/history since ${other}`);
    t.match(reset, new RegExp(`^\\[history\\] the log started over since ${other}: what was missed is unknown$`, "m"), "another epoch");
    t.equal(replayed(reset).length, 3, "and all that is kept");
    const complete = await ask(b, `/history since ${lastId(gap)}`);
    t.same(replayed(complete), [], "a resume from the newest id: complete, nothing to send");
    // The metrics are sampled once a second: asked until the sample has the three resumes.
    const wanted = ["chat_resumes_complete_total 1", "chat_resumes_gap_total 2", "chat_resume_missed_entries_total 3"];
    const metrics = await metricsUntil(server, (text) => wanted.every((line) => text.includes(`\n${line}\n`)));
    for (const line of wanted) t.match(metrics, line, line);
    a.end();
    b.end();
  },
);

t.test("a server restarted without a database starts a new epoch: an id from before is told the log started over", async (t) => {
  const first = await startServer();
  t.teardown(() => first.stop());
  const a = await LineClient.connect(first.port);
  await a.joined();
  a.send("said before the restart\n");
  const before = lastId(await ask(a, "/history 0"))!;
  t.equal(before.split(":")[1], "2", "the join and the line");
  await first.stop();
  // Not reset(): see the SIGKILL case in history-db.test.ts.
  await a.waitClosed();
  const second = await startServer();
  t.teardown(() => second.stop());
  const b = await LineClient.connect(second.port);
  await b.joined();
  const answer = await ask(b, `/history since ${before}`);
  t.match(
    answer,
    `[history] the log started over since ${before}: what was missed is unknown`,
    "not taken for an id of this life of the log",
  );
  t.not(lastId(answer)!.split(":")[0], before.split(":")[0], "a new epoch");
  b.end();
});

t.test("joining, a client is told who is here in one line", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const a = await LineClient.connect(server.port);
  await a.joined();
  t.equal(a.presence, "In the room: nobody else yet", "alone");
  a.send("/nick alice\n");
  await a.waitFor("You are now alice\n");
  const b = await LineClient.connect(server.port);
  await b.joined();
  t.equal(b.presence, "In the room: alice (1 other)", "names and count");
  const c = await LineClient.connect(server.port);
  await c.joined();
  t.equal(c.presence, `In the room: alice, 127.0.0.1:${b.port} (2 others)`, "address for the unnamed");
  for (const x of [a, b, c]) x.end();
});

t.test("--history 0 keeps nothing, and /history says so without failing", async (t) => {
  const server = await startServer(["--history", "0"]);
  t.teardown(() => server.stop());
  const [a, b] = (await LineClient.connectAll(server.port, 2)) as [LineClient, LineClient];
  a.send("gone\n");
  await b.waitFor("gone\n");
  const answer = await ask(b, "/history");
  t.same(replayed(answer), [], "no entries");
  t.match(answer, /^\[history end\] 0 entries, last \S+:3$/m, "ids are still given");
  a.end();
  b.end();
});
