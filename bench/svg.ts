// Hand-written SVG, no dependencies: one panel per scenario in the results,
// each with its own axes and units, because the scenarios measure unlike
// things (a closed-loop rate, open-loop latency, a time, memory). Colour
// means target in every panel; the legend at the top names them. Bars are
// grouped by target; a target that did not run shows its status instead.
// Pure TS: unit-tested under Node (spec/bench/chart.test.ts).

import type { ScenarioResult } from "./result.ts";

const WIDTH = 1200;
const COLUMNS = 2;
const MARGIN = 16;
const PANEL_WIDTH = (WIDTH - MARGIN * (COLUMNS + 1)) / COLUMNS;
const PANEL_HEIGHT = 340;
/** Title and target legend above the panels. */
const HEADER = 78;
/** Room inside a panel around its plot area: title, tick labels, axis labels. */
const PAD = { left: 78, right: 18, top: 48, bottom: 58 };
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

const escapeXml = (raw: string): string => raw.replace(/[<>&"']/g, (char) => `&#${char.charCodeAt(0)};`);
const n = (value: number): string => value.toFixed(1);

function text(x: number, y: number, content: string, extra = ""): string {
  return `<text x="${n(x)}" y="${n(y)}"${extra ? ` ${extra}` : ""}>${escapeXml(content)}</text>`;
}

/** 1.5, 20, 300, 4.5k, 17.4M: short numbers for ticks and bar labels. */
export function compact(value: number): string {
  const trim = (x: number, digits: number): string => String(+x.toFixed(digits));
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim(value / 1e6, 2)}M`;
  if (abs >= 1e4) return `${trim(value / 1e3, 1)}k`;
  if (abs >= 100) return trim(value, 0);
  if (abs >= 10) return trim(value, 1);
  return trim(value, 2);
}

/** A y axis: where a value goes, and the ticks to draw. */
interface Scale {
  y(value: number): number;
  ticks: number[];
  log: boolean;
  /** the value bars start from */
  base: number;
}

/** 1, 2 or 5 times a power of ten, about range/count. */
function niceStep(range: number, count = 5): number {
  const raw = range / count || 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
}

/** Linear from 0, or by decades when the values span more than `logRatio` (a linear axis would flatten the small ones). */
function scaleFor(values: number[], top: number, bottom: number, logRatio = 30): Scale {
  const positive = values.filter((value) => value > 0);
  const max = Math.max(...positive, 0);
  const min = Math.min(...positive);
  if (positive.length && max / min > logRatio) {
    const low = Math.floor(Math.log10(min));
    const high = Math.max(Math.ceil(Math.log10(max * 1.05)), low + 1);
    const ticks: number[] = [];
    for (let decade = low; decade <= high; decade++) ticks.push(10 ** decade);
    const y = (value: number): number => bottom - ((Math.log10(Math.max(value, 10 ** low)) - low) / (high - low)) * (bottom - top);
    return { y, ticks, log: true, base: 10 ** low };
  }
  const step = niceStep((max || 1) * 1.1);
  const end = Math.ceil(((max || 1) * 1.1) / step) * step;
  const ticks: number[] = [];
  for (let tick = 0; tick <= end + step / 2; tick += step) ticks.push(tick);
  return { y: (value: number) => bottom - (value / end) * (bottom - top), ticks, log: false, base: 0 };
}

/** Where a panel is on the canvas, and its plot area. */
interface Box {
  x: number;
  y: number;
  plotLeft: number;
  plotRight: number;
  plotTop: number;
  plotBottom: number;
}

function boxAt(index: number): Box {
  const x = MARGIN + (index % COLUMNS) * (PANEL_WIDTH + MARGIN);
  const y = HEADER + Math.floor(index / COLUMNS) * (PANEL_HEIGHT + MARGIN);
  return {
    x,
    y,
    plotLeft: x + PAD.left,
    plotRight: x + PANEL_WIDTH - PAD.right,
    plotTop: y + PAD.top,
    plotBottom: y + PANEL_HEIGHT - PAD.bottom,
  };
}

/** Frame, title, y axis with ticks, grid and label (its unit in brackets), x axis and label. */
function axes(box: Box, title: string, scale: Scale, y: { label: string; unit: string }, xLabel: string, xTicks = ""): string[] {
  const parts = [
    `<rect x="${n(box.x)}" y="${n(box.y)}" width="${n(PANEL_WIDTH)}" height="${PANEL_HEIGHT}" fill="#fff" stroke="#ccc"/>`,
    text(box.x + PANEL_WIDTH / 2, box.y + 24, title, 'class="title" text-anchor="middle" font-size="15" font-weight="bold"'),
  ];
  for (const tick of scale.ticks) {
    const y = scale.y(tick);
    parts.push(
      `<line x1="${n(box.plotLeft)}" y1="${n(y)}" x2="${n(box.plotRight)}" y2="${n(y)}" stroke="#e5e5e5"/>`,
      `<line x1="${n(box.plotLeft - 5)}" y1="${n(y)}" x2="${n(box.plotLeft)}" y2="${n(y)}" stroke="#000"/>`,
      text(box.plotLeft - 8, y + 4, compact(tick), 'class="tick" text-anchor="end" font-size="12"'),
    );
  }
  const middleY = (box.plotTop + box.plotBottom) / 2;
  parts.push(
    xTicks,
    `<line x1="${n(box.plotLeft)}" y1="${n(box.plotBottom)}" x2="${n(box.plotRight)}" y2="${n(box.plotBottom)}" stroke="#000"/>`,
    `<line x1="${n(box.plotLeft)}" y1="${n(box.plotTop)}" x2="${n(box.plotLeft)}" y2="${n(box.plotBottom)}" stroke="#000"/>`,
    text(
      box.x + 18,
      middleY,
      `${y.label} (${y.unit}${scale.log ? ", log scale" : ""})`,
      `class="axis-label y" text-anchor="middle" font-size="13" transform="rotate(-90 ${n(box.x + 18)} ${n(middleY)})"`,
    ),
    text((box.plotLeft + box.plotRight) / 2, box.y + PANEL_HEIGHT - 10, xLabel, 'class="axis-label x" text-anchor="middle" font-size="13"'),
  );
  return parts;
}

/** One quantity drawn as bars: its name (for the in-panel legend) and how to read it off a result. */
interface Series {
  label: string;
  value: (result: ScenarioResult) => number | null;
}

interface BarSpec {
  title: string;
  yLabel: string;
  unit: string;
  series: Series[];
}

/** A legend inside a panel, top right: one entry per series (shade) or line style. */
function panelLegend(box: Box, entries: { label: string; swatch: (x: number, y: number) => string }[]): string[] {
  return entries.map((entry, i) => {
    const y = box.plotTop + 4 + i * 17;
    const x = box.plotRight - 118;
    return `<g class="series-entry">${entry.swatch(x, y)}${text(x + 26, y + 5, entry.label, 'font-size="12"')}</g>`;
  });
}

/** Shades that tell the series of a bar group apart (colour is the target). */
const SHADES = [1, 0.5, 0.25];

function barPanel(box: Box, spec: BarSpec, results: ScenarioResult[], colorOf: (target: string) => string): string[] {
  const ran = results.filter((result) => result.status === "ok");
  const values = ran.flatMap((result) => spec.series.map((series) => series.value(result) ?? 0));
  const scale = scaleFor(values, box.plotTop + (spec.series.length > 1 ? 18 * spec.series.length : 14), box.plotBottom);
  const slot = (box.plotRight - box.plotLeft) / Math.max(results.length, 1);
  const bars: string[] = [];
  const labels: string[] = [];
  results.forEach((result, i) => {
    const center = box.plotLeft + slot * (i + 0.5);
    labels.push(text(center, box.plotBottom + 17, result.target, 'class="target" text-anchor="middle" font-size="12"'));
    if (result.status !== "ok") {
      bars.push(text(center, box.plotBottom - 8, result.status, 'text-anchor="middle" font-size="12" fill="#888"'));
      return;
    }
    const barWidth = Math.min(48, (slot * 0.8) / spec.series.length);
    spec.series.forEach((series, k) => {
      const value = series.value(result);
      const x = center - (barWidth * spec.series.length) / 2 + k * barWidth;
      if (value === null) {
        bars.push(text(x + barWidth / 2, box.plotBottom - 8, "-", 'text-anchor="middle" font-size="12" fill="#888"'));
        return;
      }
      const top = scale.y(Math.max(value, scale.base));
      bars.push(
        `<rect x="${n(x + 1)}" y="${n(top)}" width="${n(barWidth - 2)}" height="${n(box.plotBottom - top)}" fill="${colorOf(result.target)}" fill-opacity="${SHADES[k] ?? 1}" stroke="${colorOf(result.target)}"/>`,
        text(x + barWidth / 2, top - 4, compact(value), 'class="value" text-anchor="middle" font-size="11"'),
      );
    });
  });
  const legend =
    spec.series.length > 1
      ? panelLegend(
          box,
          spec.series.map((series, k) => ({
            label: series.label,
            swatch: (x, y) =>
              `<rect x="${n(x)}" y="${n(y - 5)}" width="20" height="10" fill="#555" fill-opacity="${SHADES[k] ?? 1}" stroke="#555"/>`,
          })),
        )
      : [];
  return [...axes(box, spec.title, scale, { label: spec.yLabel, unit: spec.unit }, "target", labels.join("\n")), ...bars, ...legend];
}

/** Stepup: latency percentiles against clients, a line per target and percentile, log y. */
function stepupPanel(box: Box, results: ScenarioResult[], colorOf: (target: string) => string): string[] {
  const percentiles = [
    ["p50", "", "p50"],
    ["p95", "7 4", "p95"],
    ["p99", "2 3", "p99"],
  ] as const;
  const withSteps = results.filter((result) => result.steps?.length);
  const points = withSteps.flatMap((result) => result.steps!.map((step) => step.clients));
  const latenciesMs = withSteps.flatMap((result) =>
    result.steps!.flatMap((step) => percentiles.map(([key]) => step.latencyUs[key] / 1000)),
  );
  // always by decades, and always showing the 250 ms limit
  const scale = scaleFor([...latenciesMs.map((ms) => Math.max(ms, 0.1)), 0.1, 300], box.plotTop + 60, box.plotBottom, 0);
  const maxClients = Math.max(...points, 1);
  const xStep = niceStep(maxClients, 6);
  const xEnd = Math.ceil(maxClients / xStep) * xStep;
  const xOf = (clients: number): number => box.plotLeft + (clients / xEnd) * (box.plotRight - box.plotLeft);
  const xTicks: string[] = [];
  for (let clients = 0; clients <= xEnd + xStep / 2; clients += xStep)
    xTicks.push(
      `<line x1="${n(xOf(clients))}" y1="${n(box.plotBottom)}" x2="${n(xOf(clients))}" y2="${n(box.plotBottom + 5)}" stroke="#000"/>`,
      text(xOf(clients), box.plotBottom + 18, compact(clients), 'class="tick" text-anchor="middle" font-size="12"'),
    );
  const senders = withSteps[0]?.senders;
  const rate = withSteps[0]?.metrics.ratePerSender;
  const title = `stepup: latency vs clients${senders ? ` (${senders} senders × ${rate} msg/s)` : ""}`;
  const parts = axes(box, title, scale, { label: "latency", unit: "ms" }, "connected clients", xTicks.join("\n"));
  const limit = scale.y(250);
  parts.push(
    `<line x1="${n(box.plotLeft)}" y1="${n(limit)}" x2="${n(box.plotRight)}" y2="${n(limit)}" stroke="#d62728" stroke-dasharray="4 3"/>`,
    text(box.plotLeft + 6, limit - 5, "p95 limit 250 ms", 'text-anchor="start" font-size="11" fill="#d62728"'),
  );
  if (!withSteps.length)
    parts.push(
      text((box.plotLeft + box.plotRight) / 2, (box.plotTop + box.plotBottom) / 2, "no stepup data", 'text-anchor="middle" fill="#888"'),
    );
  for (const result of withSteps)
    for (const [key, dash] of percentiles) {
      const color = colorOf(result.target);
      const line = result.steps!.map((step) => `${n(xOf(step.clients))},${n(scale.y(Math.max(step.latencyUs[key] / 1000, 0.1)))}`);
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${line.join(" ")}"/>`,
        ...line.map((point) => {
          const [cx, cy] = point.split(",");
          return `<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`;
        }),
      );
    }
  parts.push(
    ...panelLegend(
      box,
      percentiles.map(([, dash, label]) => ({
        label,
        swatch: (x, y) =>
          `<line x1="${n(x)}" y1="${n(y)}" x2="${n(x + 20)}" y2="${n(y)}" stroke="#555" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`,
      })),
    ),
  );
  return parts;
}

