// The same conformance suite under Bun, for both backends (Bun's native
// sockets and node:net as Bun implements it), in one Bun child process. Each
// assertion the child printed becomes a tap assertion here.
import t from "tap";
import { reportCases } from "./conformance/report.ts";
import { runBun } from "../support/bun.ts";

const run = await runBun(["spec/backends/conformance/run.ts", "bun", "node"], { timeoutMs: 90_000 });

for (const backend of ["bun", "node"]) {
  t.test(`bun runtime, ${backend} backend`, async (t) => reportCases(t, run, backend));
}
