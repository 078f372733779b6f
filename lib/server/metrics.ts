/**
 * The `--metrics` endpoint's documents, as plain strings: `/metrics` in
 * the Prometheus text exposition format, `/stats.json`, and `/`, a status
 * page that polls `/stats.json` and shows the figures live. Serving them
 * is the program's job (lib/server/metrics-http.ts); nothing here does I/O.
 */
import { HISTOGRAM_BUCKETS, upperBoundMs } from "../reactor/histogram.ts";
import type { StatsSnapshot } from "./stats.ts";

type Kind = "counter" | "gauge";

/** Every metric: name, type, help, how to read it from a snapshot, and (optional) whether the snapshot has it. */
const METRICS: ReadonlyArray<readonly [string, Kind, string, (s: StatsSnapshot) => number, ((s: StatsSnapshot) => boolean)?]> = [
  ["chat_clients", "gauge", "Clients connected now.", (s) => s.clients],
  ["chat_web_clients", "gauge", "Of those, web clients (WebSockets through --web).", (s) => s.webClients],
  ["chat_connections_total", "counter", "Connections accepted.", (s) => s.connects],
  ["chat_quits_total", "counter", "Clients that left with q or /quit.", (s) => s.quits],
  ["chat_evictions_total", "counter", "Clients gone without quitting (lost connection or evicted).", (s) => s.evictions],
  ["chat_lines_in_total", "counter", "Complete lines received from clients.", (s) => s.linesIn],
  ["chat_lines_out_total", "counter", "Lines queued for clients, once per receiver.", (s) => s.linesOut],
  ["chat_bytes_in_total", "counter", "Bytes received from clients.", (s) => s.bytesIn],
  ["chat_bytes_out_total", "counter", "Bytes handed to sockets.", (s) => s.bytesOut],
  ["reactor_ticks_total", "counter", "Reactor ticks (select calls that returned).", (s) => s.ticks],
  ["reactor_ready_peak", "gauge", "Largest ready set in the last sampling period.", (s) => s.peakReady],
  ["reactor_tick_p99_seconds", "gauge", "99th percentile of busy tick time in the last sampling period.", (s) => s.tickP99Ms / 1000],
  ["chat_uptime_seconds", "gauge", "Seconds since the server started.", (s) => s.uptimeSeconds],
  [
    "chat_descriptors_used",
    "gauge",
    "Descriptors held by accepted sockets: clients, TLS handshakes, metrics requests.",
    (s) => s.descriptorsUsed,
  ],
  ["chat_descriptor_limit", "gauge", "The descriptor budget: the open-file limit less the runtime's own.", (s) => s.descriptorLimit],
  ["chat_handshakes_shed_total", "counter", "Pending TLS handshakes dropped to make room for a new connection.", (s) => s.handshakesShed],
  ["chat_sockets_refused_total", "counter", "Connections closed at once for want of a descriptor.", (s) => s.socketsRefused],
  ["chat_history_entries", "gauge", "Entries of the room's log kept for /history and resume.", (s) => s.historyEntries],
  ["chat_resumes_complete_total", "counter", "Resumes (/history since ID) that got everything after the id.", (s) => s.resumesComplete],
  ["chat_resumes_gap_total", "counter", "Resumes with a gap: entries no longer kept, or the log started over.", (s) => s.resumesWithGap],
  [
    "chat_resume_missed_entries_total",
    "counter",
    "Entries those gaps left out (a log that started over counts none).",
    (s) => s.resumeEntriesMissed,
  ],
  [
    "chat_history_write_failures_total",
    "counter",
    "Failed writes of the log to --history-db (chat went on).",
    (s) => s.historyWriteFailures,
  ],
  [
    "chat_cluster_missed_entries_total",
    "counter",
    "Entries of the cluster's log trimmed before this server read them.",
    (s) => s.clusterEntriesMissed,
  ],
  ["chat_rooms", "gauge", "Rooms on this server (the default room included).", (s) => s.rooms],
  [
    "chat_cluster_link_up",
    "gauge",
    "1 while the link to the cluster's Redis is up, 0 while chat is local only (a lone server has no such metric).",
    (s) => (s.clusterLink === "up" ? 1 : 0),
    (s) => s.clusterLink !== "none",
  ],
];

