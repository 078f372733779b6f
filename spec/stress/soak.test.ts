// Soak: waves of clients connect and leave (half by FIN, half by reset).
// Between waves the server must be back where it was: no descriptors
// left open, no memory that keeps growing from wave to wave.
import * as net from "node:net";
import t from "tap";
import { startServer } from "../support/bun.ts";
import { openFds, rssKiB } from "../support/proc.ts";

const WAVES = 20;
const PER_WAVE = 1000;

async function until(test: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test(`soak: ${WAVES} waves of ${PER_WAVE} clients`, async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const pid = server.child.pid!;
  const count = (text: string) => server.output().split(text).length - 1;
  const idleFds = openFds(pid);
  const fds: number[] = [];
  const rss: number[] = [];

  for (let wave = 1; wave <= WAVES; wave++) {
    const sockets = await Promise.all(
      Array.from(
        { length: PER_WAVE },
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect({ host: "127.0.0.1", port: server.port }, () => resolve(s));
            s.on("error", reject);
            s.resume();
          }),
      ),
    );
    await until(() => count(" connected\n") >= wave * PER_WAVE, `wave ${wave} connected`);
    for (const [i, s] of sockets.entries()) {
      s.removeAllListeners("error");
      s.on("error", () => {});
      if (i % 2) s.resetAndDestroy();
      else s.end();
    }
    await until(() => count(" is offline\n") >= wave * PER_WAVE, `wave ${wave} gone`);
    await until(() => openFds(pid) <= idleFds, `wave ${wave}: descriptors released`, 5000).catch(() => {});
    fds.push(openFds(pid));
    rss.push(rssKiB(pid));
  }
  t.comment(`open fds after each wave: ${fds.join(" ")} (idle: ${idleFds})`);
  t.comment(`RSS MiB after each wave: ${rss.map((k) => (k / 1024).toFixed(1)).join(" ")}`);
  t.ok(fds.every((n) => n <= idleFds), "every wave's descriptors were released");
  // Memory: what the late waves settle at is no more than what the early ones
  // reached (a leak of a few KiB per client adds up to tens of MiB here; the
  // minimum of the late waves takes garbage the GC has not collected out).
  const early = Math.max(...rss.slice(0, 5));
  const late = Math.min(...rss.slice(-5));
  t.ok(late <= early + 16 * 1024, `no growth across waves: ${(early / 1024).toFixed(1)} MiB early, ${(late / 1024).toFixed(1)} MiB late`);
});
