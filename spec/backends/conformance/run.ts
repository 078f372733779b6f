/**
 * Runs the conformance suite under Bun against the named harnesses (the
 * backends "bun" and "node", the gateway's WebSockets "websocket") and
 * prints one JSON line per assertion, then one per finished or skipped case
 * (see `Line`). Started by spec/backends/conformance-bun.test.ts and
 * conformance-websocket.test.ts, which turn the lines into tap assertions
 * (tap itself runs on Node).
 *   bun spec/backends/conformance/run.ts bun node websocket
 */
import { inspect, isDeepStrictEqual } from "node:util";
import { backendHarness, type Check, cases, type Harness, runCase, skipReason } from "./suite.ts";

/** What this runner prints, one JSON object a line; `backend` names the harness. */
export type Line =
  | { type: "check"; backend: string; name: string; ok: boolean; message: string; actual?: string; expected?: string }
  | { type: "end"; backend: string; name: string; error?: string }
  | { type: "skip"; backend: string; name: string; reason: string };

/** A harness this runner was given that it does not know. */
class UnknownHarnessError extends Error {
  override readonly name = "UnknownHarnessError";
}

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

/** A harness by name; each is loaded only when asked for. */
async function harnessNamed(name: string): Promise<Harness> {
  if (name === "bun") {
    const { BunBackend } = await import("../../../lib/backends/bun.ts");
    return backendHarness(name, () => new BunBackend());
  }
  if (name === "node") {
    const { NodeBackend } = await import("../../../lib/backends/node.ts");
    return backendHarness(name, () => new NodeBackend());
  }
  if (name === "websocket") return (await import("./websocket.ts")).websocketHarness;
  throw new UnknownHarnessError(`no harness named ${JSON.stringify(name)} (bun, node, websocket)`);
}

const names = process.argv.length > 2 ? process.argv.slice(2) : ["bun"];
for (const harness of await Promise.all(names.map(harnessNamed))) {
  const backend = harness.name;
  for (const c of cases) {
    const reason = skipReason(c, harness);
    if (reason !== null) {
      print({ type: "skip", backend, name: c.name, reason });
      continue;
    }
    try {
      await runCase(c, printingCheck(backend, c.name), harness.makeBackend);
      print({ type: "end", backend, name: c.name });
    } catch (err) {
      print({ type: "end", backend, name: c.name, error: String((err as Error)?.stack ?? err) });
    }
  }
}
process.exit(0);
