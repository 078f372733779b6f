// Operating the server: logger, stats sampler, Prometheus text (units), and
// --log-format, --quiet, --stats, --metrics, --version, --help (end to end).
import { spawn } from "node:child_process";
import t from "tap";
import { createLogger } from "../../lib/server/logger.ts";
import { formatPrometheus } from "../../lib/server/metrics.ts";
import { formatStatsLine, ServerCounters, StatsSampler } from "../../lib/server/stats.ts";
import { DurationHistogram, percentileOf } from "../../lib/reactor/histogram.ts";
import type { ReactorStats } from "../../lib/reactor/reactor.ts";
import { LineClient } from "../support/line-client.ts";
import { bunPath, root, runBun, startServer } from "../support/bun.ts";

/** Parse the Prometheus text format: HELP and TYPE per family, then samples. */
function parsePrometheus(text: string) {
  const types = new Map<string, string>();
  const helps = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (m) {
      (m[1] === "HELP" ? helps : types).set(m[2]!, m[3]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[a-z_]+="[^"]*"\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus line: ${line}`);
    const value = m[2] === "+Inf" ? Infinity : Number(m[2]);
    if (Number.isNaN(value)) throw new Error(`bad value: ${line}`);
    samples.set(m[1]!, value);
  }
  for (const name of samples.keys()) {
    const family = name.replace(/\{.*/, "").replace(/_(bucket|sum|count)$/, "");
    const base = types.has(name.replace(/\{.*/, "")) ? name.replace(/\{.*/, "") : family;
    if (!types.has(base) || !helps.has(base)) throw new Error(`${name} has no TYPE or HELP line`);
  }
  return { types, helps, samples };
}

t.test("duration histogram: power-of-two buckets, percentiles as upper bounds", async (t) => {
  const h = new DurationHistogram();
  for (let i = 0; i < 98; i++) h.record(0.05); // 50 µs
  h.record(3); // 3 ms
  h.record(3);
  t.equal(h.total, 100);
  t.equal(percentileOf(h.counts, 0.5), 0.064, "50 µs lands in the bucket up to 64 µs");
  t.equal(percentileOf(h.counts, 0.99), 4.096, "3 ms lands in the bucket up to 4.096 ms");
  t.equal(percentileOf(new Float64Array(24), 0.99), 0, "no values, no percentile");
  h.record(1e6);
  t.ok(Number.isFinite(percentileOf(h.counts, 1)), "the overflow bucket reports its lower edge, not Infinity");
});

t.test("logger: timestamp and client address on every line; json; quiet", async (t) => {
  const lines: string[] = [];
  const clock = () => Date.UTC(2025, 0, 2, 3, 4, 5, 6);
  const client = { host: "127.0.0.1", port: 5001 };
  const text = createLogger({ format: "text", quiet: false, write: (l) => lines.push(l), clock });
  text("Client (127.0.0.1, 5001) connected", client);
  text("Server stopped");
  t.same(lines, [
    "2025-01-02T03:04:05.006Z 127.0.0.1:5001 Client (127.0.0.1, 5001) connected\n",
    "2025-01-02T03:04:05.006Z - Server stopped\n",
  ]);
  lines.length = 0;
  const json = createLogger({ format: "json", quiet: false, write: (l) => lines.push(l), clock });
  json("hello", { host: "::1", port: 7 });
  json("bye");
  t.same(
    lines.map((l) => JSON.parse(l)),
    [
      { time: "2025-01-02T03:04:05.006Z", client: "[::1]:7", msg: "hello" },
      { time: "2025-01-02T03:04:05.006Z", msg: "bye" },
    ],
  );
  lines.length = 0;
  const quiet = createLogger({ format: "text", quiet: true, write: (l) => lines.push(l), clock });
  quiet("about a client", client);
  quiet("about the server");
  t.same(lines, ["2025-01-02T03:04:05.006Z - about the server\n"], "quiet drops client lines only");
});

t.test("sampler: rates over the period, peak ready set reset per period; Prometheus text parses", async (t) => {
  const counters = new ServerCounters();
  const stats: ReactorStats = { ticks: 0, lastReady: 0, peakReady: 0, sends: 0, bytesSent: 0, tickTime: new DurationHistogram() };
  let now = 0;
  const source = { counters, reactor: { stats }, clients: 3 };
  const sampler = new StatsSampler(
    source,
    () => now,
    () => 0,
  );
  counters.linesIn = 20;
  counters.linesOut = 40;
  counters.departures = 3;
  counters.quits = 1;
  stats.ticks = 10;
  stats.peakReady = 7;
  stats.bytesSent = 1000;
  for (let i = 0; i < 10; i++) stats.tickTime.record(0.01);
  now = 2000;
  const s = sampler.sample();
  t.equal(s.linesInPerSecond, 10);
  t.equal(s.linesOutPerSecond, 20);
  t.equal(s.ticksPerSecond, 5);
  t.equal(s.bytesOutPerSecond, 500);
  t.equal(s.evictions, 2, "departures that were not quits");
  t.equal(s.peakReady, 7);
  t.equal(stats.peakReady, 0, "the sampler starts the next period's peak");
  t.equal(s.tickP99Ms, 0.016);
  t.match(
    formatStatsLine(s),
    /^stats: clients 3, lines in 10\/s out 20\/s, bytes in 0\/s out 500\/s, evictions 2, ticks 5\/s, tick p99 0\.0160ms, largest ready set 7$/,
  );
  counters.linesIn = 25;
  t.equal(sampler.current().linesIn, 25, "current() has fresh totals");
  t.equal(sampler.current().linesInPerSecond, 10, "and the last period's rates");
  const { types, samples } = parsePrometheus(formatPrometheus(sampler.current()));
  t.equal(types.get("chat_clients"), "gauge");
  t.equal(types.get("chat_lines_in_total"), "counter");
  t.equal(types.get("reactor_tick_seconds"), "histogram");
  t.equal(samples.get("chat_lines_in_total"), 25);
  t.equal(samples.get('reactor_tick_seconds_bucket{le="+Inf"}'), 10);
  t.equal(samples.get("reactor_tick_seconds_count"), 10);
});

t.test("--metrics serves Prometheus text that follows the clients; --stats logs a summary", async (t) => {
  const server = await startServer(["--metrics", "127.0.0.1:0", "--stats", "0.2"]);
  t.teardown(() => server.stop());
  await server.waitFor(/Metrics on (http:\S+)metrics/);
  const base = /Metrics on (http:\S+)metrics/.exec(server.output())![1]!;
  const scrape = async () => {
    const res = await fetch(base + "metrics");
    t.match(res.headers.get("content-type"), /^text\/plain/);
    return parsePrometheus(await res.text()).samples;
  };
  t.equal((await scrape()).get("chat_clients"), 0);
  const a = await LineClient.connect(server.port);
  const b = await LineClient.connect(server.port);
  await a.waitFor(`Client ${b.addr} connected\n`);
  a.send("one\ntwo\n");
  await b.waitFor("two\n");
  const m = await scrape();
  t.equal(m.get("chat_clients"), 2);
  t.equal(m.get("chat_connections_total"), 2);
  t.equal(m.get("chat_lines_in_total"), 2);
  t.ok(m.get("chat_lines_out_total")! >= 3, "two lines and a join notice went out");
  t.ok(m.get("reactor_ticks_total")! > 0);
  // Two chat clients hold a descriptor each, and the scrape itself holds one.
  t.equal(m.get("chat_descriptors_used"), 3, "the budget counts both clients and the metrics request");
  t.ok(m.get("chat_descriptor_limit")! > 3, "the budget follows the open-file limit");
  t.equal(m.get("chat_handshakes_shed_total"), 0);
  t.equal(m.get("chat_sockets_refused_total"), 0);
  const json = (await (await fetch(base + "stats.json")).json()) as { clients: number };
  t.equal(json.clients, 2);
  t.equal((await fetch(base + "nope")).status, 404);
  await server.waitFor(/stats: clients 2, lines in \S+\/s out \S+\/s, bytes in .* largest ready set \d+/);
  a.end();
  b.end();
});

t.test("--log-format json: every line is JSON with a time; client lines name the client; --quiet drops them", async (t) => {
  const server = await startServer(["--log-format", "json"]);
  t.teardown(() => server.stop());
  const a = await LineClient.connect(server.port);
  await server.waitFor(`Client ${a.addr} connected`);
  a.send("q\n");
  await server.waitFor(`Client ${a.addr} quits`);
  const records = server
    .output()
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { time: string; client?: string; msg: string });
  for (const r of records) t.match(r.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.same(
    records.filter((r) => r.client).map((r) => r.client),
    [`127.0.0.1:${a.port}`, `127.0.0.1:${a.port}`],
  );

  const quiet = await startServer(["--quiet"]);
  t.teardown(() => quiet.stop());
  const b = await LineClient.connect(quiet.port);
  const c = await LineClient.connect(quiet.port);
  await b.waitFor(`Client ${c.addr} connected\n`);
  c.send("q\n");
  await b.waitFor(`Client ${c.addr} quits\n`);
  quiet.child.kill("SIGTERM");
  await quiet.waitFor("Server stopped");
  t.notMatch(quiet.output(), "Client (", "no client lines with --quiet");
  t.match(quiet.output(), /Z - Received SIGTERM, shutting down\n/);
});

t.test("--version and --help for both programs; bad new flags are one clear line", async (t) => {
  for (const program of ["server", "client"]) {
    const v = await runBun([`bin/${program}.ts`, "--version"]);
    t.equal(v.code, 0);
    t.match(v.stdout, new RegExp(`^select-chat ${program} \\d+\\.\\d+\\.\\d+ \\(bun [\\d.]+\\)\\n$`));
  }
  // Each flag's description as one line again (--help wraps it, indented, under the flag).
  const unwrapped = (help: string) => help.replace(/\n {3,}/g, " ");
  const server = await runBun(["bin/server.ts", "--help"]);
  for (const row of [
    /--log-format FORMAT .*\(default: text\)/,
    /--quiet .*\(default: false\)/,
    /--stats SECONDS .*\(default: none\)/,
    /--metrics HOST:PORT .*\(default: none\)/,
    /--version/,
  ]) {
    t.match(unwrapped(server.stdout), row);
  }
  const client = await runBun(["bin/client.ts", "--help"]);
  t.match(unwrapped(client.stdout), /--timestamps .*\(default: false\)/);
  t.match(unwrapped(client.stdout), /--color .*\(default: true\)/);
  const bad = await runBun(["bin/server.ts", "--metrics", "nowhere"]);
  t.equal(bad.code, 2);
  t.equal(bad.stderr, "server: --metrics: must be HOST:PORT, e.g. 127.0.0.1:9100 (see --help)\n");
  const badFormat = await runBun(["bin/server.ts", "--log-format", "xml"]);
  t.equal(badFormat.stderr, 'server: --log-format: must be "text" or "json" (see --help)\n');
});

t.test("the client through pipes stays plain; --timestamps prefixes received lines", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const peer = await LineClient.connect(server.port);
  await server.waitFor(`Client ${peer.addr} connected`);
  const child = spawn(bunPath, ["bin/client.ts", "--port", String(server.port), "--timestamps"], {
    cwd: root,
    env: { ...process.env, FORCE_COLOR: "1" },
  });
  t.teardown(() => child.kill("SIGKILL"));
  let out = "";
  const got = new Promise<void>((resolve) =>
    child.stdout.on("data", (d) => {
      out += d;
      if (out.includes("hi\n")) resolve();
    }),
  );
  await peer.waitFor("connected\n");
  peer.send("hi\n");
  await got;
  t.match(
    out.replace(/^\[\d\d:\d\d:\d\d\] In the room: .*\n/m, ""),
    new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\] ${peer.from.replace(/\./g, "\\.")} hi\\n$`),
    "a timestamp, then the line as received, no colour (besides who is here)",
  );
  child.stdin.end("/quit\n");
  const code = await new Promise((resolve) => child.on("close", resolve));
  t.equal(code, 0, "/quit from a pipe quits like q");
  await peer.waitFor("quits\n");
  peer.end();
});
