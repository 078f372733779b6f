// Human table (stdout) and JSON lines. Accounting columns (lost, dup, order)
// are always shown so a clean run is visibly clean.
//
// By default every line fits TABLE_WIDTH (100) columns: the tables keep the
// figures that compare servers, a table too wide for that (many --compare
// targets) is split into several, and the scenarios' own metrics and notes
// follow the table as wrapped text. --wide prints every column, metrics and
// notes inside the tables; --json prints everything.

import type { ScenarioResult, StepResult } from "./result.ts";

/** The width the default output fits. */
export const TABLE_WIDTH = 100;

/** How to render: `wide` for every column, however wide. */
export interface Look {
  wide?: boolean;
}

/** Microseconds shown as milliseconds; '-' when unknown. */
const ms = (us: number | undefined): string => (us === undefined ? "-" : (us / 1000).toFixed(us < 10_000 ? 2 : 1));
/** A fraction shown as a percentage; '-' when unknown. */
const pct = (fraction: number | null): string => (fraction === null ? "-" : `${Math.round(fraction * 100)}%`);
/** A count shown as 789, 45.6k or 1.23M; '-' when unknown. */
const big = (count: number | null): string =>
  count === null
    ? "-"
    : count >= 1e6
      ? `${(count / 1e6).toFixed(2)}M`
      : count >= 1e4
        ? `${(count / 1e3).toFixed(1)}k`
        : `${Math.round(count)}`;

/** Each column's width: its widest cell. */
const columnWidths = (rows: string[][]): number[] => rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));

