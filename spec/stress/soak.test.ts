// Soak: waves of clients connect and leave (half by FIN, half by reset).
// Between waves the server must be back where it was: no descriptors
// left open, no memory that keeps growing from wave to wave.
//
// Memory is measured after a full garbage collection (support/full-gc.ts,
// preloaded into the server): a leak is memory the server still holds. Left
// to itself the collector runs a full collection only once the heap has
// grown in proportion to what was live after the last one, so RSS sampled
// without one climbs over many waves (61 -> 135 MiB seen) and drops back
// when it comes: that is garbage not yet collected, and where the drop falls
// among 20 waves is chance.
import * as net from "node:net";
import t from "tap";
import { startGcServer } from "../support/gc-server.ts";
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
  const { server, collect } = await startGcServer();
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
  const heap: number[] = [];

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
    heap.push(await collect());
    rss.push(rssKiB(pid));
  }
  t.comment(`open fds after each wave: ${fds.join(" ")} (idle: ${idleFds})`);
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  t.comment(`after each wave and a full GC, RSS MiB: ${rss.map((kib) => mib(kib * 1024)).join(" ")}`);
  t.comment(`and the heap that survived it, MiB: ${heap.map(mib).join(" ")}`);
  t.ok(
    fds.every((open) => open <= idleFds),
    "every wave's descriptors were released",
  );
  // Memory: what the late waves hold is no more than what the early ones did.
  // A leak of a few KiB per client adds up to tens of MiB over the 10000
  // clients between them; what may differ without one is bounded: the
  // collector's and the allocator's pages (RSS), and what the last seconds'
  // clients leave for a while (closing sockets' timers, the log's last 1000
  // entries: about 3 MiB of heap). The smallest late figure is compared, as
  // a leak raises all of them.
  const early = (xs: number[]) => Math.max(...xs.slice(0, 5));
  const late = (xs: number[]) => Math.min(...xs.slice(-5));
  t.ok(
    late(heap) <= early(heap) + 8 * 1024 * 1024,
    `no heap growth across waves: ${mib(early(heap))} MiB early, ${mib(late(heap))} MiB late`,
  );
  t.ok(
    late(rss) <= early(rss) + 16 * 1024,
    `no RSS growth across waves: ${mib(early(rss) * 1024)} MiB early, ${mib(late(rss) * 1024)} MiB late`,
  );
});
