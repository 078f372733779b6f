// `bun bench`'s command line (bench/args.ts on lib/cli/flags.ts): values,
// defaults, and the one-line errors main.ts prints with the usage.
import t from "tap";
import { DEFAULT_SCENARIOS, parseArgs, roomFlags, roomsLayout, usage } from "../../bench/args.ts";
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
    cRooms: undefined,
    rooms: undefined,
    members: undefined,
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
    "--c-rooms=peers/c_rooms.c",
    "--rooms",
    "40",
    "--members=7",
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
  t.equal(options.cRooms, "peers/c_rooms.c");
  t.equal(options.rooms, 40);
  t.equal(options.members, 7);
  t.equal(options.svg, "out.svg");
  t.same(parseArgs(["--compare", "ours-bun,c,redis,127.0.0.1:9"]).compare, ["ours-bun", "c", "redis", "127.0.0.1:9"]);
  for (const name of ["ours-bun", "ours-node", "ours-nocoalesce", "ours-ws", "c", "c-rooms", "redis", "bun-publish"])
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
      "--target expects HOST:PORT, ws://HOST:PORT/PATH or one of ours-bun, ours-node, ours-nocoalesce, ours-ws, c, c-rooms, redis, bun-publish; got 'localhost'",
    ],
    [
      ["--target", "localhost:0"],
      "--target expects HOST:PORT, ws://HOST:PORT/PATH or one of ours-bun, ours-node, ours-nocoalesce, ours-ws, c, c-rooms, redis, bun-publish; got 'localhost:0'",
    ],
    [["--target", "ws://localhost/ws"], "--target expects ws://HOST:PORT/PATH, got 'ws://localhost/ws'"],
    [["--compare", "ws://127.0.0.1:0/ws"], "--compare expects ws://HOST:PORT/PATH, got 'ws://127.0.0.1:0/ws'"],
    [["--backend"], "--backend must be bun or node, got ''"],
    [["--backend", "deno"], "--backend must be bun or node, got 'deno'"],
    [["--svg"], "--svg needs a file name"],
    [["--compare"], "--compare needs a list of targets"],
    [
      ["--compare", "ours-bun,rust"],
      "--compare expects HOST:PORT, ws://HOST:PORT/PATH or one of ours-bun, ours-node, ours-nocoalesce, ours-ws, c, c-rooms, redis, bun-publish; got 'rust'",
    ],
    [["--c-relay"], "--c-relay needs a file name"],
    [["--c-rooms"], "--c-rooms needs a file name"],
    [["--rooms", "0"], "--rooms must be an integer >= 1, got '0'"],
    [["--members", "two"], "--members must be an integer >= 1, got 'two'"],
    [
      ["--scenario", "rooms", "--members", "1"],
      "--members must be at least 2 in the rooms scenario (a line goes to the others in its room)",
    ],
    [["--scenario", "rooms", "--members", "3", "--senders", "4"], "--senders (per room, in the rooms scenario) must be at most --members"],
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

t.test("the usage lists every flag, wrapped to 80 columns, and says where the whole story is", async (t) => {
  const text = usage(80);
  const lines = text.replace(/\n$/, "").split("\n");
  t.equal(lines[0], "Usage: npm run bench -- [flags]", "a command a fresh clone has (bun is in node_modules/.bin only)");
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
    "rooms",
    "members",
    "compare",
    "c-relay",
    "c-rooms",
    "json",
    "wide",
    "svg",
    "help",
  ];
  t.same(
    lines.flatMap((line) => /^ {2}(?:-h, )?--([a-z-]+)/.exec(line)?.[1] ?? []),
    flags,
    "one line per flag, in order",
  );
  t.match(text, /^ {2}-h, --help +this text$/m, "-h shown beside --help");
  const column = /^( {2}--scenario a,b +)\S/m.exec(text)![1]!.length;
  t.ok(column <= 28, "descriptions start by column 28");
  for (const line of lines.filter((row) => /^ {3}/.test(row)))
    t.match(line, new RegExp(`^ {${column}}\\S`), "continuations indented as far");
  t.match(
    text.replace(/\n +/g, " "),
    "side by side: ours-bun, ours-node, ours-nocoalesce, ours-ws, c, c-rooms, redis, bun-publish, HOST:PORT or ws://HOST:PORT/PATH",
    "a help text's line breaks are the printer's",
  );
  for (const line of lines) t.ok(line.length <= 80, `fits 80 columns: ${line.trim().split(" ")[0]}`);
  t.match(text.replace(/\n/g, " "), /columns mean, .*docs\/performance\.md/, "where the scenarios and the columns are described");
  t.ok(
    usage(132)
      .split("\n")
      .some((line) => line.length > 80),
    "a wider terminal gets wider lines",
  );
});

t.test("the rooms scenarios: their layout, and what our server is told to hold", async (t) => {
  t.same(parseArgs(["--scenario", "rooms,rooms-idle"]).scenarios, ["rooms", "rooms-idle"]);
  t.same(roomsLayout({}, "rooms"), { rooms: 100, members: 10, senders: 1 }, "rooms: 100 rooms of 10, one sender in each");
  t.same(roomsLayout({}, "rooms-idle"), { rooms: 1000, members: 1, senders: 0 }, "rooms-idle: 1000 rooms of one idle member");
  t.same(roomsLayout(parseArgs(["--rooms", "1000", "--members", "10", "--senders", "2"]), "rooms"), {
    rooms: 1000,
    members: 10,
    senders: 2,
  });
  t.same(roomsLayout({ members: 3, senders: 9 }, "rooms"), { rooms: 100, members: 3, senders: 3 }, "at most every member sends");
  const flags = (argv: string[]) => roomFlags(parseArgs(argv));
  t.same(flags(["--scenario", "fanout"]), [], "no rooms scenario: our server as always");
  t.same(flags(["--scenario", "rooms"]), [], "100 x 10 fits the defaults (1000 rooms, 10000 clients)");
  t.same(flags(["--scenario", "rooms-idle"]), ["--max-rooms", "1002"], "1000 rooms, the default room and the probe's");
  t.same(flags(["--scenario", "rooms", "--rooms", "1500", "--members", "10"]), ["--max-rooms", "1502", "--max-clients", "15001"]);
});

t.test("--server-args passes flags on to our server", async (t) => {
  t.same(parseArgs(["--server-args", "--intake-bytes 262144  --rate 5"]).serverArgs, ["--intake-bytes", "262144", "--rate", "5"]);
});
