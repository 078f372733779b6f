// Hand-written SVG: left, stepup latency percentiles vs clients (log y);
// right, deliveries/s per scenario and target as bars. No dependencies.

import type { ScenarioResult } from "./result.ts";

/** Each of the two panels is this wide; the chart is as high as one. */
const PANEL_WIDTH = 960;
const HEIGHT = 400;
/** Room inside a panel around its plot area: axis labels, title. */
const PAD = { left: 60, right: 20, top: 40, bottom: 60 };
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

const escapeXml = (raw: string): string => raw.replace(/[<>&"]/g, (char) => `&#${char.charCodeAt(0)};`);

function text(x: number, y: number, content: string, extra = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${escapeXml(content)}</text>`;
}

function latencyPanel(results: ScenarioResult[], left: number, width: number): string {
  const parts: string[] = [text(left + width / 2, 24, "stepup: latency percentiles vs clients", 'text-anchor="middle" font-weight="bold"')];
  // colour = target, dash = percentile: with four targets, a colour per series would repeat
  const series: { label: string; color: string; dash: string; points: [number, number][] }[] = [];
  results
    .filter((result) => result.steps?.length)
    .forEach((result, targetIndex) => {
      for (const [key, dash] of [
        ["p50", ""],
        ["p95", "6 3"],
        ["p99", "2 2"],
      ] as const)
        series.push({
          label: `${result.target} ${key}`,
          color: COLORS[targetIndex % COLORS.length],
          dash,
          points: result.steps!.map((step) => [step.clients, Math.max(step.latencyUs[key], 1) / 1000]),
        });
    });
  const plotLeft = left + PAD.left;
  const right = left + width - PAD.right;
  const yTop = PAD.top;
  const yBot = HEIGHT - PAD.bottom;
  parts.push(
    `<line x1="${plotLeft}" y1="${yBot}" x2="${right}" y2="${yBot}" stroke="#000"/><line x1="${plotLeft}" y1="${yTop}" x2="${plotLeft}" y2="${yBot}" stroke="#000"/>`,
  );
  if (!series.length) return parts.join("") + text(left + width / 2, HEIGHT / 2, "no stepup data", 'text-anchor="middle" fill="#888"');
  const clientCounts = series.flatMap((line) => line.points.map((point) => point[0]));
  const maxClients = Math.max(...clientCounts) * 1.05;
  const latenciesMs = series.flatMap((line) => line.points.map((point) => point[1]));
  const lowDecade = Math.floor(Math.log10(Math.min(...latenciesMs, 0.1)));
  const highDecade = Math.ceil(Math.log10(Math.max(...latenciesMs, 300)));
  const xOf = (clients: number): number => plotLeft + (clients / maxClients) * (right - plotLeft);
  const yOf = (latencyMs: number): number => yBot - ((Math.log10(latencyMs) - lowDecade) / (highDecade - lowDecade)) * (yBot - yTop);
  for (let decade = lowDecade; decade <= highDecade; decade++) {
    const y = yOf(10 ** decade);
    parts.push(
      `<line x1="${plotLeft}" y1="${y}" x2="${right}" y2="${y}" stroke="#eee"/>`,
      text(plotLeft - 6, y + 4, `${10 ** decade} ms`, 'text-anchor="end" font-size="11"'),
    );
  }
  for (const clients of [...new Set(clientCounts)])
    parts.push(text(xOf(clients), yBot + 16, String(clients), 'text-anchor="middle" font-size="11"'));
  parts.push(text(plotLeft + (right - plotLeft) / 2, yBot + 34, "clients", 'text-anchor="middle" font-size="12"'));
  const limitY = yOf(250);
  parts.push(
    `<line x1="${plotLeft}" y1="${limitY}" x2="${right}" y2="${limitY}" stroke="#d62728" stroke-dasharray="4 3"/>`,
    text(right, limitY - 4, "p95 limit 250 ms", 'text-anchor="end" font-size="10" fill="#d62728"'),
  );
  series.forEach((line, i) => {
    const color = line.color;
    const dash = line.dash ? ` stroke-dasharray="${line.dash}"` : "";
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${line.points.map(([clients, latencyMs]) => `${xOf(clients).toFixed(1)},${yOf(latencyMs).toFixed(1)}`).join(" ")}"/>`,
    );
    for (const [clients, latencyMs] of line.points)
      parts.push(`<circle cx="${xOf(clients).toFixed(1)}" cy="${yOf(latencyMs).toFixed(1)}" r="3" fill="${color}"/>`);
    const legendY = yTop + 11 + i * 15;
    parts.push(
      `<line x1="${plotLeft + 8}" y1="${legendY}" x2="${plotLeft + 28}" y2="${legendY}" stroke="${color}" stroke-width="2"${dash}/>`,
      text(plotLeft + 32, legendY + 4, line.label, 'font-size="11"'),
    );
  });
  return parts.join("\n");
}

function throughputPanel(results: ScenarioResult[], left: number, width: number): string {
  const parts: string[] = [text(left + width / 2, 24, "deliveries per second", 'text-anchor="middle" font-weight="bold"')];
  const bars = results.filter((result) => result.deliveriesPerSec !== null && result.status === "ok");
  const plotLeft = left + PAD.left;
  const yTop = PAD.top;
  const yBot = HEIGHT - PAD.bottom;
  const right = left + width - PAD.right;
  parts.push(`<line x1="${plotLeft}" y1="${yBot}" x2="${right}" y2="${yBot}" stroke="#000"/>`);
  if (!bars.length) return parts.join("") + text(left + width / 2, HEIGHT / 2, "no throughput data", 'text-anchor="middle" fill="#888"');
  const max = Math.max(...bars.map((bar) => bar.deliveriesPerSec ?? 0)) * 1.1 || 1;
  const targets = [...new Set(bars.map((bar) => bar.target))];
  const barSlot = (right - plotLeft) / bars.length;
  bars.forEach((bar, i) => {
    const rate = bar.deliveriesPerSec ?? 0;
    const barHeight = (rate / max) * (yBot - yTop);
    const x = plotLeft + i * barSlot + barSlot * 0.1;
    const color = COLORS[targets.indexOf(bar.target) % COLORS.length];
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${(yBot - barHeight).toFixed(1)}" width="${(barSlot * 0.8).toFixed(1)}" height="${barHeight.toFixed(1)}" fill="${color}"/>`,
      text(
        x + barSlot * 0.4,
        yBot - barHeight - 4,
        rate >= 1e6 ? `${(rate / 1e6).toFixed(2)}M` : `${(rate / 1e3).toFixed(0)}k`,
        'text-anchor="middle" font-size="10"',
      ),
      text(x + barSlot * 0.4, yBot + 14, bar.scenario, 'text-anchor="middle" font-size="10"'),
      text(x + barSlot * 0.4, yBot + 27, bar.target, 'text-anchor="middle" font-size="9" fill="#555"'),
    );
  });
  return parts.join("\n");
}

export function renderSvg(results: ScenarioResult[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PANEL_WIDTH * 2}" height="${HEIGHT}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    latencyPanel(results, 0, PANEL_WIDTH),
    throughputPanel(results, PANEL_WIDTH, PANEL_WIDTH),
    "</svg>",
    "",
  ].join("\n");
}
