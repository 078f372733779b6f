// Every limit of the server holds for web clients as for TCP ones:
// --max-line, --rate, --max-outbound (a browser that does not read is
// evicted like a slow reader), --max-clients (counted across TCP and web),
// --idle-timeout. Each with a TCP client in the room that hears it.
import t from "tap";
import { writeAll } from "../support/bulk-reader.ts";
import { LineClient } from "../support/line-client.ts";
import { WsClient } from "../support/ws-client.ts";
import { startWebServer, type WebServer } from "./support/web.ts";

/** A web client in the room, heard joining by `tcp`. */
async function joinWeb(server: WebServer, tcp: LineClient): Promise<WsClient> {
  const web = await WsClient.open({ port: server.webPort, origin: server.origin });
  await tcp.waitFor(`Client ${web.addr} connected\n`);
  return web;
}

t.test("--max-line: a larger frame is closed with 1009 and a reason; the others hear it go offline", async (t) => {
  const server = await startWebServer(["--max-line", "100"]);
  t.teardown(() => server.stop());
  const tcp = await LineClient.connect(server.port);
  const big = await joinWeb(server, tcp);
  const other = await joinWeb(server, tcp);
  big.send("y".repeat(100));
  await tcp.waitFor(`<127.0.0.1:${big.port}> ${"y".repeat(100)}\n`);
  t.pass("a frame of --max-line bytes is a line");
  big.send("y".repeat(101));
  await big.waitClosed();
  t.equal(big.closeFrame?.code, 1009, "closed with 1009 (message too big)");
  t.ok(big.closeFrame!.reason !== "", `and a reason: "${big.closeFrame!.reason}"`);
  await tcp.waitFor(`Client ${big.addr} is offline`);
  await other.waitText(`Client ${big.addr} is offline`);
  t.notMatch(tcp.received, "y".repeat(101), "none of it reached the room");
  other.send("still here");
  await tcp.waitFor("still here\n");
});

t.test("--rate: a web client's flood is dropped past the burst, and it is told", async (t) => {
  const server = await startWebServer(["--rate", "1", "--burst", "3"]);
  t.teardown(() => server.stop());
  const tcp = await LineClient.connect(server.port);
  const web = await joinWeb(server, tcp);
  for (let i = 0; i < 10; i++) web.send(`line ${i}`);
  const warning = await web.waitEvent((e) => e.k === "error", "the flood warning");
  t.equal(warning.x, "Too many lines (limit 1 per second, bursts of 3): dropping your lines until you slow down");
  // Another client speaks after the warning came: the flood was handled before it.
  const marker = await LineClient.connect(server.port);
  await tcp.waitFor(`Client (127.0.0.1, ${marker.port}) connected\n`);
  marker.send("marker\n");
  await web.waitText("marker");
  await tcp.waitFor("> marker\n");
  const own = web.events.filter((e) => e.k === "line" && e.s === `127.0.0.1:${web.port}`).map((e) => e.x);
  t.same(own, ["line 0", "line 1", "line 2"], "the room recorded the burst only");
  t.same(tcp.received.match(/> line \d\n/g), ["> line 0\n", "> line 1\n", "> line 2\n"], "the TCP client got those three");
  t.notOk(web.closed, "a flooder is throttled, not disconnected");
});

t.test("--max-outbound: a browser that does not read is evicted as too slow; the rest go on", async (t) => {
  const server = await startWebServer(["--max-outbound", "65536", "--rate", "0"]);
  t.teardown(() => server.stop());
  const sender = await LineClient.connect(server.port);
  const slow = await joinWeb(server, sender);
  const reader = await joinWeb(server, sender);
  slow.stopReading(); // the kernel's buffers fill, then Bun's, then the server's queue
  const line = `${"x".repeat(16 * 1024 - 1)}\n`;
  const evicted = `Client ${slow.addr} is offline (too slow)`;
  let sent = 0;
  // At most 512 MiB: far past every buffer on the way to the slow client.
  while (!sender.received.includes(evicted) && sent < 32768) {
    await writeAll(sender.socket, line);
    sent++;
  }
  await sender.waitFor(evicted);
  t.pass(`evicted after ${sent} lines of 16 KiB`);
  await reader.waitText(evicted);
  t.ok(!reader.closed, "the web client that reads is still there");
  sender.send("after\n");
  await reader.waitText("after");
  t.pass("and still gets the room");
  await server.waitFor(evicted);
});

t.test("--max-clients counts TCP and web clients together", async (t) => {
  const server = await startWebServer(["--max-clients", "2"]);
  t.teardown(() => server.stop());
  const tcp = await LineClient.connect(server.port);
  const web = await joinWeb(server, tcp);
  const refusedWeb = await WsClient.open({ port: server.webPort, origin: server.origin });
  await refusedWeb.waitClosed();
  t.same(
    refusedWeb.events.map((e) => [e.k, e.x]),
    [["error", "Server is full (2 clients), try again later"]],
    "a third (web) client is told the server is full",
  );
  const refusedTcp = await LineClient.connect(server.port);
  await refusedTcp.waitClosed();
  t.equal(refusedTcp.received, "Server is full (2 clients), try again later\n", "so is a third TCP client");
  t.notMatch(tcp.received, `Client ${refusedWeb.addr} connected`, "the room never heard of them");
  t.notMatch(tcp.received, `Client (127.0.0.1, ${refusedTcp.port}) connected`);
  web.close();
  await tcp.waitFor(`Client ${web.addr} is offline\n`);
  const next = await joinWeb(server, tcp);
  t.pass("once one left, a web client gets in");
  next.close();
});

t.test("--idle-timeout: a quiet web client is told and disconnected; the others hear why", async (t) => {
  const server = await startWebServer(["--idle-timeout", "1"]);
  t.teardown(() => server.stop());
  const tcp = await LineClient.connect(server.port);
  // The TCP client keeps talking, so that it stays to hear the web client go.
  const talk = setInterval(() => tcp.send("still here\n"), 250);
  t.teardown(() => clearInterval(talk));
  const idle = await joinWeb(server, tcp);
  await idle.waitClosed(15_000);
  t.same(
    idle.events.filter((e) => e.k === "error").map((e) => e.x),
    ["Idle for 1 s, disconnecting"],
  );
  t.equal(idle.closeFrame?.code, 1000, "a normal close after the message");
  await tcp.waitFor(`Client ${idle.addr} is offline (idle)\n`);
});
