// The conformance suite in-process, on the node:net backend (tap runs on
// Node): each case's assertions are tap's own.
import t from "tap";
import { NodeBackend } from "../../lib/backends/node.ts";
import { backendHarness, type Check, cases, runCase, skipReason } from "./conformance/suite.ts";

const harness = backendHarness("node", () => new NodeBackend());

for (const c of cases) {
  t.test(`node: ${c.name}`, { skip: skipReason(c, harness) ?? false }, async (t) => {
    const check: Check = {
      equal: (actual, expected, message) => t.equal(actual, expected, message),
      same: (actual, expected, message) => t.strictSame(actual, expected, message),
      ok: (value, message) => t.ok(value, message),
      match: (text, pattern, message) => t.match(text, pattern, message),
    };
    await runCase(c, check, harness.makeBackend);
  });
}