const ms = (us: number | undefined): number | null => (us === undefined ? null : us / 1000);
const metric = (result: ScenarioResult, key: string): number | null => {
  const value = result.metrics[key];
  return typeof value === "number" ? value : null;
};

/** The bar panel of each scenario: what it is about, in its own unit. */
function barSpec(scenario: string, sample: ScenarioResult | undefined): BarSpec {
  const clients = sample?.clients ?? "?";
  const senders = sample?.senders ?? "?";
  switch (scenario) {
    case "connect":
      return {
        title: `connect: ${clients} clients at once`,
        yLabel: "time until every client is in",
        unit: "ms",
        series: [{ label: "all in", value: (result) => metric(result, "allNoticesMs") ?? result.durationS * 1000 }],
      };
    case "fanout":
      return {
        title: `fanout: ${clients} clients, ${senders} senders, closed loop`,
        yLabel: "deliveries per second",
        unit: "msg/s",
        series: [{ label: "deliveries/s", value: (result) => result.deliveriesPerSec }],
      };
    case "latency":
      return {
        title: `latency: ${clients} clients, ${senders} × ${sample?.metrics.ratePerSender ?? "?"} msg/s`,
        yLabel: "delivery latency",
        unit: "ms",
        series: [
          { label: "p50", value: (result) => ms(result.latencyUs?.p50) },
          { label: "p99", value: (result) => ms(result.latencyUs?.p99) },
        ],
      };
    case "cluster":
      return {
        title: `cluster: two servers via Redis, ${clients} clients`,
        yLabel: "delivery latency",
        unit: "ms",
        series: [
          { label: "p50", value: (result) => ms(result.latencyUs?.p50) },
          { label: "p99", value: (result) => ms(result.latencyUs?.p99) },
          { label: "p99 across", value: (result) => metric(result, "crossP99Ms") },
        ],
      };
    case "burst":
      return {
        title: `burst: ${clients} clients send ${sample?.metrics.size ?? "?"} B at once`,
        yLabel: "time until all delivered",
        unit: "s",
        series: [{ label: "time", value: (result) => (metric(result, "completeMs") ?? result.durationS * 1000) / 1000 }],
      };
    case "memory":
      return {
        title: `memory: ${clients} idle clients`,
        yLabel: "server RSS per connection",
        unit: "KB",
        series: [{ label: "KB/connection", value: (result) => metric(result, "kbPerConn") }],
      };
    case "trickle":
      return {
        title: `trickle: ${clients} clients send a byte every ${sample?.metrics.periodMs ?? "?"} ms`,
        yLabel: "server RSS growth while trickling",
        unit: "MB",
        series: [
          { label: "peak over connected", value: (result) => metric(result, "peakOverConnectedMb") },
          { label: "peak over idle", value: (result) => metric(result, "peakOverIdleMb") },
        ],
      };
    case "rooms":
      return {
        title: `rooms: ${sample?.metrics.rooms ?? "?"} rooms of ${sample?.metrics.members ?? "?"}, closed loop`,
        yLabel: "deliveries per second",
        unit: "msg/s",
        series: [{ label: "deliveries/s", value: (result) => result.deliveriesPerSec }],
      };
    case "rooms-idle":
      return {
        title: `rooms-idle: ${clients} idle clients in ${sample?.metrics.rooms ?? "?"} rooms or in one`,
        yLabel: "server RSS",
        unit: "MB",
        series: [
          { label: "rooms", value: (result) => metric(result, "roomsRssMb") },
          { label: "one room", value: (result) => metric(result, "oneRoomRssMb") },
        ],
      };
    default:
      return {
        title: scenario,
        yLabel: "deliveries per second",
        unit: "msg/s",
        series: [{ label: "deliveries/s", value: (result) => result.deliveriesPerSec }],
      };
  }
}

