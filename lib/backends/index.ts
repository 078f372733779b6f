/**
 * The backends' public API: choosing one by name. Each is loaded on demand,
 * so that the Node backend works in a runtime without Bun's globals (the
 * Bun backend imports `bun:ffi`); their classes are exported as types only.
 */
import type { Backend } from "../reactor/backend.ts";
import { isBunRuntime } from "./runtime.ts";

export type { BunBackend } from "./bun.ts";
export type { NodeBackend } from "./node.ts";
export { isBunRuntime } from "./runtime.ts";

/** The backends `createBackend` knows. */
export type BackendName = "bun" | "node";

/** A new backend instance by name (the "bun" one needs the Bun runtime). */
export async function createBackend(name: BackendName): Promise<Backend> {
  if (name === "bun") {
    if (!isBunRuntime()) {
      throw new Error('the "bun" backend needs the Bun runtime; use --backend node under Node');
    }
    const { BunBackend } = await import("./bun.ts");
    return new BunBackend();
  }
  const { NodeBackend } = await import("./node.ts");
  return new NodeBackend();
}