/** A sample value as Prometheus writes it (infinities as +Inf/-Inf). */
const promValue = (v: number): string => (v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v));

/** `/metrics`: counters, gauges and the tick-time histogram, each with HELP and TYPE. */
export function formatPrometheus(s: StatsSnapshot): string {
  const out: string[] = [];
  for (const [name, kind, help, read, present] of METRICS) {
    if (present && !present(s)) continue;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${kind}`, `${name} ${promValue(read(s))}`);
  }
  // Per room, for the busiest only: a label per room of thousands would swamp a scraper.
  out.push(
    "# HELP chat_room_members Members of one of the busiest rooms, here and on the cluster's other servers.",
    "# TYPE chat_room_members gauge",
  );
  for (const r of s.busiestRooms) out.push(`chat_room_members{room="${r.room}"} ${r.members}`);
  out.push(
    "# HELP chat_room_lines_total Lines said in one of the busiest rooms since it came to be.",
    "# TYPE chat_room_lines_total counter",
  );
  for (const r of s.busiestRooms) out.push(`chat_room_lines_total{room="${r.room}"} ${r.lines}`);
  const name = "reactor_tick_seconds";
  out.push(`# HELP ${name} Busy time per reactor tick (end of one sleep to start of the next).`, `# TYPE ${name} histogram`);
  let cumulative = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    cumulative += s.tickCounts[i] ?? 0;
    const le = upperBoundMs(i);
    out.push(`${name}_bucket{le="${le === Infinity ? "+Inf" : le / 1000}"} ${cumulative}`);
  }
  out.push(`${name}_sum ${s.tickSumMs / 1000}`, `${name}_count ${cumulative}`);
  return out.join("\n") + "\n";
}

/** `/stats.json`: the snapshot without the histogram buckets. */
export function formatJson(s: StatsSnapshot): string {
  const { tickCounts: _counts, ...rest } = s;
  return JSON.stringify(rest);
}

/**
 * `/`: a page that polls `/stats.json` every second and fills in the
 * figures. Element ids are the snapshot's field names, so a test (or a
 * curious reader) finds `#clients` and friends.
 */
export function statusPage(title: string): string {
  const rows: Array<[string, string]> = [
    ["clients", "clients connected"],
    ["webClients", "of which web clients"],
    ["linesInPerSecond", "lines in / s"],
    ["linesOutPerSecond", "lines out / s"],
    ["bytesInPerSecond", "bytes in / s"],
    ["bytesOutPerSecond", "bytes out / s"],
    ["ticksPerSecond", "ticks / s"],
    ["tickP99Ms", "tick p99 (ms)"],
    ["peakReady", "largest ready set"],
    ["connects", "connections accepted"],
    ["evictions", "evictions"],
    ["uptimeSeconds", "uptime (s)"],
    ["clusterLink", "cluster link"],
    ["rooms", "rooms"],
  ];
  const escapeHtml = (t: string) => t.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font: 15px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; } td { padding: .25em 1em; border-bottom: 1px solid #ddd; }
td.v { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
#state { color: #777; }
</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<table>
${rows.map(([id, label]) => `<tr><td>${label}</td><td class="v" id="${id}">–</td></tr>`).join("\n")}
</table>
<h2>Busiest rooms</h2>
<table id="busiestRooms"><tr><td>–</td></tr></table>
<p id="state">connecting…</p>
<script>
const ids = ${JSON.stringify(rows.map(([id]) => id))};
const show = (v) => typeof v !== "number" ? String(v) : Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 3 : 1);
async function poll() {
  try {
    const s = await (await fetch("/stats.json", { cache: "no-store" })).json();
    for (const id of ids) document.getElementById(id).textContent = show(s[id]);
    const rooms = document.getElementById("busiestRooms");
    rooms.replaceChildren(...s.busiestRooms.map((r) => {
      const row = document.createElement("tr");
      for (const [text, cls] of [[r.room, ""], [r.members + " members", "v"], [r.lines + " lines", "v"]]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (cls) cell.className = cls;
        row.append(cell);
      }
      return row;
    }));
    document.getElementById("state").textContent = "updated " + new Date(s.time).toLocaleTimeString();
  } catch (err) {
    document.getElementById("state").textContent = "server unreachable: " + err.message;
  }
  setTimeout(poll, 1000);
}
poll();
</script>
</body></html>
`;
}
