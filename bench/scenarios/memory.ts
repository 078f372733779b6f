// Server memory per idle connection: VmRSS of the server process before any
// client, at ~5k and at --max-clients connections (join notices fully
// delivered first, so output buffers have drained). Needs the server's PID,
// so it only runs when the harness started the server itself.

import { serverRssKb } from "../cpu.ts";
import { LoadGen } from "../loadgen.ts";
import type { ScenarioResult } from "../result.ts";
import { emptyTotals, notRun } from "../result.ts";
import { growTo, type Ctx } from "./common.ts";

export async function memoryScenario(ctx: Ctx): Promise<ScenarioResult> {
  const { pid, label } = ctx.target;
  if (pid === null)
    return notRun("memory", label, "skipped", "needs the server process: not possible with --target (harness does not own the server)");
  // Idle memory is the same code with or without coalescing, but unbatched
  // join notices (~40M sends at 9k clients) would hold a comparison up for minutes.
  if (ctx.opts.compare && /nocoalesce/.test(label))
    return notRun(
      "memory",
      label,
      "skipped",
      "same idle connections as with coalescing; skipped in --compare (9k clients cost ~40M unbatched notice sends)",
    );
  const hi = ctx.opts.maxClients;
  const lo = hi > 5000 ? 5000 : Math.floor(hi / 2); // the brief's 5k..9k band
  const gen = new LoadGen(ctx.target.host, ctx.target.port, [], ctx.target.wire);
  try {
    const rssIdle = serverRssKb(pid);
    const missingAtLo = await growTo(gen, lo, ctx);
    const rssLo = serverRssKb(pid);
    const missingAtHi = await growTo(gen, hi, ctx);
    const rssHi = serverRssKb(pid);
    if (rssIdle === null || rssLo === null || rssHi === null)
      return notRun("memory", label, "failed", `could not read /proc/${pid}/status`);
    const joins = gen.wire.notices(0, hi);
    const missing = missingAtLo + missingAtHi;
    return {
      scenario: "memory",
      target: label,
      status: "ok",
      note:
        [missing ? `${missing} ${gen.wire.noticeName} missing` : "", gen.lost ? `${gen.lost} clients disconnected` : ""]
          .filter(Boolean)
          .join("; ") || undefined,
      clients: hi,
      senders: 0,
      durationS: 0,
      accounting: { ...emptyTotals(), sent: hi, expected: joins, delivered: joins - missing, lost: missing },
      deliveriesPerSec: null,
      latencyUs: null,
      genCpu: null,
      serverCpu: null,
      metrics: {
        rssIdleKb: rssIdle,
        [`rssAt${lo}Kb`]: rssLo,
        [`rssAt${hi}Kb`]: rssHi,
        kbPerConn: +((rssHi - rssIdle) / hi).toFixed(2),
        kbPerConnMarginal: +((rssHi - rssLo) / (hi - lo)).toFixed(2),
      },
    };
  } finally {
    gen.close();
  }
}
