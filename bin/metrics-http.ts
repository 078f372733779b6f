/**
 * The server's `--metrics HOST:PORT` endpoint, on the runtime's own HTTP
 * server (Bun.serve): it sits beside the reactor, not in it. A module of
 * bin/server.ts, not a program.
 *
 *   /metrics     Prometheus text format
 *   /stats.json  the latest snapshot as JSON (what the page polls)
 *   /            the live status page
 */
import { formatHostPort } from "../lib/reactor/address.ts";
import { formatJson, formatPrometheus, statusPage } from "../lib/server/metrics.ts";
import type { StatsSnapshot } from "../lib/server/stats.ts";

/** A running metrics endpoint. */
export interface MetricsServer {
  readonly url: string;
  stop(): void;
}

/** Serve the documents for `latest()` on host:port (port 0: any free port). */
export function serveMetrics(host: string, port: number, title: string, latest: () => StatsSnapshot): MetricsServer {
  const page = statusPage(title);
  const server = Bun.serve({
    hostname: host,
    port,
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/metrics") {
        return new Response(formatPrometheus(latest()), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
      }
      if (path === "/stats.json") {
        return new Response(formatJson(latest()), { headers: { "content-type": "application/json", "cache-control": "no-store" } });
      }
      if (path === "/") return new Response(page, { headers: { "content-type": "text/html; charset=utf-8" } });
      return new Response("not found\n", { status: 404 });
    },
  });
  return {
    url: `http://${formatHostPort(server.hostname ?? host, server.port ?? port)}/`,
    stop: () => void server.stop(true),
  };
}
