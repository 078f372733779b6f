// Rooms come and go: waves of clients each make a room of their own with
// /join, say a line in it and leave. After every wave the server holds
// one room again (the metrics say so), and the memory that survives a full
// garbage collection does not grow from wave to wave: an empty room gives
// its memory back (its log, its batch, its /who list, its member).
import * as net from "node:net";
import t from "tap";
import { startGcServer } from "../support/gc-server.ts";

const WAVES = 10;
const PER_WAVE = 500;

t.test(`rooms churn: ${WAVES} waves of ${PER_WAVE} clients, each in a room of its own`, async (t) => {
  const { server, collect } = await startGcServer(["--rate", "0", "--metrics", "127.0.0.1:0", "--max-rooms", String(PER_WAVE + 10)]);
  t.teardown(() => server.stop());
  await server.waitFor("Metrics on");
  const metricsUrl = /Metrics on (\S+)metrics/.exec(server.output())![1]!;
  const rooms = async () => Number(/^chat_rooms (\d+)$/m.exec(await (await fetch(`${metricsUrl}metrics`)).text())![1]);
  let entered = 0;
  let offline = 0;
  server.onLine((line) => {
    if (/ #w\d+-\d+: Client \(127\.0\.0\.1, \d+\) joined$/.test(line)) entered++;
    else if (line.endsWith(" is offline")) offline++;
  });
  const heap: number[] = [];
  const counts: number[] = [];
  for (let wave = 1; wave <= WAVES; wave++) {
    const sockets = await Promise.all(
      Array.from(
        { length: PER_WAVE },
        (_, i) =>
          new Promise<net.Socket>((resolve, reject) => {
            const socket = net.connect({ host: "127.0.0.1", port: server.port }, () => {
              socket.write(`/join w${wave}-${i}\nhello room ${i}\n`);
              resolve(socket);
            });
            socket.on("error", reject);
            socket.resume();
          }),
      ),
    );
    await server.waitUntil(() => entered >= wave * PER_WAVE, `wave ${wave} in their rooms`, 20_000);
    for (const socket of sockets) {
      socket.removeAllListeners("error");
      socket.on("error", () => {});
      socket.end();
    }
    await server.waitUntil(() => offline >= wave * PER_WAVE, `wave ${wave} gone`, 20_000);
    heap.push(await collect());
    // The metrics are sampled once a second (a timer, no event to await): poll for a sample taken after the wave left.
    const sampled = Date.now();
    for (;;) {
      const stats = (await (await fetch(`${metricsUrl}stats.json`)).json()) as { time: number; rooms: number };
      if (stats.time > sampled) {
        counts.push(stats.rooms);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  t.same(counts, Array(WAVES).fill(1), "after every wave, one room: the default");
  t.equal(await rooms(), 1, "and /metrics says so");
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  t.comment(`heap after each wave and a full GC, MiB: ${heap.map(mib).join(" ")}`);
  const early = Math.max(...heap.slice(0, 3));
  const late = Math.min(...heap.slice(-3));
  // 3500 rooms lie between them: a room that kept even 2 KiB would add 7 MiB.
  t.ok(late <= early + 4 * 1024 * 1024, `no heap growth: ${mib(early)} MiB early, ${mib(late)} MiB late`);
});