/** The legend of the whole chart: a colour swatch and name per target. */
function targetLegend(targets: string[], colorOf: (target: string) => string): string {
  let x = MARGIN;
  const entries = targets.map((target) => {
    const entry = `<g class="legend-entry" data-target="${escapeXml(target)}"><rect x="${n(x)}" y="50" width="16" height="16" fill="${colorOf(target)}"/>${text(x + 22, 63, target, 'font-size="14"')}</g>`;
    x += 22 + target.length * 8.5 + 24;
    return entry;
  });
  return [text(MARGIN, 30, "bun bench: one panel per scenario; colour = target", 'font-size="18" font-weight="bold"'), ...entries].join(
    "\n",
  );
}

export function renderSvg(results: ScenarioResult[]): string {
  const targets = [...new Set(results.map((result) => result.target))];
  const colorOf = (target: string): string => COLORS[targets.indexOf(target) % COLORS.length];
  const scenarios = [...new Set(results.map((result) => result.scenario))];
  const panels = scenarios.map((scenario, index) => {
    const ofScenario = results.filter((result) => result.scenario === scenario);
    const box = boxAt(index);
    const body =
      scenario === "stepup"
        ? stepupPanel(box, ofScenario, colorOf)
        : barPanel(
            box,
            barSpec(
              scenario,
              ofScenario.find((result) => result.status === "ok"),
            ),
            ofScenario,
            colorOf,
          );
    return [`<g class="panel" data-scenario="${escapeXml(scenario)}">`, ...body, "</g>"].join("\n");
  });
  const height = HEADER + Math.ceil(Math.max(scenarios.length, 1) / COLUMNS) * (PANEL_HEIGHT + MARGIN);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#f7f7f7"/>`,
    targetLegend(targets, colorOf),
    ...panels,
    "</svg>",
    "",
  ].join("\n");
}