/** `rows` (the first is the head) as aligned text: the first `left` columns flush left, the others right. */
export function table(rows: string[][], left = 1): string {
  const widths = columnWidths(rows);
  const line = (row: string[]): string =>
    row
      .map((cell, column) => (column < left ? cell.padEnd(widths[column]) : cell.padStart(widths[column])))
      .join("  ")
      .trimEnd();
  return [line(rows[0]), widths.map((width) => "-".repeat(width)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

/**
 * `rows` as one table if it fits `width`; otherwise as several, one under
 * the other, each with the first `keep` columns and as many of the others
 * as fit.
 */
export function fitTable(rows: string[][], width = TABLE_WIDTH, keep = 1): string {
  const widths = columnWidths(rows);
  const span = (columns: number[]): number => columns.reduce((sum, column) => sum + widths[column], 0) + 2 * (columns.length - 1);
  const kept = widths.slice(0, keep).map((_, column) => column);
  const groups: number[][] = [];
  let group = [...kept];
  for (let column = keep; column < widths.length; column++) {
    if (group.length > keep && span([...group, column]) > width) {
      groups.push(group);
      group = [...kept];
    }
    group.push(column);
  }
  groups.push(group);
  return groups
    .map((columns) =>
      table(
        rows.map((row) => columns.map((column) => row[column] ?? "")),
        keep,
      ),
    )
    .join("\n\n");
}

/**
 * `text` filled into lines of at most `width` characters: the first starts
 * with `indent`, the others with `hanging`. A word longer than a line is cut.
 */
export function wrap(text: string, width = TABLE_WIDTH, indent = "", hanging = indent): string[] {
  const room = Math.max(1, width - Math.max(indent.length, hanging.length));
  const words = text
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((word) => (word.length <= room ? [word] : (word.match(new RegExp(`.{1,${room}}`, "g")) ?? [])));
  const lines: string[] = [];
  let line = indent;
  let empty = true;
  for (const word of words) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = hanging;
      empty = true;
    }
    line += (empty ? "" : " ") + word;
    empty = false;
  }
  if (!empty || !lines.length) lines.push(line);
  return lines;
}

/** The scenario's own metrics and the parts of its note, as `key=value` / text items. */
function extraItems(result: ScenarioResult): string[] {
  const metrics = Object.entries(result.metrics)
    .filter(([, value]) => value !== null)
    .map(([key, value]) => `${key}=${value}`);
  return [...metrics, ...(result.note ?? "").split("; ")].filter(Boolean);
}

/** The scenario's own metrics and its note, as one `key=value; ...` cell. */
function extras(result: ScenarioResult): string {
  return extraItems(result).join("; ");
}

const lostDupOrder = (result: { accounting: ScenarioResult["accounting"] }): string =>
  `${result.accounting.lost}/${result.accounting.duplicates}/${result.accounting.orderViolations}`;

/** A note under a table: `what: text`, wrapped, continuation lines indented. */
const noteLines = (what: string, text: string): string[] => wrap(`${what}: ${text}`, TABLE_WIDTH, "  ", "      ");

const HINT = "more columns: --wide; every figure: --json; every column explained: docs/performance.md";

/**
 * The line under a table that says what its two least obvious columns
 * hold, given as the table heads them (`deliv/s`, `cpu gen/srv`).
 */
export const legend = (deliveries: string, cpu: string): string =>
  `${deliveries}: lines received per second, all clients; ${cpu}: generator/server, % of one core`;

const HEAD = [
  "scenario",
  "target",
  "status",
  "clients",
  "senders",
  "sent",
  "expected",
  "delivered",
  "deliv/s",
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
];

function row(result: ScenarioResult): string[] {
  const latency = result.latencyUs ?? undefined;
  const accounting = result.accounting;
  const ran = result.status === "ok";
  return [
    result.scenario,
    result.target,
    result.status,
    ran ? String(result.clients) : "-",
    ran ? String(result.senders) : "-",
    ran ? big(accounting.sent) : "-",
    ran ? big(accounting.expected) : "-",
    ran ? big(accounting.delivered) : "-",
    big(result.deliveriesPerSec),
    ms(latency?.p50),
    ms(latency?.p90),
    ms(latency?.p99),
    ms(latency?.p999),
    ms(latency?.max),
    ran ? String(accounting.lost) : "-",
    ran ? String(accounting.duplicates) : "-",
    ran ? String(accounting.orderViolations) : "-",
    pct(result.genCpu),
    pct(result.serverCpu),
  ];
}

/** The default table's columns; `target` only when the results hold more than one. */
const NARROW_HEAD = ["scenario", "target", "status", "clients", "deliv/s", "p50 ms", "p99", "max", "lost/dup/ord", "cpu gen/srv"];

function narrowRow(result: ScenarioResult): string[] {
  const latency = result.latencyUs ?? undefined;
  const ran = result.status === "ok";
  return [
    result.scenario,
    result.target,
    result.status,
    ran ? String(result.clients) : "-",
    big(result.deliveriesPerSec),
    ms(latency?.p50),
    ms(latency?.p99),
    ms(latency?.max),
    ran ? lostDupOrder(result) : "-",
    `${pct(result.genCpu)}/${pct(result.serverCpu)}`,
  ];
}

/** One target's results (or several, in rows): a table, then notes and stepup steps. */
export function renderTable(results: ScenarioResult[], look: Look = {}): string {
  if (look.wide) return renderWideTable(results);
  const targets = [...new Set(results.map((result) => result.target))];
  const drop = targets.length === 1 ? 1 : -1; // the target column, when it says the same on every row
  const rows = [NARROW_HEAD, ...results.map(narrowRow)].map((cells) => cells.filter((_, column) => column !== drop));
  const out = targets.length === 1 ? [`target: ${targets[0]}`, ""] : [];
  out.push(fitTable(rows, TABLE_WIDTH, targets.length === 1 ? 1 : 2), legend("deliv/s", "cpu gen/srv"));
  const notes = noteGroups(results, targets.length > 1);
  if (notes.length) out.push("", "notes:", ...notes);
  out.push(...renderSteps(results), "", HINT);
  return out.join("\n");
}

/**
 * The notes under a table: per scenario (and target), its metrics and note.
 * Items every target of a scenario shares are said once for the scenario;
 * identical notes of several scenarios (a skipped target's reason) once for all.
 */
function noteGroups(results: ScenarioResult[], perTarget: boolean): string[] {
  const groups: { scenarios: string[]; target: string | null; text: string }[] = [];
  const add = (scenario: string, target: string | null, text: string): void => {
    const same = groups.find((group) => group.target === target && group.text === text);
    if (same) same.scenarios.push(scenario);
    else groups.push({ scenarios: [scenario], target, text });
  };
  for (const scenario of [...new Set(results.map((result) => result.scenario))]) {
    const ofScenario = results.filter((result) => result.scenario === scenario);
    const items = ofScenario.map(extraItems);
    const ran = ofScenario.map((result, i) => (result.status === "ok" ? items[i] : null)).filter((list) => list !== null);
    const shared = perTarget && ran.length > 1 ? ran[0].filter((item) => ran.every((list) => list.includes(item))) : [];
    if (shared.length) add(scenario, null, shared.join("; "));
    ofScenario.forEach((result, i) => {
      const own = items[i].filter((item) => !shared.includes(item) || result.status !== "ok");
      const text = result.status === "ok" ? own.join("; ") : `${result.status}: ${own.join("; ")}`;
      if (text) add(scenario, perTarget ? result.target : null, text);
    });
  }
  return groups.flatMap((group) => noteLines(group.scenarios.join(", ") + (group.target === null ? "" : ` @ ${group.target}`), group.text));
}

/** --wide: every column, metrics and notes in the table. */
function renderWideTable(results: ScenarioResult[]): string {
  const out = [table([HEAD, ...results.map(row)]), legend("deliv/s", "gen cpu, srv cpu")];
  const notes = results.map((result) => [result, extras(result)] as const).filter(([, extra]) => extra);
  if (notes.length) out.push("", "notes:", ...notes.map(([result, extra]) => `  ${result.scenario} @ ${result.target}: ${extra}`));
  return [...out, ...renderSteps(results, true)].join("\n");
}

const WIDE_STEP_HEAD = ["clients", "deliv/s", "p50 ms", "p95", "p99", "p99.9", "max", "lost", "dup", "order", "gen cpu", "srv cpu", "note"];
const STEP_HEAD = ["clients", "deliv/s", "p50 ms", "p95", "p99", "max", "lost/dup/ord", "cpu gen/srv"];

const wideStepRow = (step: StepResult): string[] => [
  String(step.clients),
  big(step.deliveriesPerSec),
  ms(step.latencyUs.p50),
  ms(step.latencyUs.p95),
  ms(step.latencyUs.p99),
  ms(step.latencyUs.p999),
  ms(step.latencyUs.max),
  String(step.accounting.lost),
  String(step.accounting.duplicates),
  String(step.accounting.orderViolations),
  pct(step.genCpu),
  pct(step.serverCpu),
  step.note ?? "",
];

const stepRow = (step: StepResult): string[] => [
  String(step.clients),
  big(step.deliveriesPerSec),
  ms(step.latencyUs.p50),
  ms(step.latencyUs.p95),
  ms(step.latencyUs.p99),
  ms(step.latencyUs.max),
  lostDupOrder(step),
  `${pct(step.genCpu)}/${pct(step.serverCpu)}`,
];

function renderSteps(results: ScenarioResult[], wide = false): string[] {
  const out: string[] = [];
  for (const result of results) {
    if (!result.steps?.length) continue;
    out.push("", `stepup steps @ ${result.target} (open loop, ${result.senders} senders):`);
    if (wide) {
      out.push(table([WIDE_STEP_HEAD, ...result.steps.map(wideStepRow)]));
      continue;
    }
    out.push(fitTable([STEP_HEAD, ...result.steps.map(stepRow)]));
    for (const step of result.steps) if (step.note) out.push(...noteLines(`${step.clients} clients`, step.note));
  }
  return out;
}

/** Server CPU time (µs) spent per 1000 deliveries, or '-' when unknown. */
export function srvCostPer1k(result: ScenarioResult): string {
  if (result.serverCpu === null || !result.deliveriesPerSec) return "-";
  return ((result.serverCpu / result.deliveriesPerSec) * 1e9).toFixed(1);
}

/** A metric as a cell: its value and unit, '-' when the result has none. */
const metricCell =
  (key: string, unit = "") =>
  (result: ScenarioResult): string => {
    const value = result.metrics[key];
    return value === null || value === undefined || result.status !== "ok" ? "-" : `${value}${unit}`;
  };

/** Rows some scenarios add to the --compare table, after the common ones: what they are about. */
const SCENARIO_ROWS: Record<string, [string, (result: ScenarioResult) => string][]> = {
  rooms: [
    ["rooms x members", (result) => (result.status === "ok" ? `${result.metrics.rooms}x${result.metrics.members}` : "-")],
    ["lines across rooms", metricCell("crossRoom")],
  ],
  "rooms-idle": [
    ["RSS, R rooms of M", metricCell("roomsRssMb", " MB")],
    ["RSS, one room of R x M", metricCell("oneRoomRssMb", " MB")],
    ["KB per client, R rooms", metricCell("kbPerClientRooms")],
    ["KB per client, one room", metricCell("kbPerClientOneRoom")],
    ["KB per room", metricCell("kbPerRoom")],
    ["lines across rooms", metricCell("crossRoom")],
  ],
};

/** --compare: one column per target, one row per scenario metric. */
export function renderCompare(results: ScenarioResult[], targets: string[], look: Look = {}): string {
  const scenarios = [...new Set(results.map((result) => result.scenario))];
  const rows: string[][] = [["scenario / metric", ...targets]];
  const find = (scenario: string, target: string): ScenarioResult | undefined =>
    results.find((result) => result.scenario === scenario && result.target === target);
  const metricRows: [string, (result: ScenarioResult) => string][] = [
    ["status", (result) => result.status],
    ["deliveries/s", (result) => big(result.deliveriesPerSec)],
    ["p50 ms", (result) => ms(result.latencyUs?.p50)],
    ["p99 ms", (result) => ms(result.latencyUs?.p99)],
    ["max ms", (result) => ms(result.latencyUs?.max)],
    ["lost/dup/order", (result) => (result.status === "ok" ? lostDupOrder(result) : "-")],
    ["gen/srv cpu", (result) => `${pct(result.genCpu)}/${pct(result.serverCpu)}`],
    // server CPU per delivery: comparable even when the generator, not the server, sets the rate
    ["srv cpu µs/1k deliv", (result) => srvCostPer1k(result)],
  ];
  // --wide: the metrics and notes in the table; by default they follow it
  if (look.wide) metricRows.push(["metrics", (result) => extras(result)]);
  for (const scenario of scenarios)
    for (const [name, cellOf] of [...metricRows, ...(SCENARIO_ROWS[scenario] ?? [])]) {
      const cells = targets.map((target) => {
        const result = find(scenario, target);
        return result ? cellOf(result) : "-";
      });
      if (cells.every((cell) => !cell || cell === "-" || cell === "-/-")) continue; // nothing measured

      rows.push([`${scenario} ${name}`, ...cells]);
    }
  if (look.wide) return [table(rows), ...renderSteps(results, true)].join("\n");
  const out = [fitTable(rows), legend("deliveries/s", "gen/srv cpu")];
  const notes = noteGroups(results, true);
  if (notes.length) out.push("", "notes:", ...notes);
  out.push(...renderSteps(results), "", HINT);
  return out.join("\n");
}

export function jsonLine(result: ScenarioResult): string {
  return JSON.stringify(result);
}
