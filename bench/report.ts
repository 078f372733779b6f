// Human table (stdout) and JSON lines. Accounting columns (lost, dup, order)
// are always shown so a clean run is visibly clean.

import type { ScenarioResult } from './result.ts';

const ms = (us: number | undefined): string => (us === undefined ? '-' : (us / 1000).toFixed(us < 10_000 ? 2 : 1));
const pct = (f: number | null): string => (f === null ? '-' : `${Math.round(f * 100)}%`);
const big = (n: number | null): string =>
  n === null ? '-' : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : `${Math.round(n)}`;

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

function extras(r: ScenarioResult): string {
  const m = Object.entries(r.metrics)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`);
  return [...m, r.note ?? ''].filter(Boolean).join('; ');
}

const HEAD = ['scenario', 'target', 'status', 'clients', 'senders', 'sent', 'expected', 'delivered', 'deliv/s', 'p50 ms', 'p90', 'p99', 'p99.9', 'max', 'lost', 'dup', 'order', 'gen cpu', 'srv cpu'];

function row(r: ScenarioResult): string[] {
  const l = r.latencyUs ?? undefined;
  const a = r.accounting;
  const ran = r.status === 'ok';
  return [
    r.scenario, r.target, r.status,
    ran ? String(r.clients) : '-', ran ? String(r.senders) : '-',
    ran ? big(a.sent) : '-', ran ? big(a.expected) : '-', ran ? big(a.delivered) : '-',
    big(r.deliveriesPerSec),
    ms(l?.p50), ms(l?.p90), ms(l?.p99), ms(l?.p999), ms(l?.max),
    ran ? String(a.lost) : '-', ran ? String(a.duplicates) : '-', ran ? String(a.orderViolations) : '-',
    pct(r.genCpu), pct(r.serverCpu),
  ];
}

export function renderTable(results: ScenarioResult[]): string {
  const out = [table([HEAD, ...results.map(row)])];
  const notes = results.map((r) => [r, extras(r)] as const).filter(([, e]) => e);
  if (notes.length) out.push('', 'notes:', ...notes.map(([r, e]) => `  ${r.scenario} @ ${r.target}: ${e}`));
  return [...out, ...renderSteps(results)].join('\n');
}

function renderSteps(results: ScenarioResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    if (!r.steps?.length) continue;
    out.push('', `stepup steps @ ${r.target} (open loop, ${r.senders} senders):`);
    out.push(
      table([
        ['clients', 'deliv/s', 'p50 ms', 'p95', 'p99', 'p99.9', 'max', 'lost', 'dup', 'order', 'gen cpu', 'srv cpu', 'note'],
        ...r.steps.map((s) => [
          String(s.clients), big(s.deliveriesPerSec), ms(s.latencyUs.p50), ms(s.latencyUs.p95), ms(s.latencyUs.p99), ms(s.latencyUs.p999), ms(s.latencyUs.max),
          String(s.accounting.lost), String(s.accounting.duplicates), String(s.accounting.orderViolations), pct(s.genCpu), pct(s.serverCpu), s.note ?? '',
        ]),
      ]),
    );
  }
  return out;
}

/** Server CPU time (µs) spent per 1000 deliveries, or '-' when unknown. */
export function srvCostPer1k(r: ScenarioResult): string {
  if (r.serverCpu === null || !r.deliveriesPerSec) return '-';
  return ((r.serverCpu / r.deliveriesPerSec) * 1e9).toFixed(1);
}

/** --compare: one column per target, one row per scenario metric. */
export function renderCompare(results: ScenarioResult[], targets: string[]): string {
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  const rows: string[][] = [['scenario / metric', ...targets]];
  const get = (s: string, t: string): ScenarioResult | undefined => results.find((r) => r.scenario === s && r.target === t);
  const metricRows: [string, (r: ScenarioResult) => string][] = [
    ['status', (r) => r.status],
    ['deliveries/s', (r) => big(r.deliveriesPerSec)],
    ['p50 ms', (r) => ms(r.latencyUs?.p50)],
    ['p99 ms', (r) => ms(r.latencyUs?.p99)],
    ['max ms', (r) => ms(r.latencyUs?.max)],
    ['lost/dup/order', (r) => (r.status === 'ok' ? `${r.accounting.lost}/${r.accounting.duplicates}/${r.accounting.orderViolations}` : '-')],
    ['gen/srv cpu', (r) => `${pct(r.genCpu)}/${pct(r.serverCpu)}`],
    // server CPU per delivery: comparable even when the generator, not the server, sets the rate
    ['srv cpu µs/1k deliv', (r) => srvCostPer1k(r)],
    ['metrics', (r) => extras(r)],
  ];
  for (const s of scenarios)
    for (const [name, f] of metricRows) {
      const cells = targets.map((t) => {
        const r = get(s, t);
        return r ? f(r) : '-';
      });
      if (cells.every((c) => !c || c === '-' || c === '-/-')) continue; // nothing measured

      rows.push([`${s} ${name}`, ...cells]);
    }
  return [table(rows), ...renderSteps(results)].join('\n');
}

export function jsonLine(r: ScenarioResult): string {
  return JSON.stringify(r);
}
