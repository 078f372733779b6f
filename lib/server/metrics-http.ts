/**
 * The server's `--metrics HOST:PORT` endpoint, on the runtime's own HTTP
 * server (Bun.serve): it sits beside the reactor, not in it.
 *
 *   /metrics     Prometheus text format
 *   /stats.json  the latest snapshot as JSON (what the page polls)
 *   /            the live status page
 *
 * Every answer closes its connection and idle connections are dropped
 * soon: a scraper or a page left open must not hold descriptors between
 * requests, since Bun.serve, like the chat listener, spins once the process
 * is out of them. Each request holds a descriptor from the server's budget
 * while it is answered; with none left, the answer is 503.
 */
import { formatHostPort } from "../reactor/address.ts";
import { DescriptorBudget } from "../reactor/descriptors.ts";
import { withRequestLease } from "../web/request-lease.ts";
import { formatJson, formatPrometheus, statusPage } from "./metrics.ts";
import type { StatsSnapshot } from "./stats.ts";

/** A running metrics endpoint. */
export interface MetricsServer {
  readonly url: string;
  stop(): void;
}

/** Seconds a connection may stay idle before Bun closes it (the page polls every second, each poll on a new connection). */
export const METRICS_IDLE_TIMEOUT_S = 2;

/** Headers every answer carries: no keep-alive. */
const CLOSE = { connection: "close" };

/**
 * Serve the documents for `latest()` on host:port (port 0: any free port),
 * each request counted against `descriptors` (none: not counted).
 */
export function serveMetrics(
  host: string,
  port: number,
  title: string,
  latest: () => StatsSnapshot,
  descriptors: DescriptorBudget = new DescriptorBudget(Infinity),
): MetricsServer {
  const page = statusPage(title);
  const answer = (path: string): Response => {
    if (path === "/metrics") {
      return new Response(formatPrometheus(latest()), {
        headers: { ...CLOSE, "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (path === "/stats.json") {
      return new Response(formatJson(latest()), { headers: { ...CLOSE, "content-type": "application/json", "cache-control": "no-store" } });
    }
    if (path === "/") return new Response(page, { headers: { ...CLOSE, "content-type": "text/html; charset=utf-8" } });
    return new Response("not found\n", { status: 404, headers: CLOSE });
  };
  const server = Bun.serve({
    hostname: host,
    port,
    idleTimeout: METRICS_IDLE_TIMEOUT_S,
    // Bun sets SO_REUSEPORT outside development mode (NODE_ENV=production):
    // a taken port would then be shared instead of refused.
    reusePort: false,
    fetch(req) {
      return withRequestLease(descriptors, CLOSE, () => answer(new URL(req.url).pathname));
    },
  });
  return {
    url: `http://${formatHostPort(server.hostname ?? host, server.port ?? port)}/`,
    stop: () => void server.stop(true),
  };
}
