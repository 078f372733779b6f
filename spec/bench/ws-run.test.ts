// End to end over WebSocket: the harness (a Bun child process) drives Bun's
// own pub/sub (bench/peers/bun-publish.ts) and our gateway (--web) with its
// WebSocket clients. The accounting must add up on both, counted the same
// way: each target sends a member its own lines too, and those are not
// deliveries.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { bunPath, jsonLines, root, runBun } from "../support/bun.ts";

const runBench = (args: string[]) => runBun(["bench/main.ts", ...args], { timeoutMs: 120_000 });
const svgIn = (): string => path.join(mkdtempSync(path.join(tmpdir(), "bench-ws-")), "chart.svg");

/** A bun-publish peer of our own (the harness does not own it: an external ws:// target). */
async function startPeer(t: Test): Promise<number> {
  const child = spawn(bunPath, ["bench/peers/bun-publish.ts", "127.0.0.1:0"], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  t.teardown(() => void child.kill());
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk;
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.on("exit", (code) => reject(new Error(`bun-publish exited early (${code})`)));
  });
}

/**
 * Run the bench on `target` (small: 20 clients, 2 senders, 1 s) with
 * `more` flags; checks that it ran the `scenarios` on that target, in order,
 * and returns their results.
 */
// biome-ignore lint/suspicious/noExplicitAny: the bench's JSON results
async function benchOn(t: Test, target: string, scenarios: string[], more: string[] = []): Promise<any[]> {
  const run = await runBench(
    ["--target", target, "--scenario", scenarios.join(","), "--clients", "20", "--senders", "2", "--duration", "1"].concat(more, [
      "--json",
      "--svg",
      svgIn(),
    ]),
  );
  t.equal(run.code, 0, run.stderr);
  const results = jsonLines(run.stdout);
  t.same(
    results.map((result) => [result.scenario, result.target]),
    scenarios.map((scenario) => [scenario, target]),
  );
  return results;
}

// biome-ignore lint/suspicious/noExplicitAny: the bench's JSON results
function checkAccounting(t: Test, results: any[], clients: number): void {
  for (const result of results) {
    t.equal(result.status, "ok", `${result.scenario} @ ${result.target} ran`);
    const a = result.accounting;
    t.same(
      [a.lost, a.duplicates, a.orderViolations, a.foreign],
      [0, 0, 0, 0],
      `${result.scenario}: nothing lost, doubled, reordered or foreign`,
    );
    t.equal(a.delivered, a.expected, `${result.scenario}: delivered = expected`);
    if (result.scenario === "connect") {
      t.equal(a.expected, (clients * (clients - 1)) / 2, "connect: every member hears each later join, not its own");
      continue;
    }
    t.ok(a.sent > 0, `${result.scenario} sent something`);
    t.equal(a.expected, a.sent * (clients - 1), `${result.scenario}: every other member, not the sender's own copy`);
    t.equal(result.latencyUs.count, a.delivered, "one latency sample per delivery");
  }
}

t.test("bun-publish: the harness starts it and drives it over WebSocket", async (t) => {
  const results = await benchOn(t, "bun-publish", ["connect", "fanout", "latency", "burst"], ["--size", "200"]);
  checkAccounting(t, results.slice(0, 3), 20);
  const burst = results[3];
  t.same(
    [burst.status, burst.metrics.completeClients, burst.accounting.delivered],
    ["ok", 20, 20 * 19],
    "burst: every line to every other client",
  );
  t.type(results[1].serverCpu, "number", "its own process: server CPU is known");
});

t.test("ours-ws: our server started with --web, driven over its WebSocket endpoint", async (t) => {
  const results = await benchOn(t, "ours-ws", ["connect", "fanout", "latency"]);
  checkAccounting(t, results, 20);
  t.type(results[1].serverCpu, "number", "its own process: server CPU is known");
});

t.test("--target ws://HOST:PORT/PATH: a WebSocket server that is already running", async (t) => {
  const port = await startPeer(t);
  const run = await runBench(
    ["--target", `ws://127.0.0.1:${port}/ws`, "--scenario", "fanout", "--clients", "10"].concat([
      "--senders",
      "2",
      "--duration",
      "0.5",
      "--json",
      "--svg",
      svgIn(),
    ]),
  );
  t.equal(run.code, 0, run.stderr);
  const results = jsonLines(run.stdout);
  checkAccounting(t, results, 10);
  t.equal(results[0].serverCpu, null, "not our process: no server CPU");

  const refused = await runBench(["--target", `ws://127.0.0.1:${port}/elsewhere`, "--scenario", "fanout", "--json", "--svg", svgIn()]);
  t.equal(refused.code, 1, "nothing ran");
  const [failed] = jsonLines(refused.stdout);
  t.equal(failed.status, "failed");
  t.match(
    failed.note,
    new RegExp(`^ws://127\\.0\\.0\\.1:${port}/elsewhere: upgrade refused: HTTP/1\\.1 404 Not Found \\(client 1\\)$`),
    "the refusal in one line",
  );
});
