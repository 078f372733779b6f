// End-to-end: the harness runs under Bun, so it is driven as a child process:
// its command-line errors, a refused target, targets missing on this machine,
// and a tiny run against the C reference relay (built into a temp dir) whose
// accounting must add up.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import t from "tap";
import { jsonLines, root, runBun } from "../support/bun.ts";
import { freePort } from "../support/redis.ts";

/** The harness looks for it there too (or at --c-relay). */
const relaySrc = [path.resolve(root, "../shared/peers/c_relay.c")].find(existsSync);

const runBench = (args: string[], env?: NodeJS.ProcessEnv) => runBun(["bench/main.ts", ...args], { env });

/** Resolves once the relay printed its start line. */
function waitStarted(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk;
      if (/listening on/.test(out)) resolve();
    });
    child.on("exit", (code) => reject(new Error(`relay exited early (${code})`)));
  });
}

t.test("bad flag: one error line pointing at --help, exit 2, no stack", async (t) => {
  const run = await runBench(["--clients", "lots"]);
  t.equal(run.code, 2);
  t.match(run.stderr, /^bench: --clients must be an integer >= \d+, got 'lots' \(see --help\)\n$/);
});

t.test("refused target: clear error, exit 1", async (t) => {
  const port = await freePort(); // closed again: nothing listens there
  const run = await runBench(["--target", `127.0.0.1:${port}`, "--scenario", "fanout"]);
  t.equal(run.code, 1);
  t.match(run.stderr, new RegExp(`bench: cannot connect to 127.0.0.1:${port}`));
});

t.test("no C relay: one line saying where the harness looked, and the flag", async (t) => {
  const missing = path.join(mkdtempSync(path.join(tmpdir(), "bench-run-")), "c_relay.c");
  const run = await runBench(["--target", "c", "--c-relay", missing, "--scenario", "fanout"]);
  t.equal(run.code, 1);
  t.equal(run.stderr, `bench: c: no C reference relay at ${missing} (given by --c-relay)\n`);
  const beside = await runBun([
    "-e",
    'import { cRelayMissing, C_RELAY_BESIDE } from "./bench/targets.ts"; console.log(C_RELAY_BESIDE); console.log(cRelayMissing(C_RELAY_BESIDE, false))',
  ]);
  const [where, line] = beside.stdout.trim().split("\n");
  t.equal(where, path.resolve(root, "../shared/peers/c_relay.c"), "without the flag: beside the checkout, nowhere else");
  t.equal(line, `c: no C reference relay at ${where} (beside the checkout); give its source with --c-relay PATH`);
});

t.test("no redis-server: the target is skipped with one line", async (t) => {
  // a PATH without redis-server (nor cc: c is skipped too)
  const env = { ...process.env, PATH: mkdtempSync(path.join(tmpdir(), "bench-empty-path-")) };
  const alone = await runBench(["--target", "redis", "--scenario", "fanout"], env);
  t.equal(alone.code, 1);
  t.equal(alone.stderr, "bench: redis: redis-server is not installed (apt-get install redis-server)\n");
  const svg = path.join(env.PATH, "chart.svg");
  const both = await runBench(["--compare", "redis,c", "--scenario", "fanout,latency", "--json", "--svg", svg], env);
  t.equal(both.code, 1, "nothing ran");
  const lines = both.stderr.trim().split("\n");
  t.equal(lines[0], "bench: redis: redis-server is not installed (apt-get install redis-server) (skipped)");
  t.match(lines[1], /^bench: c: (no C compiler \(cc\)|no C reference relay)/);
  const results = jsonLines(both.stdout);
  t.same(
    results.map((result) => [result.scenario, result.target, result.status]),
    [
      ["fanout", "redis", "skipped"],
      ["fanout", "c", "skipped"],
      ["latency", "redis", "skipped"],
      ["latency", "c", "skipped"],
    ],
  );
});

const hasCc = spawnSync("cc", ["--version"]).status === 0;
t.test(
  "tiny fanout run against the C relay: accounting is consistent",
  { skip: !hasCc ? "no C compiler (cc) to build the reference relay" : !relaySrc ? "c_relay.c not found in ../shared/peers" : false },
  async (t) => {
    const bin = path.join(mkdtempSync(path.join(tmpdir(), "bench-run-")), "c_relay");
    const cc = spawnSync("cc", ["-O2", "-o", bin, relaySrc as string], { encoding: "utf8" });
    t.equal(cc.status, 0, cc.stderr);
    const port = await freePort();
    const relay = spawn(bin, ["127.0.0.1", String(port)], { stdio: ["ignore", "pipe", "inherit"] });
    t.teardown(() => relay.kill());
    await waitStarted(relay);
    const svg = path.join(path.dirname(bin), "chart.svg"); // a fresh directory: the file exists only if this run wrote it
    const run = await runBench([
      "--scenario",
      "connect,fanout,latency",
      "--clients",
      "20",
      "--senders",
      "2",
      "--duration",
      "1",
      "--json",
      "--svg",
      svg,
      "--target",
      `127.0.0.1:${port}`,
    ]);
    t.equal(run.code, 0, run.stderr);
    const results = jsonLines(run.stdout);
    t.same(
      results.map((result) => result.scenario),
      ["connect", "fanout", "latency"],
    );
    for (const result of results) {
      t.equal(result.status, "ok", `${result.scenario} ran`);
      const accounting = result.accounting;
      t.equal(accounting.lost, 0, `${result.scenario}: no losses`);
      t.equal(accounting.duplicates, 0, `${result.scenario}: no duplicates`);
      t.equal(accounting.orderViolations, 0, `${result.scenario}: no order violations`);
      t.equal(accounting.delivered, accounting.expected, `${result.scenario}: delivered = expected`);
    }
    const connect = results[0];
    t.equal(connect.accounting.expected, (20 * 19) / 2, "N(N-1)/2 join notices");
    for (const result of results.slice(1)) {
      t.ok(result.accounting.sent > 0, `${result.scenario} sent something`);
      t.equal(result.accounting.expected, result.accounting.sent * (20 - 1), `${result.scenario}: expected = sent x receivers`);
      t.equal(result.latencyUs.count, result.accounting.delivered, "one latency sample per delivery");
    }
    t.ok(existsSync(svg), "svg written");
  },
);

t.test(
  "--target c --c-relay FILE: the harness builds and starts the relay itself",
  { skip: !hasCc ? "no C compiler (cc) to build the reference relay" : !relaySrc ? "c_relay.c not found in ../shared/peers" : false },
  async (t) => {
    const svg = path.join(mkdtempSync(path.join(tmpdir(), "bench-run-")), "chart.svg");
    const run = await runBench([
      "--target",
      "c",
      "--c-relay",
      relaySrc as string,
      "--scenario",
      "connect",
      "--clients",
      "10",
      "--json",
      "--svg",
      svg,
    ]);
    t.equal(run.code, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    t.same([result.target, result.status, result.accounting.delivered], ["c", "ok", (10 * 9) / 2]);
    t.type(result.serverCpu, "number", "its own process: server CPU is known");
  },
);
