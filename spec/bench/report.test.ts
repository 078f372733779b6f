// The result tables: by default every line fits 100 columns, with the
// scenarios' metrics and notes wrapped below the table; --wide keeps every
// column. Rendered from a fixture of every scenario against five targets.
import t from "tap";
import { fitTable, renderCompare, renderTable, TABLE_WIDTH, wrap } from "../../bench/report.ts";
import type { ScenarioResult } from "../../bench/result.ts";
import { everyScenario, TARGETS } from "./support/results.ts";

/** Width as a terminal shows it: characters, not UTF-16 units or bytes ("µs"). */
const columns = (line: string): number => [...line].length;
const widest = (text: string): number => Math.max(...text.split("\n").map(columns));
const tooWide = (text: string): string[] => text.split("\n").filter((line) => columns(line) > TABLE_WIDTH);

/** Every `key=value` of the results' metrics: the narrow output must still say each. */
const metricItems = (results: ScenarioResult[]): string[] =>
  results.flatMap((result) => Object.entries(result.metrics).flatMap(([key, value]) => (value === null ? [] : [`${key}=${value}`])));

/** The output with wrapped note lines joined again, so an item cut at a line end can be found. */
const unwrapped = (text: string): string => text.replace(/\n {6}/g, " ");

const results = everyScenario();

t.test("single target: every line fits 100 columns, nothing is lost", async (t) => {
  for (const target of TARGETS) {
    const own = results.filter((result) => result.target === target);
    const out = renderTable(own);
    t.same(tooWide(out), [], `${target}: no line over ${TABLE_WIDTH}`);
    t.match(out, new RegExp(`^target: ${target}$`, "m"), "the target is named once, above the table");
    for (const result of own) t.match(out, new RegExp(`^${result.scenario} +${result.status}`, "m"), `${target}: a ${result.scenario} row`);
    const text = unwrapped(out);
    for (const item of metricItems(own)) t.ok(text.includes(item), `${target}: ${item} is in the notes`);
    for (const result of own) if (result.note) t.ok(text.includes(result.note.split("; ")[0]), `${target}: ${result.scenario}'s note`);
    t.match(out, /stepup steps @/, "the stepup steps");
    t.match(out, /--wide/, "says where the other columns are");
  }
});

t.test("--compare: every line fits 100 columns, metrics and notes below the table", async (t) => {
  const out = renderCompare(results, TARGETS);
  t.same(tooWide(out), [], `no line over ${TABLE_WIDTH}`);
  t.match(out, /^scenario \/ metric +ours-bun +ours-node +ours-nocoalesce +c +redis$/m, "one column per target");
  for (const scenario of ["connect", "fanout", "latency", "stepup", "memory", "cluster", "burst"])
    t.match(out, new RegExp(`^${scenario} status `, "m"), `${scenario} rows`);
  t.notMatch(out, /^\S+ metrics /m, "no metrics row in the table");
  const text = unwrapped(out);
  for (const item of metricItems(results)) t.ok(text.includes(item), `${item} is in the notes`);
  t.match(text, /cluster @ c: skipped: needs our server/, "why a target did not run");
  t.match(text, /^ {2}fanout: window=16; size=64/m, "what every target of a scenario shares is said once");
});

t.test("--compare with many targets: the table is split, each part fits", async (t) => {
  const targets = [...TARGETS, "127.0.0.1:40001", "[2001:db8::1]:5000", "ours-bun-nocoalesce"];
  const out = renderCompare(everyScenario(targets), targets);
  t.same(tooWide(out), [], `no line over ${TABLE_WIDTH}`);
  const heads = out.split("\n").filter((line) => line.startsWith("scenario / metric"));
  t.ok(heads.length >= 2, "more than one table");
  for (const target of targets)
    t.ok(
      heads.some((head) => head.includes(target)),
      `${target} has a column`,
    );
});

t.test("--wide keeps every column, and the metrics in the table", async (t) => {
  const own = results.filter((result) => result.target === "ours-bun");
  const wide = renderTable(own, { wide: true });
  const head = wide.split("\n")[0].trim().split(/ {2,}/);
  t.same(
    head,
    ["scenario", "target", "status", "clients", "senders", "sent", "expected", "delivered", "deliv/s"].concat([
      "p50 ms",
      "p90",
      "p99",
      "p99.9",
      "max",
      "lost",
      "dup",
      "order",
      "gen cpu",
      "srv cpu",
    ]),
  );
  t.match(
    wide,
    /^clients +deliv\/s +p50 ms +p95 +p99 +p99\.9 +max +lost +dup +order +gen cpu +srv cpu +note$/m,
    "every stepup step column",
  );
  const compare = renderCompare(results, TARGETS, { wide: true });
  t.match(compare, /^burst metrics +size=2048; completeMs=1810/m, "the metrics row");
  t.ok(widest(compare) > TABLE_WIDTH, "wider than the default (the fixture is wide enough to tell)");
});

