// `bun bench`: find out how many clients a line-chat server holds.
// Starts our server (or the C reference, or uses --target HOST:PORT), drives it
// from this process's load generator, prints a table / JSON lines and an SVG.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs, parseHostPort, USAGE, UsageError, type Options } from './args.ts';
import { TargetError } from './loadgen.ts';
import { Progress } from './progress.ts';
import { jsonLine, renderCompare, renderTable } from './report.ts';
import { notRun, type ScenarioResult } from './result.ts';
import { scenarios } from './scenarios/index.ts';
import { isExternal, startTarget, targetLabel, type Target } from './targets.ts';

async function probe(spec: string): Promise<void> {
  const { host, port } = parseHostPort('--target', spec);
  try {
    const s = await Bun.connect({ hostname: host, port, socket: { data() {}, error() {} } });
    s.end();
  } catch (e) {
    const code = (e as { code?: string }).code ?? (e as Error).message;
    throw new TargetError(`cannot connect to ${host}:${port}: ${code}`);
  }
}

/** Lets the server finish broadcasting the leave notices of the clients we
 * just closed, so they do not land in the next scenario's measurement. Only
 * for servers we do not restart per scenario. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 1000));

async function runTarget(spec: string, opts: Options, progress: Progress, emit: (r: ScenarioResult) => void): Promise<void> {
  const label = targetLabel(spec, opts.backend, opts.noCoalesce);
  const external = isExternal(spec);
  let shared: Target | null = null;
  if (external) {
    await probe(spec);
    shared = await startTarget(spec, opts.backend, opts.noCoalesce);
  }
  for (const [i, name] of opts.scenarios.entries()) {
    let target = shared;
    let result: ScenarioResult;
    try {
      // a fresh server per scenario: memory starts from idle and leftovers of
      // one scenario cannot disturb the next
      target ??= await startTarget(spec, opts.backend, opts.noCoalesce);
      progress.say(`${name} @ ${label} (${target.host}:${target.port})`);
      result = await scenarios[name]({ opts, target, progress });
    } catch (e) {
      if (!(e instanceof TargetError)) throw e;
      result = notRun(name, label, 'failed', e.message);
    } finally {
      if (target && !shared) await target.stop();
    }
    emit(result);
    if (shared && i < opts.scenarios.length - 1 && result.status === 'ok') await settle();
  }
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench: ${e.message}\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const specs = opts.compare ?? [opts.target ?? 'ours'];
  const labels = specs.map((s) => targetLabel(s, opts.backend, opts.noCoalesce));
  const progress = new Progress();
  const results: ScenarioResult[] = [];
  const emit = (r: ScenarioResult): void => {
    results.push(r);
    if (opts.json) {
      progress.done();
      process.stdout.write(`${jsonLine(r)}\n`);
    }
  };
  for (const spec of specs) {
    try {
      await runTarget(spec, opts, progress, emit);
    } catch (e) {
      if (!(e instanceof TargetError)) throw e;
      progress.done();
      if (specs.length === 1) {
        process.stderr.write(`bench: ${e.message}\n`);
        return 1;
      }
      process.stderr.write(`bench: ${spec}: ${e.message}\n`);
      for (const name of opts.scenarios) if (!results.some((r) => r.scenario === name && r.target === spec)) emit(notRun(name, spec, 'failed', e.message));
    }
  }
  progress.done();
  if (!opts.json) process.stdout.write(`${opts.compare ? renderCompare(results, labels) : renderTable(results)}\n`);
  try {
    const { renderSvg } = await import('./svg.ts');
    mkdirSync(path.dirname(path.resolve(opts.svg)), { recursive: true });
    writeFileSync(opts.svg, renderSvg(results));
    process.stderr.write(`chart written to ${opts.svg}\n`);
  } catch (e) {
    process.stderr.write(`bench: could not write ${opts.svg}: ${(e as Error).message}\n`);
  }
  return results.some((r) => r.status === 'ok') ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: internal error: ${e instanceof Error ? (process.env.BENCH_DEBUG ? e.stack : e.message) : String(e)}\n`);
    process.exit(1);
  },
);
