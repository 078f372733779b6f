// The bench's cluster scenario, end to end and tiny: it starts redis-server
// and two --cluster servers itself and must account for every delivery.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { jsonLines, runBun } from "../support/bun.ts";
import { redisMissing } from "../support/redis.ts";

t.test("bun bench --scenario cluster: deliveries cross servers, none lost", { skip: redisMissing() }, async (t) => {
  const svg = path.join(mkdtempSync(path.join(tmpdir(), "cluster-bench-")), "chart.svg");
  const run = await runBun([
    "bench/main.ts",
    "--scenario",
    "cluster",
    "--clients",
    "20",
    "--senders",
    "4",
    "--rate",
    "50",
    "--duration",
    "0.5",
    "--json",
    "--svg",
    svg,
  ]);
  t.equal(run.code, 0, run.stderr);
  const result = jsonLines(run.stdout).at(-1);
  t.equal(result.status, "ok", result.note);
  t.equal(result.accounting.lost, 0, "nothing lost");
  t.equal(result.accounting.duplicates, 0, "nothing twice");
  t.equal(result.accounting.orderViolations, 0, "in order");
  t.ok(result.accounting.delivered > 0);
  // Clients alternate between the two servers: about half of all deliveries cross Redis.
  t.ok(result.metrics.crossDeliveriesPerSec > 0.3 * result.deliveriesPerSec, "deliveries cross servers");
  t.type(result.metrics.crossP50Ms, "number");
});

t.test("bun bench --scenario cluster: --server-args reach the cluster's servers", { skip: redisMissing() }, async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), "cluster-bench-"));
  // A flag a lone server takes (the harness starts one per scenario first)
  // but a --cluster server refuses: only when the cluster's servers get it
  // does the scenario fail, with their reason.
  const run = await runBun([
    "bench/main.ts",
    "--scenario",
    "cluster",
    "--clients",
    "4",
    "--senders",
    "1",
    "--duration",
    "0.2",
    "--server-args",
    `--history-db ${path.join(dir, "history.db")}`,
    "--json",
    "--svg",
    path.join(dir, "chart.svg"),
  ]);
  t.equal(run.code, 1, "no scenario ran");
  const result = jsonLines(run.stdout).at(-1);
  t.equal(result.status, "failed");
  t.match(result.note, /cluster-a exited before listening.*--history-db and --cluster do not go together/);
});