t.test("fitTable and wrap", async (t) => {
  const rows = [
    ["name", "a".repeat(30), "b".repeat(30), "c".repeat(30)],
    ["x", "1", "2", "3"],
  ];
  t.equal(fitTable(rows, 200).split("\n").length, 3, "one table when it fits");
  const split = fitTable(rows, 50);
  t.equal(widest(split), 36, "parts fit: the first column and one more");
  t.equal(split.split("\n").filter((line) => line.startsWith("name")).length, 3, "each part repeats the first column");
  t.same(wrap("one two three four", 9, "", "  "), ["one two", "  three", "  four"]);
  t.same(wrap(`path ${"/x".repeat(10)}`, 10), ["path", "/x/x/x/x/x", "/x/x/x/x/x"], "a word longer than a line is cut");
});

t.test("a legend under the table says what deliv/s and the cpu column are", async (t) => {
  const own = results.filter((result) => result.target === "ours-bun");
  const layouts: Array<[string, string, string, string]> = [
    ["one target", renderTable(own), "deliv/s", "cpu gen/srv"],
    ["--compare", renderCompare(results, TARGETS), "deliveries/s", "gen/srv cpu"],
    ["--wide", renderTable(own, { wide: true }), "deliv/s", "gen cpu, srv cpu"],
  ];
  for (const [layout, out, deliveries, cpu] of layouts) {
    const rows = out.split("\n");
    const at = rows.findIndex((row) => row.startsWith(`${deliveries}: `));
    t.ok(at > 0, `${layout}: a legend line`);
    t.match(rows[at], `${deliveries}: lines received per second, all clients; ${cpu}: generator/server, % of one core`);
    t.match(rows[at - 1], /^\S+ +\S/, `${layout}: right under the table's last row`);
    t.ok(columns(rows[at]) <= TABLE_WIDTH, `${layout}: one line within ${TABLE_WIDTH} columns`);
  }
  t.match(renderTable(own), /every column explained: docs\/performance\.md$/, "and where the rest is said");
});

t.test("the rooms scenarios in --compare: their layout, lines across rooms and the idle rooms' memory as rows", async (t) => {
  const base = results.find((result) => result.scenario === "fanout" && result.target === "ours-bun")!;
  const rooms = (target: string, cross: number): ScenarioResult => ({
    ...base,
    scenario: "rooms",
    target,
    clients: 10_000,
    senders: 1000,
    note: undefined,
    metrics: { rooms: 1000, members: 10, sendersPerRoom: 1, crossRoom: cross, crossRoomAtSetup: 0, srvUsPer1kDeliv: 935.4 },
  });
  const idle = (target: string, rooms: number, one: number): ScenarioResult => ({
    ...base,
    scenario: "rooms-idle",
    target,
    clients: 1000,
    senders: 0,
    note: undefined,
    deliveriesPerSec: null,
    latencyUs: null,
    genCpu: null,
    serverCpu: null,
    metrics: {
      rooms: 1000,
      members: 1,
      roomsRssMb: rooms,
      oneRoomRssMb: one,
      kbPerClientRooms: 28.7,
      kbPerClientOneRoom: 16.4,
      kbPerRoom: 12.3,
      crossRoom: 0,
    },
  });
  const all = [rooms("ours-bun", 0), rooms("c-rooms", 0), idle("ours-bun", 68.6, 55.9), idle("c-rooms", 18.1, 12.6)];
  const out = renderCompare(all, ["ours-bun", "c-rooms"]);
  t.same(tooWide(out), [], `no line over ${TABLE_WIDTH}`);
  t.match(out, /^rooms rooms x members +1000x10 +1000x10$/m);
  t.match(out, /^rooms lines across rooms +0 +0$/m);
  t.match(out, /^rooms srv cpu µs\/1k deliv +\S+ +\S+$/m, "the server's CPU per delivery, as fanout's");
  t.match(out, /^rooms-idle RSS, R rooms of M +68\.6 MB +18\.1 MB$/m);
  t.match(out, /^rooms-idle RSS, one room of R x M +55\.9 MB +12\.6 MB$/m);
  t.match(out, /^rooms-idle KB per room +12\.3 +12\.3$/m);
  t.notMatch(out, /^rooms-idle deliveries\/s/m, "no delivery rows for an idle scenario");
  t.match(renderCompare([rooms("ours-bun", 7)], ["ours-bun"]), /^rooms lines across rooms +7$/m);
  t.match(unwrapped(renderTable([rooms("ours-bun", 0)])), /crossRoom=0/, "one target: in the notes");
});
