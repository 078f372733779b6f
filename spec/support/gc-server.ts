/**
 * A server for memory checks: started with support/full-gc.ts preloaded,
 * so that `collect()` asks it for a full garbage collection and resolves
 * with the heap that survived (see full-gc.ts).
 */
import * as path from "node:path";
import { root, type ServerProcess, startServer } from "./bun.ts";

/** A started server and a way to collect its garbage. */
export interface GcServer {
  server: ServerProcess;
  /** Ask for a full collection; resolves with the heap (bytes) that survived it. */
  collect(): Promise<number>;
}

/** Start a server with `extra` flags and support/full-gc.ts preloaded (BUN_OPTIONS: startServer takes no Bun flags). */
export async function startGcServer(extra: string[] = []): Promise<GcServer> {
  const before = process.env.BUN_OPTIONS;
  process.env.BUN_OPTIONS = `--preload ${path.join(root, "spec", "support", "full-gc.ts")}`;
  let server: ServerProcess;
  try {
    server = await startServer(extra);
  } finally {
    if (before === undefined) delete process.env.BUN_OPTIONS;
    else process.env.BUN_OPTIONS = before;
  }
  let requests = 0;
  const heaps: number[] = [];
  server.onLine((line) => {
    const m = /^full gc (\d+): heap (\d+)$/.exec(line);
    if (m) heaps[Number(m[1]) - 1] = Number(m[2]);
  });
  const collect = async (): Promise<number> => {
    const n = ++requests;
    server.child.kill("SIGUSR2");
    await server.waitUntil(() => heaps[n - 1] !== undefined, `full gc ${n}`);
    return heaps[n - 1]!;
  };
  return { server, collect };
}
