/**
 * Preloaded into a server by spec/support/gc-server.ts (`bun --preload`):
 * on SIGUSR2 it runs a full, synchronous garbage collection and then prints
 * `full gc N: heap BYTES` on stdout (N counts the requests; BYTES is the
 * JavaScript heap that survived, the buffers it owns included). So a memory
 * check measures what the server still holds, not garbage that the
 * collector has not come to yet. Nothing else in the server changes.
 */
import { heapStats } from "bun:jsc";

let requests = 0;
process.on("SIGUSR2", () => {
  Bun.gc(true);
  process.stdout.write(`full gc ${++requests}: heap ${heapStats().heapSize}\n`);
});
