// A connection's first bytes: a TLS client on the plain port (its first
// bytes a TLS handshake record) is told so in one plain line and closed,
// and nothing it sent reaches the others; a chat client whose first byte
// happens to be 0x16 is served as usual. The server runs in process on the
// node:net backend; its ticks wake the waiters, so a test can wait for the
// server to have taken a byte without sleeping.
import t from "tap";
import { looksLikeTls, PLAIN_TCP_ONLY } from "../../lib/chat/protocol.ts";
import { offlineReason } from "../../lib/server/limits.ts";
import { startInProcess } from "../support/in-process-server.ts";
import { LineClient } from "../support/line-client.ts";

/** The first bytes a TLS 1.2/1.3 client sends: a handshake record header, then a ClientHello. */
const CLIENT_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x2f, 0x01, 0x00, 0x00, 0x2b, 0x03, 0x03, 0x0a, 0x41, 0x42, 0x0a]);

t.test("looksLikeTls: a handshake record header, and only that", async (t) => {
  const b = (...bytes: number[]) => new Uint8Array(bytes);
  t.equal(looksLikeTls(CLIENT_HELLO), true, "a ClientHello");
  for (const minor of [0, 1, 2, 3, 4]) t.equal(looksLikeTls(b(0x16, 0x03, minor)), true, `SSL 3.0 / TLS 1.${minor - 1} record`);
  t.equal(looksLikeTls(b(0x16, 0x03, 0x05)), false, "no such version");
  t.equal(looksLikeTls(b(0x16, 0x04, 0x01)), false, "no such major version");
  t.equal(looksLikeTls(b(0x15, 0x03, 0x01)), false, "an alert is not a ClientHello");
  t.equal(looksLikeTls(new TextEncoder().encode("hello\n")), false, "a chat line");
  t.equal(looksLikeTls(b()), null, "nothing yet");
  t.equal(looksLikeTls(b(0x16)), null, "one byte of a record: too few to tell");
  t.equal(looksLikeTls(b(0x16, 0x03)), null, "two bytes: too few to tell");
  t.equal(looksLikeTls(b(0x16, 0x0a)), false, "0x16 then a newline: a (strange) chat line");
});

/** A ChatServer in this process (20 ms tails). */
async function startServer(t: { teardown(fn: () => unknown): void }) {
  const { server, port, ticks, logged, sessionOf } = await startInProcess(t, { tailMs: 20 });
  return { server, port, ticks, logged, peerOf: sessionOf };
}

t.test("a TLS ClientHello on the plain port: one plain line, closed, nothing relayed", async (t) => {
  const { port, logged } = await startServer(t);
  const [watcher, tlsClient] = (await LineClient.connectAll(port, 2)) as [LineClient, LineClient];
  tlsClient.send(CLIENT_HELLO);
  await tlsClient.waitClosed();
  t.equal(tlsClient.received, `${PLAIN_TCP_ONLY}\n`, "the TLS client gets one plain line, then the close");
  const gone = `Client ${tlsClient.addr} is offline (${offlineReason.tls})\n`;
  await watcher.waitFor(gone);
  t.equal(watcher.received, `Client ${tlsClient.addr} connected\n${gone}`, "the others hear it come and go, none of its bytes");
  t.ok(logged.includes(gone.trimEnd()), "and the log says why");
  watcher.end();
});

t.test("a handshake header split over two reads is still seen; a chat client that starts with 0x16 is served", async (t) => {
  const { port, ticks, peerOf } = await startServer(t);
  const [watcher, oddClient, tlsClient] = (await LineClient.connectAll(port, 3)) as [LineClient, LineClient, LineClient];
  const tookFirstByte = (client: LineClient) =>
    ticks.until(() => peerOf(client)?.firstBytes?.length === 1, "the server to take the first byte", 10_000);

  tlsClient.send(CLIENT_HELLO.subarray(0, 1));
  await tookFirstByte(tlsClient);
  tlsClient.send(CLIENT_HELLO.subarray(1));
  await tlsClient.waitClosed();
  t.equal(tlsClient.received, `${PLAIN_TCP_ONLY}\n`, "told, then closed");

  oddClient.send(Buffer.from([0x16]));
  await tookFirstByte(oddClient);
  oddClient.send("ping\n");
  await watcher.waitFor(`${oddClient.from} \x16ping\n`);
  t.pass("the byte held back is part of its first line");
  t.notMatch(watcher.received, "\x03\x01", "nothing of the TLS client's bytes was relayed");

  // Held back, then EOF: the byte is still the client's message.
  const lastClient = await LineClient.connect(port);
  lastClient.send(Buffer.from([0x16]));
  await tookFirstByte(lastClient);
  lastClient.end();
  await watcher.waitFor(`${lastClient.from} \x16\nClient ${lastClient.addr} is offline\n`);
  t.pass("a held-back byte is delivered at EOF");
  watcher.end();
  oddClient.end();
});
