// Hand-written SVG: left, stepup latency percentiles vs clients (log y);
// right, deliveries/s per scenario and target as bars. No dependencies.

import type { ScenarioResult } from './result.ts';

const W = 960;
const H = 400;
const PAD = { l: 60, r: 20, t: 40, b: 60 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

function text(x: number, y: number, s: string, extra = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${esc(s)}</text>`;
}

function latencyPanel(results: ScenarioResult[], x0: number, w: number): string {
  const parts: string[] = [text(x0 + w / 2, 24, 'stepup: latency percentiles vs clients', 'text-anchor="middle" font-weight="bold"')];
  // colour = target, dash = percentile: with four targets, a colour per series would repeat
  const series: { label: string; color: string; dash: string; pts: [number, number][] }[] = [];
  results
    .filter((r) => r.steps?.length)
    .forEach((r, t) => {
      for (const [key, dash] of [['p50', ''], ['p95', '6 3'], ['p99', '2 2']] as const)
        series.push({ label: `${r.target} ${key}`, color: COLORS[t % COLORS.length], dash, pts: r.steps!.map((s) => [s.clients, Math.max(s.latencyUs[key], 1) / 1000]) });
    });
  const x1 = x0 + w - PAD.r;
  const yTop = PAD.t;
  const yBot = H - PAD.b;
  parts.push(`<line x1="${x0 + PAD.l}" y1="${yBot}" x2="${x1}" y2="${yBot}" stroke="#000"/><line x1="${x0 + PAD.l}" y1="${yTop}" x2="${x0 + PAD.l}" y2="${yBot}" stroke="#000"/>`);
  if (!series.length) return parts.join('') + text(x0 + w / 2, H / 2, 'no stepup data', 'text-anchor="middle" fill="#888"');
  const xs = series.flatMap((s) => s.pts.map((p) => p[0]));
  const maxX = Math.max(...xs) * 1.05;
  const ys = series.flatMap((s) => s.pts.map((p) => p[1]));
  const lo = Math.floor(Math.log10(Math.min(...ys, 0.1)));
  const hi = Math.ceil(Math.log10(Math.max(...ys, 300)));
  const px = (v: number): number => x0 + PAD.l + (v / maxX) * (x1 - x0 - PAD.l);
  const py = (v: number): number => yBot - ((Math.log10(v) - lo) / (hi - lo)) * (yBot - yTop);
  for (let e = lo; e <= hi; e++) {
    const y = py(10 ** e);
    parts.push(`<line x1="${x0 + PAD.l}" y1="${y}" x2="${x1}" y2="${y}" stroke="#eee"/>`, text(x0 + PAD.l - 6, y + 4, `${10 ** e} ms`, 'text-anchor="end" font-size="11"'));
  }
  for (const v of [...new Set(xs)]) parts.push(text(px(v), yBot + 16, String(v), 'text-anchor="middle" font-size="11"'));
  parts.push(text(x0 + PAD.l + (x1 - x0 - PAD.l) / 2, yBot + 34, 'clients', 'text-anchor="middle" font-size="12"'));
  const lim = py(250);
  parts.push(`<line x1="${x0 + PAD.l}" y1="${lim}" x2="${x1}" y2="${lim}" stroke="#d62728" stroke-dasharray="4 3"/>`, text(x1, lim - 4, 'p95 limit 250 ms', 'text-anchor="end" font-size="10" fill="#d62728"'));
  series.forEach((s, i) => {
    const c = s.color;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    parts.push(`<polyline fill="none" stroke="${c}" stroke-width="2"${dash} points="${s.pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of s.pts) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"/>`);
    const ly = yTop + 11 + i * 15;
    parts.push(`<line x1="${x0 + PAD.l + 8}" y1="${ly}" x2="${x0 + PAD.l + 28}" y2="${ly}" stroke="${c}" stroke-width="2"${dash}/>`, text(x0 + PAD.l + 32, ly + 4, s.label, 'font-size="11"'));
  });
  return parts.join('\n');
}

function throughputPanel(results: ScenarioResult[], x0: number, w: number): string {
  const parts: string[] = [text(x0 + w / 2, 24, 'deliveries per second', 'text-anchor="middle" font-weight="bold"')];
  const bars = results.filter((r) => r.deliveriesPerSec !== null && r.status === 'ok');
  const yTop = PAD.t;
  const yBot = H - PAD.b;
  const x1 = x0 + w - PAD.r;
  parts.push(`<line x1="${x0 + PAD.l}" y1="${yBot}" x2="${x1}" y2="${yBot}" stroke="#000"/>`);
  if (!bars.length) return parts.join('') + text(x0 + w / 2, H / 2, 'no throughput data', 'text-anchor="middle" fill="#888"');
  const max = Math.max(...bars.map((b) => b.deliveriesPerSec ?? 0)) * 1.1 || 1;
  const targets = [...new Set(bars.map((b) => b.target))];
  const bw = (x1 - x0 - PAD.l) / bars.length;
  bars.forEach((b, i) => {
    const v = b.deliveriesPerSec ?? 0;
    const h = (v / max) * (yBot - yTop);
    const x = x0 + PAD.l + i * bw + bw * 0.1;
    const c = COLORS[targets.indexOf(b.target) % COLORS.length];
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${(yBot - h).toFixed(1)}" width="${(bw * 0.8).toFixed(1)}" height="${h.toFixed(1)}" fill="${c}"/>`,
      text(x + bw * 0.4, yBot - h - 4, v >= 1e6 ? `${(v / 1e6).toFixed(2)}M` : `${(v / 1e3).toFixed(0)}k`, 'text-anchor="middle" font-size="10"'),
      text(x + bw * 0.4, yBot + 14, b.scenario, 'text-anchor="middle" font-size="10"'),
      text(x + bw * 0.4, yBot + 27, b.target, 'text-anchor="middle" font-size="9" fill="#555"'),
    );
  });
  return parts.join('\n');
}

export function renderSvg(results: ScenarioResult[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W * 2}" height="${H}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    latencyPanel(results, 0, W),
    throughputPanel(results, W, W),
    '</svg>',
    '',
  ].join('\n');
}
