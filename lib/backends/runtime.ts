/**
 * Which runtime this process is, for the parts that need Bun's globals
 * (the Bun backend, the web gateway): they say so clearly under Node
 * instead of failing on a missing `Bun`. No runtime import, so Node can load it.
 */

/** Whether this process runs on Bun (its `Bun` global is there). */
export function isBunRuntime(): boolean {
  return typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
}
