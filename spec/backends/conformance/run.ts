/**
 * Runs the conformance suite under Bun against the named backends and prints
 * one JSON line per assertion, then one per finished case (see `Line`).
 * Started by spec/backends/conformance-bun.test.ts, which turns the lines
 * into tap assertions (tap itself runs on Node).
 *   bun spec/backends/conformance/run.ts bun node
 */
import { inspect, isDeepStrictEqual } from "node:util";
import type { BackendName } from "../../../lib/backends/index.ts";
import { type Check, cases, runCase } from "./suite.ts";

/** What this runner prints, one JSON object a line. */
export type Line =
  | { type: "check"; backend: string; name: string; ok: boolean; message: string; actual?: string; expected?: string }
  | { type: "end"; backend: string; name: string; error?: string };

const print = (line: Line) => console.log(JSON.stringify(line));

/** A Check that prints each assertion as a line instead of failing in place. */
function printingCheck(backend: string, name: string): Check {
  const report = (ok: boolean, message: string, actual?: unknown, expected?: unknown): boolean => {
    const detail = ok ? {} : { actual: inspect(actual), expected: inspect(expected) };
    print({ type: "check", backend, name, ok, message, ...detail });
    return ok;
  };
  return {
    equal: (actual, expected, message) => report(Object.is(actual, expected), message, actual, expected),
    same: (actual, expected, message) => report(isDeepStrictEqual(actual, expected), message, actual, expected),
    ok: (value, message) => report(Boolean(value), message, value, true),
    match: (text, pattern, message) => report(pattern.test(text), message, text, pattern),
  };
}

const backendNames = (process.argv.length > 2 ? process.argv.slice(2) : ["bun"]) as BackendName[];
const { BunBackend } = await import("../../../lib/backends/bun.ts");
const { NodeBackend } = await import("../../../lib/backends/node.ts");
const makeBackend = (name: BackendName) => (name === "bun" ? new BunBackend() : new NodeBackend());

for (const backend of backendNames) {
  for (const c of cases) {
    try {
      await runCase(c, printingCheck(backend, c.name), () => makeBackend(backend));
      print({ type: "end", backend, name: c.name });
    } catch (err) {
      print({ type: "end", backend, name: c.name, error: String((err as Error)?.stack ?? err) });
    }
  }
}
process.exit(0);
