// Shapes shared by scenarios, report and chart.

import type { Totals } from "./accounting.ts";
import type { Percentiles } from "./histogram.ts";

export interface StepResult {
  clients: number;
  deliveriesPerSec: number;
  latencyUs: Percentiles;
  accounting: Totals;
  genCpu: number;
  serverCpu: number | null;
  note?: string;
}

export interface ScenarioResult {
  scenario: string;
  target: string;
  status: "ok" | "skipped" | "failed";
  note?: string;
  clients: number;
  senders: number;
  durationS: number;
  /** for connect: sent = clients, expected/delivered = join notices */
  accounting: Totals;
  deliveriesPerSec: number | null;
  latencyUs: Percentiles | null;
  /** fraction of one core used by the generator / the server during measurement */
  genCpu: number | null;
  serverCpu: number | null;
  metrics: Record<string, number | string | null>;
  steps?: StepResult[];
}

export function emptyTotals(): Totals {
  return { sent: 0, expected: 0, delivered: 0, lost: 0, duplicates: 0, orderViolations: 0, foreign: 0 };
}

export function notRun(scenario: string, target: string, status: "skipped" | "failed", note: string): ScenarioResult {
  return {
    scenario,
    target,
    status,
    note,
    clients: 0,
    senders: 0,
    durationS: 0,
    accounting: emptyTotals(),
    deliveriesPerSec: null,
    latencyUs: null,
    genCpu: null,
    serverCpu: null,
    metrics: {},
  };
}
