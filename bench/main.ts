// `npm run bench`: find out how many clients a line-chat server holds.
// Starts our server (over TCP, or over WebSocket with --web), or the C
// reference, a redis-server for Redis pub/sub, Bun's own WebSocket pub/sub,
// or uses --target HOST:PORT / ws://HOST:PORT/PATH; drives it from this
// process's load generator, prints a table / JSON lines and an SVG.

import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { UsageError } from "../lib/cli/flags.ts";
import { loadAverage } from "./cpu.ts";
import { npmHint, usageLine } from "../lib/cli/program.ts";
import { npmTook, parseArgs, parseHostPort, usage, type Options, type ScenarioName } from "./args.ts";
import { TargetError } from "./loadgen.ts";
import { Progress } from "./progress.ts";
import { jsonLine, renderCompare, renderTable } from "./report.ts";
import { notRun, type ScenarioResult } from "./result.ts";
import { scenarios } from "./scenarios/index.ts";
import { parseWsUrl } from "./ws.ts";
import { checkTarget, isExternal, startTarget, TargetUnavailable, targetLabel, type Target } from "./targets.ts";

async function probe(spec: string): Promise<void> {
  const { host, port } = parseWsUrl(spec) ?? parseHostPort("--target", spec);
  try {
    const socket = await Bun.connect({ hostname: host, port, socket: { data() {}, error() {} } });
    socket.end();
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err as Error).message;
    throw new TargetError(`cannot connect to ${host}:${port}: ${code}`);
  }
}

/** Lets the server finish broadcasting the leave notices of the clients we
 * just closed, so they do not land in the next scenario's measurement. Only
 * for servers we do not restart per scenario. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 1000));

/** One target of the run. External ones (HOST:PORT) are probed once and
 * shared by every scenario; ours, c and redis get a fresh process per scenario. */
interface TargetRun {
  spec: string;
  label: string;
  shared: Target | null;
  /** why the target cannot be measured at all (probe failed, or not on this machine) */
  failed: string | null;
  /** failed means skipped: the target is missing here (TargetUnavailable), not broken */
  skipped?: boolean;
}

async function openTarget(spec: string, opts: Options): Promise<TargetRun> {
  const run: TargetRun = { spec, label: targetLabel(spec, opts.backend, opts.noCoalesce), shared: null, failed: null };
  if (isExternal(spec)) {
    await probe(spec);
    run.shared = await startTarget(spec, opts);
  } else checkTarget(spec, opts);
  return run;
}

async function runScenario(run: TargetRun, name: ScenarioName, opts: Options, progress: Progress): Promise<ScenarioResult> {
  let target = run.shared;
  try {
    // a fresh server per scenario: memory starts from idle and leftovers of
    // one scenario cannot disturb the next
    target ??= await startTarget(run.spec, opts);
    progress.say(`${name} @ ${run.label} (${target.host}:${target.port})`);
    // a scenario that compares two setups of one target starts a second process of it
    const fresh = run.shared ? undefined : () => startTarget(run.spec, opts);
    return await scenarios[name]({ opts, target, progress, ...(fresh ? { fresh } : {}) });
  } catch (err) {
    if (!(err instanceof TargetError)) throw err;
    return notRun(name, run.label, "failed", err.message);
  } finally {
    if (target && !run.shared) await target.stop();
  }
}

async function main(): Promise<number> {
  let opts: Options;
  const argv = process.argv.slice(2);
  // `npm run bench --clients 50` hands the bench `50` alone: say so, with what to type.
  const took = npmTook(argv);
  try {
    opts = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${took ? `${err.message}: ${npmHint(took)}` : usageLine(err.message)}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(usage());
    return 0;
  }
  if (took?.valueless) {
    process.stderr.write(`bench: ${npmHint(took)}\n`);
    return 2;
  }
  const specs = opts.compare ?? [opts.target ?? "ours"];
  const labels = specs.map((spec) => targetLabel(spec, opts.backend, opts.noCoalesce));
  const progress = new Progress();
  const loadAtStart = loadAverage();
  const results: ScenarioResult[] = [];
  const emit = (result: ScenarioResult): void => {
    results.push(result);
    if (opts.json) {
      progress.done();
      process.stdout.write(`${jsonLine(result)}\n`);
    }
  };
  const runs: TargetRun[] = [];
  for (const spec of specs) {
    try {
      runs.push(await openTarget(spec, opts));
    } catch (err) {
      if (!(err instanceof TargetError)) throw err;
      progress.done();
      if (specs.length === 1) {
        process.stderr.write(`bench: ${err.message}\n`);
        return 1;
      }
      const skipped = err instanceof TargetUnavailable;
      process.stderr.write(skipped ? `bench: ${err.message} (skipped)\n` : `bench: ${spec}: ${err.message}\n`);
      runs.push({ spec, label: spec, shared: null, failed: err.message, skipped });
    }
  }
  // Scenario by scenario, every target in turn: the figures a comparison
  // puts side by side are taken minutes closer together than target by
  // target, which matters on a machine shared with other work.
  for (const [i, name] of opts.scenarios.entries()) {
    for (const run of runs) {
      if (run.failed !== null) {
        emit(notRun(name, run.spec, run.skipped ? "skipped" : "failed", run.failed));
        continue;
      }
      const result = await runScenario(run, name, opts, progress);
      emit(result);
      if (run.shared && i < opts.scenarios.length - 1 && result.status === "ok") await settle();
    }
  }
  progress.done();
  const look = { wide: opts.wide };
  if (!opts.json) {
    process.stdout.write(`${opts.compare ? renderCompare(results, labels, look) : renderTable(results, look)}\n`);
    process.stdout.write(`load average (1, 5, 15 min): ${loadAtStart} at the start, ${loadAverage()} at the end\n`);
  }
  try {
    const { renderSvg } = await import("./svg.ts");
    mkdirSync(path.dirname(path.resolve(opts.svg)), { recursive: true });
    writeFileSync(opts.svg, renderSvg(results));
    process.stderr.write(`chart written to ${opts.svg}\n`);
  } catch (err) {
    process.stderr.write(`bench: could not write ${opts.svg}: ${(err as Error).message}\n`);
  }
  return results.some((result) => result.status === "ok") ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `bench: internal error: ${err instanceof Error ? (process.env.BENCH_DEBUG ? err.stack : err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
