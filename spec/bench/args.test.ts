// `bun bench`'s command line (bench/args.ts on lib/cli/flags.ts): values,
// defaults, and the one-line errors main.ts prints with the usage.
import t from "tap";
import { DEFAULT_SCENARIOS, parseArgs, USAGE } from "../../bench/args.ts";
import { UsageError } from "../../lib/cli/flags.ts";

t.test("defaults", async (t) => {
  t.same(parseArgs([]), {
    scenarios: DEFAULT_SCENARIOS,
    clients: undefined,
    senders: undefined,
    window: 16,
    rate: undefined,
    size: 64,
    sizeGiven: false,
    duration: undefined,
    target: undefined,
    backend: "bun",
    noCoalesce: false,
    serverArgs: [],
    maxClients: 9000,
    cRelay: undefined,
    json: false,
    wide: false,
    svg: "bench/out/chart.svg",
    compare: undefined,
    help: false,
  });
});

t.test("every flag, as --flag value and as --flag=value", async (t) => {
  const argv = [
    "--scenario",
    "fanout, stepup,,",
    "--clients=50",
    "--senders",
    "3",
    "--window",
    "4",
    "--rate=2.5",
    "--size",
    "100",
    "--duration",
    "0.5",
    "--target=[::1]:5000",
    "--backend",
    "node",
    "--no-coalesce",
    "--max-clients",
    "300",
    "--json",
    "--wide",
    "--c-relay",
    "peers/c_relay.c",
    "--svg",
    "out.svg",
  ];
  const options = parseArgs(argv);
  t.same(options.scenarios, ["fanout", "stepup"], "a list: blanks dropped, spaces trimmed");
  t.equal(options.clients, 50);
  t.equal(options.senders, 3);
  t.equal(options.window, 4);
  t.equal(options.rate, 2.5);
  t.equal(options.size, 100);
  t.equal(options.sizeGiven, true);
  t.equal(options.duration, 0.5);
  t.equal(options.target, "[::1]:5000");
  t.equal(options.backend, "node");
  t.equal(options.noCoalesce, true);
  t.equal(options.maxClients, 300);
  t.equal(options.json, true);
  t.equal(options.wide, true);
  t.equal(options.cRelay, "peers/c_relay.c");
  t.equal(options.svg, "out.svg");
  t.same(parseArgs(["--compare", "ours-bun,c,redis,127.0.0.1:9"]).compare, ["ours-bun", "c", "redis", "127.0.0.1:9"]);
  for (const name of ["ours-bun", "ours-node", "ours-nocoalesce", "ours-ws", "c", "redis", "bun-publish"])
    t.equal(parseArgs(["--target", name]).target, name, `--target ${name}: a target the harness starts`);
  t.equal(parseArgs(["--target", "ws://127.0.0.1:8080/ws"]).target, "ws://127.0.0.1:8080/ws", "a running WebSocket server");
  t.same(parseArgs(["--compare", "ws://[::1]:81/ws,bun-publish"]).compare, ["ws://[::1]:81/ws", "bun-publish"]);
  t.equal(parseArgs(["-h"]).help, true, "-h");
  t.equal(parseArgs(["--help"]).help, true, "--help");
});

t.test("bad command lines: one line saying what is wrong", async (t) => {
  const cases: [string[], string][] = [
    [["--clients", "lots"], "--clients must be an integer >= 2, got 'lots'"],
    [["--clients", "1"], "--clients must be an integer >= 2, got '1'"],
    [["--clients"], "--clients needs a value"],
    [["--size=39"], "--size must be an integer >= 40, got '39'"],
    [["--rate", "0"], "--rate must be a number >= 0.1, got '0'"],
    [["--duration", "soon"], "--duration must be a number >= 0.1, got 'soon'"],
    [["--scenario"], "--scenario needs a value"],
    [["--scenario="], "--scenario needs a value"],
    [["--scenario", "connect,nope"], "unknown scenario 'nope'"],
    [["--target"], "--target needs a target"],
    [
      ["--target", "localhost"],
      "--target expects HOST:PORT, ws://HOST:PORT/PATH or one of ours-bun, ours-node, ours-nocoalesce, ours-ws, c, redis, bun-publish; got 'localhost'",
    ],
    [
      ["--target", "localhost:0"],
      "--target expects HOST:PORT, ws://HOST:PORT/PATH or one of ours-bun, ours-node, ours-nocoalesce, ours-ws, c, redis, bun-publish; got 'localhost:0'",
    ],
    [["--target", "ws://localhost/ws"], "--target expects ws://HOST:PORT/PATH, got 'ws://localhost/ws'"],
    [["--compare", "ws://127.0.0.1:0/ws"], "--compare expects ws://HOST:PORT/PATH, got 'ws://127.0.0.1:0/ws'"],
    [["--backend"], "--backend must be bun or node, got ''"],
    [["--backend", "deno"], "--backend must be bun or node, got 'deno'"],
    [["--svg"], "--svg needs a file name"],
    [["--compare"], "--compare needs a list of targets"],
    [
      ["--compare", "ours-bun,rust"],
      "--compare expects HOST:PORT, ws://HOST:PORT/PATH or one of ours-bun, ours-node, ours-nocoalesce, ours-ws, c, redis, bun-publish; got 'rust'",
    ],
    [["--c-relay"], "--c-relay needs a file name"],
    [["--frobnicate"], "unknown option '--frobnicate'"],
    [["--frobnicate=1"], "unknown option '--frobnicate=1'"],
    [["fanout"], "unknown option 'fanout'"],
    [["-x"], "unknown option '-x'"],
    [["--target", "127.0.0.1:1", "--compare", "c"], "use either --target or --compare, not both"],
    [["--clients", "5", "--senders", "5"], "--senders must be smaller than --clients (one client observes)"],
  ];
  for (const [argv, message] of cases) t.throws(() => parseArgs(argv), new UsageError(message), argv.join(" "));
  t.throws(() => parseArgs(["--clients", "lots"]), UsageError, "a UsageError, which main.ts prints with the usage");
});

t.test("the usage lists every flag, its help aligned", async (t) => {
  const lines = USAGE.split("\n");
  t.equal(lines[0], "usage: bun bench [options]");
  const flags = [
    "scenario",
    "clients",
    "senders",
    "window",
    "rate",
    "size",
    "duration",
    "target",
    "backend",
    "no-coalesce",
    "server-args",
    "max-clients",
    "compare",
    "c-relay",
    "json",
    "wide",
    "svg",
    "help",
  ];
  t.same(
    lines.slice(1).flatMap((line) => /^ {2}(?:-h, )?--([a-z-]+)/.exec(line)?.[1] ?? []),
    flags,
    "one line per flag, in order",
  );
  t.match(USAGE, /^ {2}-h, --help {11}this text$/m, "-h shown beside --help");
  for (const line of lines.slice(1))
    t.match(line, /^.{21} {2}\S/, `help text starts in column 24, after a gap: ${line.trim().split(" ")[0]}`);
  t.match(
    USAGE,
    /side by side:\n {23}ours-bun, ours-node, ours-nocoalesce, ours-ws, c, redis, bun-publish,\n {23}HOST:PORT or ws:\/\/HOST:PORT\/PATH$/m,
    "a second help line is indented as far",
  );
  for (const line of lines) t.ok(line.length <= 100, `fits 100 columns: ${line.trim().split(" ")[0]}`);
});

t.test("--server-args passes flags on to our server", async (t) => {
  t.same(parseArgs(["--server-args", "--intake-bytes 262144  --rate 5"]).serverArgs, ["--intake-bytes", "262144", "--rate", "5"]);
});
