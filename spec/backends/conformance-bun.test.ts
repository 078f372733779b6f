// The same conformance suite under Bun, for both backends (Bun's native
// sockets and node:net as Bun implements it), in one Bun child process. Each
// assertion the child printed becomes a tap assertion here.
import t from "tap";
import type { Line } from "./conformance/run.ts";
import { cases } from "./conformance/suite.ts";
import { runBun } from "../support/bun.ts";

const run = await runBun(["spec/backends/conformance/run.ts", "bun", "node"], { timeoutMs: 90_000 });
const lines = run.stdout
  .split("\n")
  .filter((l) => l.startsWith("{"))
  .map((l) => JSON.parse(l) as Line);

for (const backend of ["bun", "node"]) {
  t.test(`bun runtime, ${backend} backend`, async (t) => {
    for (const c of cases) {
      t.test(c.name, async (t) => {
        const mine = lines.filter((l) => l.backend === backend && l.name === c.name);
        for (const l of mine) {
          if (l.type === "check") t.ok(l.ok, l.message, l.ok ? {} : { found: l.actual, wanted: l.expected });
        }
        const end = mine.find((l) => l.type === "end");
        if (!end) t.fail("the case finished", { stderr: run.stderr.slice(-2000), exit: run.code ?? run.signal });
        else if (end.error) t.fail("the case ran to its end", { error: end.error });
      });
    }
  });
}
