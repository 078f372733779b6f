/**
 * One descriptor per HTTP request, for the servers on Bun.serve that sit
 * beside the reactor (the web gateway, the metrics endpoint): a request
 * holds one from the process's budget while it is answered, and with none
 * left it is refused with 503 rather than let Bun.serve run the process out
 * of descriptors, where its accept loop spins.
 */
import type { DescriptorBudget, DescriptorLease } from "../reactor/descriptors.ts";

/** What a request that found no descriptor left is told (with 503 and `retry-after: 1`). */
export const OUT_OF_DESCRIPTORS = "out of file descriptors, try again later";

/**
 * Answer a request with `serve` while it holds a descriptor from `budget`;
 * without one, 503 with `headers`. The descriptor is given back once Bun has
 * written the answer, which it does (closing the connection) after the
 * fetch handler returns. A request `serve` turns into a WebSocket (no
 * answer: undefined) keeps its lease, for the socket to release at its close.
 */
export function withRequestLease<R extends Response | undefined>(
  budget: DescriptorBudget,
  headers: Record<string, string>,
  serve: (lease: DescriptorLease) => R,
): R | Response {
  const lease = budget.acquire();
  if (!lease) return new Response(`${OUT_OF_DESCRIPTORS}\n`, { status: 503, headers: { ...headers, "retry-after": "1" } });
  const response = serve(lease);
  if (response !== undefined) setImmediate(() => lease.release());
  return response;
}
