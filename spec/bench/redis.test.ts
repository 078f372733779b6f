// The redis target, end to end and tiny: the harness starts a redis-server,
// its clients SUBSCRIBE to one channel and PUBLISH their lines there, and
// every delivery must be accounted for (Redis's copy of a client's own line
// back to it is not one).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { jsonLines, runBun } from "../support/bun.ts";
import { redisMissing } from "../support/redis.ts";

t.test("bun bench --target redis: connect, fanout, latency, none lost", { skip: redisMissing() }, async (t) => {
  const svg = path.join(mkdtempSync(path.join(tmpdir(), "redis-bench-")), "chart.svg");
  const clients = 20;
  const run = await runBun([
    "bench/main.ts",
    "--target",
    "redis",
    "--scenario",
    "connect,fanout,latency",
    "--clients",
    String(clients),
    "--senders",
    "3",
    "--duration",
    "0.5",
    "--json",
    "--svg",
    svg,
  ]);
  t.equal(run.code, 0, run.stderr);
  const results = jsonLines(run.stdout);
  t.same(
    results.map((result) => [result.scenario, result.target, result.status]),
    [
      ["connect", "redis", "ok"],
      ["fanout", "redis", "ok"],
      ["latency", "redis", "ok"],
    ],
    results.map((result) => result.note).join("; "),
  );
  const [connect, ...loads] = results;
  t.equal(connect.accounting.expected, clients, "connect: one subscribe confirmation per client");
  t.equal(connect.accounting.delivered, clients);
  for (const result of loads) {
    const accounting = result.accounting;
    t.ok(accounting.sent > 0, `${result.scenario} sent something`);
    t.equal(accounting.expected, accounting.sent * (clients - 1), `${result.scenario}: every other client gets every line`);
    t.equal(accounting.delivered, accounting.expected, `${result.scenario}: all delivered, own lines not counted`);
    t.equal(accounting.duplicates, 0, `${result.scenario}: nothing twice`);
    t.equal(accounting.orderViolations, 0, `${result.scenario}: in order`);
    t.equal(accounting.foreign, 0, `${result.scenario}: nothing foreign`);
    t.type(result.serverCpu, "number", `${result.scenario}: the harness owns redis-server, so it has its CPU`);
  }
});
