// Hostile and broken clients against a real server: over-long lines,
// binary data, floods, too many clients, resets and half-closes mid-line,
// clients that never speak. Each must leave the others chatting.
import { randomBytes } from "node:crypto";
import t from "tap";
import { startServer } from "../support/bun.ts";
import { writeAll } from "../support/bulk-reader.ts";
import { LineClient } from "../support/line-client.ts";
import { rssKiB } from "../support/proc.ts";

/** Connect clients one at a time, each after the server has announced the previous one. */
async function join(port: number, server: { waitFor(text: string): Promise<void> }, count: number): Promise<LineClient[]> {
  const clients: LineClient[] = [];
  for (let i = 0; i < count; i++) {
    const client = await LineClient.connect(port);
    await server.waitFor(`Client ${client.addr} connected`);
    clients.push(client);
  }
  return clients;
}

t.test("a line over --max-line: the sender is told and disconnected, the others are told why", async (t) => {
  const server = await startServer(["--max-line", "1000"]);
  t.teardown(() => server.stop());
  const [sender, watcher] = await join(server.port, server, 2);
  sender!.send("short line\n" + "y".repeat(1001) + "\n");
  await sender!.waitFor("Line too long (limit 1000 bytes), disconnecting\n");
  await sender!.waitClosed();
  await watcher!.waitFor(`${sender!.from} short line\n`);
  await watcher!.waitFor(`Client ${sender!.addr} is offline (line too long)\n`);
  t.notOk(watcher!.received.includes("yyyy"), "no part of the long line was relayed");
  const [newcomer] = await join(server.port, server, 1);
  newcomer!.send("still here\n");
  await t.resolves(watcher!.waitFor(`${newcomer!.from} still here\n`), "the others keep chatting");
});

t.test("64 MiB without a newline: evicted at the limit, server memory stays small", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [flooder, watcher] = await join(server.port, server, 2);
  const baseline = rssKiB(server.child.pid!);
  const chunk = Buffer.alloc(1024 * 1024, "z");
  let sent = 0;
  try {
    for (; sent < 64; sent++) await writeAll(flooder!.socket, chunk);
  } catch {
    // The server closed the connection under the writes: expected.
  }
  await watcher!.waitFor(`Client ${flooder!.addr} is offline (line too long)\n`);
  const growthMiB = (rssKiB(server.child.pid!) - baseline) / 1024;
  t.comment(`sender got ${sent} MiB out before the server cut it off; server RSS +${growthMiB.toFixed(1)} MiB`);
  t.ok(growthMiB < 32, `server RSS grew ${growthMiB.toFixed(1)} MiB (< 32)`);
  t.notOk(watcher!.received.includes("zzzz"), "nothing of it was relayed");
  const [newcomer] = await join(server.port, server, 1);
  newcomer!.send("after the flood\n");
  await watcher!.waitFor(`${newcomer!.from} after the flood\n`);
});

t.test("binary data, NULs and invalid UTF-8 pass through unchanged", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [sender, receiver] = await join(server.port, server, 2);
  // Every byte value but the newline, plus random bytes; ends in a non-CR byte.
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i).filter((i) => i !== 10 && i !== 13));
  const blob = Buffer.concat([all, randomBytes(50_000).filter((byte) => byte !== 10), Buffer.from([0, 0xff, 0xc3, 0x28, 0x21])]);
  sender!.send(Buffer.concat([blob, Buffer.from("\n")]));
  const want = `${sender!.from} ${blob.toString("latin1")}\n`;
  await t.resolves(receiver!.waitFor(want), `${blob.length} arbitrary bytes arrived exactly as sent`);
});

t.test("a flood over --rate/--burst: the excess is dropped, the sender warned once, then it may speak again", async (t) => {
  const server = await startServer(["--rate", "100", "--burst", "20"]);
  t.teardown(() => server.stop());
  const [flooder, watcher] = await join(server.port, server, 2);
  const lines = Array.from({ length: 500 }, (_, i) => `flood ${i}\n`).join("");
  flooder!.send(lines);
  await flooder!.waitFor("Too many lines (limit 100 per second, bursts of 20): dropping your lines until you slow down\n");
  // Later lines pass again once tokens come back (10 ms each at 100/s).
  let retries = 0;
  const retry = setInterval(() => flooder!.send(`retry ${retries++}\n`), 50);
  await watcher!.waitFor(`${flooder!.from} retry `).finally(() => clearInterval(retry));
  const got = [...watcher!.received.matchAll(/flood (\d+)\n/g)].map((match) => Number(match[1]));
  t.ok(got.length >= 20, `the burst got through (${got.length} lines)`);
  t.ok(got.length < 100, `most of the flood was dropped (${got.length} of 500 relayed)`);
  t.same(
    got.slice(0, 20),
    Array.from({ length: 20 }, (_, i) => i),
    "the burst is the first 20 lines, in order",
  );
  t.same(
    got,
    [...got].sort((earlier, later) => earlier - later),
    "what passed is in order",
  );
  t.equal(flooder!.received.split("Too many lines").length - 1, 1, "warned once for the whole run");
  t.notOk(flooder!.closed, "the flooder stays connected");
});

t.test("--max-clients: one over the limit is told the server is full and closed; the others never notice", async (t) => {
  const server = await startServer(["--max-clients", "3"]);
  t.teardown(() => server.stop());
  const clients = await join(server.port, server, 3);
  const extra = await LineClient.connect(server.port);
  await extra.waitFor("Server is full (3 clients), try again later\n");
  await extra.waitClosed();
  await server.waitFor(`Refused ${extra.addr}: server is full`);
  clients[0]!.send("hello\n");
  await clients[1]!.waitFor(`${clients[0]!.from} hello\n`);
  t.notOk(clients[1]!.received.includes(extra.addr), "no notice about the refused client");
  clients[2]!.send("q\n");
  await clients[0]!.waitFor(`Client ${clients[2]!.addr} quits\n`);
  const [late] = await join(server.port, server, 1);
  late!.send("room again\n");
  await clients[0]!.waitFor(`${late!.from} room again\n`);
});

t.test("resets, half-closes and silent clients mid-line do not disturb the others", async (t) => {
  const server = await startServer();
  t.teardown(() => server.stop());
  const [watcher, halfCloser, resetter, silent, talker] = await join(server.port, server, 5);
  // Half-close after an unterminated line: the tail is still a message.
  halfCloser!.send("half a line");
  halfCloser!.end();
  await watcher!.waitFor(`${halfCloser!.from} half a line\n`);
  await watcher!.waitFor(`Client ${halfCloser!.addr} is offline\n`);
  // Reset in the middle of a line: gone, and the partial line is not relayed.
  resetter!.send("never fini");
  resetter!.reset();
  await watcher!.waitFor(`Client ${resetter!.addr} is offline\n`);
  // A reset while the server has output queued for it.
  talker!.send("x".repeat(1000) + "\n");
  silent!.reset();
  await watcher!.waitFor(`Client ${silent!.addr} is offline\n`);
  talker!.send("after the resets\n");
  await t.resolves(watcher!.waitFor(`${talker!.from} after the resets\n`), "the server kept relaying between the others");
});

t.test("--idle-timeout: a client that never speaks is told and disconnected", async (t) => {
  const server = await startServer(["--idle-timeout", "0.5"]);
  t.teardown(() => server.stop());
  const [mute] = await join(server.port, server, 1);
  await mute!.waitFor("Idle for 0.5 s, disconnecting\n");
  await mute!.waitClosed();
  await t.resolves(server.waitFor(`Client ${mute!.addr} is offline (idle)`), "evicted after the quiet period");
});
