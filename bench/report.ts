// Human table (stdout) and JSON lines. Accounting columns (lost, dup, order)
// are always shown so a clean run is visibly clean.

import type { ScenarioResult } from "./result.ts";

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

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  const line = (row: string[]): string =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column])))
      .join("  ")
      .trimEnd();
  return [line(rows[0]), widths.map((width) => "-".repeat(width)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

/** The scenario's own metrics and its note, as one `key=value; ...` cell. */
function extras(result: ScenarioResult): string {
  const metrics = Object.entries(result.metrics)
    .filter(([, value]) => value !== null)
    .map(([key, value]) => `${key}=${value}`);
  return [...metrics, result.note ?? ""].filter(Boolean).join("; ");
}

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

export function renderTable(results: ScenarioResult[]): string {
  const out = [table([HEAD, ...results.map(row)])];
  const notes = results.map((result) => [result, extras(result)] as const).filter(([, extra]) => extra);
  if (notes.length) out.push("", "notes:", ...notes.map(([result, extra]) => `  ${result.scenario} @ ${result.target}: ${extra}`));
  return [...out, ...renderSteps(results)].join("\n");
}

function renderSteps(results: ScenarioResult[]): string[] {
  const out: string[] = [];
  for (const result of results) {
    if (!result.steps?.length) continue;
    out.push("", `stepup steps @ ${result.target} (open loop, ${result.senders} senders):`);
    out.push(
      table([
        ["clients", "deliv/s", "p50 ms", "p95", "p99", "p99.9", "max", "lost", "dup", "order", "gen cpu", "srv cpu", "note"],
        ...result.steps.map((step) => [
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
        ]),
      ]),
    );
  }
  return out;
}

/** Server CPU time (µs) spent per 1000 deliveries, or '-' when unknown. */
export function srvCostPer1k(result: ScenarioResult): string {
  if (result.serverCpu === null || !result.deliveriesPerSec) return "-";
  return ((result.serverCpu / result.deliveriesPerSec) * 1e9).toFixed(1);
}

/** --compare: one column per target, one row per scenario metric. */
export function renderCompare(results: ScenarioResult[], targets: string[]): string {
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
    [
      "lost/dup/order",
      (result) =>
        result.status === "ok" ? `${result.accounting.lost}/${result.accounting.duplicates}/${result.accounting.orderViolations}` : "-",
    ],
    ["gen/srv cpu", (result) => `${pct(result.genCpu)}/${pct(result.serverCpu)}`],
    // server CPU per delivery: comparable even when the generator, not the server, sets the rate
    ["srv cpu µs/1k deliv", (result) => srvCostPer1k(result)],
    ["metrics", (result) => extras(result)],
  ];
  for (const scenario of scenarios)
    for (const [name, cellOf] of metricRows) {
      const cells = targets.map((target) => {
        const result = find(scenario, target);
        return result ? cellOf(result) : "-";
      });
      if (cells.every((cell) => !cell || cell === "-" || cell === "-/-")) continue; // nothing measured

      rows.push([`${scenario} ${name}`, ...cells]);
    }
  return [table(rows), ...renderSteps(results)].join("\n");
}

export function jsonLine(result: ScenarioResult): string {
  return JSON.stringify(result);
}
