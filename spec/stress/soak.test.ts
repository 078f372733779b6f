// Soak: waves of clients connect and leave (half by FIN, half by reset).
// Between waves the server must be back where it was: no descriptors
// left open, no memory that keeps growing from wave to wave.
import * as net from "node:net";
import t from "tap";
import { startServer } from "../support/bun.ts";
import { openFds, rssKiB } from "../support/proc.ts";

// Not fewer in CI: the memory check compares the first five waves with the
// last five, and a leak of a few KiB per client only stands out when ten
// waves (10000 clients) lie between them. It takes about 5 s.
const WAVES = 20;
const PER_WAVE = 1000;

/** Polls `test`: nothing tells when the kernel has released a descriptor. */
async function pollUntil(test: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test(`soak: ${WAVES} waves of ${PER_WAVE} clients`, async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const pid = server.child.pid!;
  let connected = 0;
  let offline = 0;
  server.onLine((line) => {
    if (line.endsWith(" connected")) connected++;
    else if (line.endsWith(" is offline")) offline++;
  });
  const idleFds = openFds(pid);
  const fds: number[] = [];
  const rss: number[] = [];

  for (let wave = 1; wave <= WAVES; wave++) {
    const sockets = await Promise.all(
      Array.from(
        { length: PER_WAVE },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const socket = net.connect({ host: "127.0.0.1", port: server.port }, () => resolve(socket));
            socket.on("error", reject);
            socket.resume();
          }),
      ),
    );
    await server.waitUntil(() => connected >= wave * PER_WAVE, `wave ${wave} connected`, 20_000);
    for (const [i, socket] of sockets.entries()) {
      socket.removeAllListeners("error");
      socket.on("error", () => {});
      if (i % 2) socket.resetAndDestroy();
      else socket.end();
    }
    await server.waitUntil(() => offline >= wave * PER_WAVE, `wave ${wave} gone`, 20_000);
    await pollUntil(() => openFds(pid) <= idleFds, `wave ${wave}: descriptors released`, 5000).catch(() => {});
    fds.push(openFds(pid));
    rss.push(rssKiB(pid));
  }
  t.comment(`open fds after each wave: ${fds.join(" ")} (idle: ${idleFds})`);
  t.comment(`RSS MiB after each wave: ${rss.map((kib) => (kib / 1024).toFixed(1)).join(" ")}`);
  t.ok(
    fds.every((open) => open <= idleFds),
    "every wave's descriptors were released",
  );
  // Memory: what the late waves settle at is no more than what the early ones
  // reached (a leak of a few KiB per client adds up to tens of MiB here; the
  // minimum of the late waves takes garbage the GC has not collected out).
  const early = Math.max(...rss.slice(0, 5));
  const late = Math.min(...rss.slice(-5));
  t.ok(late <= early + 16 * 1024, `no growth across waves: ${(early / 1024).toFixed(1)} MiB early, ${(late / 1024).toFixed(1)} MiB late`);
});
