// The same conformance suite under Bun, for both backends (Bun's native
// sockets and node:net as Bun implements it), in one Bun child process.
import t from "tap";
import { cases } from "./conformance/suite.ts";
import { runBun } from "../support/bun.ts";

const run = await runBun(["spec/backends/conformance/run.ts", "bun", "node"], { timeoutMs: 90_000 });
const results = run.stdout
  .split("\n")
  .filter((l) => l.startsWith("{"))
  .map((l) => JSON.parse(l) as { backend: string; name: string; ok: boolean; error?: string });

for (const backend of ["bun", "node"]) {
  t.test(`bun runtime, ${backend} backend`, async (t) => {
    for (const c of cases) {
      const r = results.find((x) => x.backend === backend && x.name === c.name);
      t.ok(r, `${c.name}: ran`, { stderr: run.stderr.slice(-2000) });
      if (r) t.ok(r.ok, c.name, { error: r.error });
    }
  });
}
