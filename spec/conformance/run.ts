/**
 * Runs the conformance suite in this process against the named backends and
 * prints one JSON line per case: {backend, name, ok, error?}. Used under Bun
 * by spec/reactor-bun.test.ts (tap itself runs on Node).
 *   bun spec/conformance/run.ts bun node
 */
import { createBackend, type BackendName } from "../../lib/backends/index.ts";
import { cases } from "./suite.ts";

const names = (process.argv.slice(2).length ? process.argv.slice(2) : ["bun"]) as BackendName[];
for (const name of names) {
  await createBackend(name); // fail early if the backend cannot load here
  for (const c of cases) {
    try {
      const backends: Array<() => unknown> = [];
      const { BunBackend } = name === "bun" ? await import("../../lib/backends/bun.ts") : { BunBackend: null };
      const { NodeBackend } = await import("../../lib/backends/node.ts");
      void backends;
      await c.run(() => (BunBackend ? new BunBackend() : new NodeBackend()));
      console.log(JSON.stringify({ backend: name, name: c.name, ok: true }));
    } catch (err) {
      console.log(JSON.stringify({ backend: name, name: c.name, ok: false, error: String((err as Error)?.stack ?? err) }));
    }
  }
}
process.exit(0);
