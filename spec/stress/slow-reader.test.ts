// Slow readers: a client that never reads is evicted once --max-outbound
// bytes wait for it, while a reader that keeps up gets every message and
// the server's memory stays bounded. And shutdown: what was accepted is
// flushed to readers, and a reader that never reads cannot hold it up.
import t from "tap";
import { startServer } from "../support/bun.ts";
import { BulkReader, writeAll } from "../support/bulk-reader.ts";
import { LineClient } from "../support/line-client.ts";
import { rssKiB } from "../support/proc.ts";

const LINE = 16 * 1024;
const LINES = 16384; // 256 MiB in all
const WINDOW = 64;
const RELAYED_MIB = (LINES * LINE) / (1024 * 1024);
const payload = (i: number) => String(i).padStart(8, "0") + ":" + "x".repeat(LINE - 10) + "\n";

t.test("a reader that never reads is evicted; the fast reader gets everything; RSS stays bounded", async (t) => {
  const maxOutbound = 2 * 1024 * 1024;
  const server = await startServer(["--rate", "0", "--max-outbound", String(maxOutbound)]);
  t.teardown(() => server.stop());
  const pid = server.child.pid!;

  const slow = await LineClient.connect(server.port);
  slow.socket.pause(); // never reads: the kernel buffers fill, then the server's queue grows
  const sender = await LineClient.connect(server.port);
  const prefix = `${sender.from} `;
  let next = 0;
  let outOfOrder = 0;
  const fast = await BulkReader.connect(server.port, (line) => {
    if (!line.startsWith(prefix)) return;
    if (Number(line.slice(prefix.length, prefix.length + 8)) !== next) outOfOrder++;
    next++;
  });
  await server.waitFor(`Client (127.0.0.1, ${fast.port}) connected`);

  const baseline = rssKiB(pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(pid))), 20);
  // The fast reader keeps up: the sender stays at most WINDOW lines (1 MiB)
  // ahead of what it has received, far below --max-outbound.
  for (let i = 0; i < LINES; i++) {
    if (i - next >= WINDOW) await fast.waitUntil(() => i - next < WINDOW, `line ${i - WINDOW} at the fast reader`);
    await writeAll(sender.socket, payload(i));
  }
  await fast.waitUntil(() => next === LINES, `all ${LINES} lines at the fast reader`);
  clearInterval(sampler);
  peak = Math.max(peak, rssKiB(pid));

  t.equal(outOfOrder, 0, "fast reader: every line in order");
  t.equal(next, LINES, "fast reader: every line exactly once");
  const growthMiB = (peak - baseline) / 1024;
  t.comment(
    `server RSS: baseline ${(baseline / 1024).toFixed(1)} MiB, peak +${growthMiB.toFixed(1)} MiB while relaying ${RELAYED_MIB} MiB`,
  );
  // Without the limit, the never-read queue alone would hold ~RELAYED_MIB.
  t.ok(growthMiB < 128, `server RSS grew ${growthMiB.toFixed(1)} MiB (< 128) while relaying ${RELAYED_MIB} MiB`);
  await server.waitFor(`Client ${slow.addr} is offline (too slow)`);
  await sender.waitFor(`Client ${slow.addr} is offline (too slow)`);
  t.notOk(fast.closed, "the fast reader is still connected");
});

t.test("shutdown flushes accepted messages to readers and is not held up by one that never reads", async (t) => {
  const server = await startServer(["--rate", "0", "--max-outbound", String(256 * 1024 * 1024)]);
  t.teardown(() => server.stop());
  const stuck = await LineClient.connect(server.port);
  stuck.socket.pause();
  const sender = await LineClient.connect(server.port);
  const prefix = `${sender.from} `;
  let got = 0;
  const reader = await BulkReader.connect(server.port, (line) => {
    if (line.startsWith(prefix)) got++;
  });
  await server.waitFor(`Client (127.0.0.1, ${reader.port}) connected`);
  const lines = 1024; // 16 MiB: more than the kernel buffers hold for the stuck reader
  for (let i = 0; i < lines; i++) await writeAll(sender.socket, payload(i));
  // Every line has reached the server once the reader has the last one.
  await reader.waitUntil(() => got === lines, "all lines at the reader");
  let sawShutdown = false;
  const shutdownReader = await BulkReader.connect(server.port, (line) => {
    if (line === "Server is shutting down") sawShutdown = true;
  });
  await server.waitFor(`Client (127.0.0.1, ${shutdownReader.port}) connected`);
  server.child.kill("SIGTERM");
  const exit = await server.exited;
  t.equal(exit.code, 0, "server exits 0 although one client never read its output");
  await t.resolves(
    shutdownReader.waitUntil(() => sawShutdown && shutdownReader.closed, "shutdown notice, then close"),
    "readers got the shutdown notice and then the close",
  );
});
