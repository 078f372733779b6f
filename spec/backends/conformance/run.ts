/**
 * Runs the conformance suite in this process against the named backends and
 * prints one JSON line per case: {backend, name, ok, error?}. Used under Bun
 * by spec/reactor-bun.test.ts (tap itself runs on Node).
 *   bun spec/conformance/run.ts bun node
 */
import type { BackendName } from "../../../lib/backends/index.ts";
import { cases } from "./suite.ts";

if (!process.versions.bun) {
  // `tap spec` loads every file under spec/ on Node; this one is for Bun.
  console.log("1..0 # the Bun-side runner of the conformance suite (started by reactor-bun.test.ts)");
  process.exit(0);
}

const names = (process.argv.slice(2).length ? process.argv.slice(2) : ["bun"]) as BackendName[];
const { BunBackend } = await import("../../../lib/backends/bun.ts");
const { NodeBackend } = await import("../../../lib/backends/node.ts");
const makeBackend = (name: BackendName) => (name === "bun" ? new BunBackend() : new NodeBackend());

for (const name of names) {
  for (const c of cases) {
    try {
      await c.run(() => makeBackend(name));
      console.log(JSON.stringify({ backend: name, name: c.name, ok: true }));
    } catch (err) {
      console.log(JSON.stringify({ backend: name, name: c.name, ok: false, error: String((err as Error)?.stack ?? err) }));
    }
  }
}
process.exit(0);
