// The conformance suite in-process, on the node:net backend (tap runs on Node).
import t from "tap";
import { NodeBackend } from "../../lib/backends/node.ts";
import { cases } from "./conformance/suite.ts";

for (const c of cases) {
  t.test(`node: ${c.name}`, async (t) => {
    await c.run(() => new NodeBackend());
    t.pass("case passed");
  });
}
