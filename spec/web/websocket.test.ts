// The WebSocket handle and listener (lib/web/websocket.ts) against a
// fake ServerWebSocket: readiness, backpressure, the inbound bound, close
// codes. The real thing, through Bun, is in reactor.test.ts and gateway.test.ts.
import t from "tap";
import {
  CloseCode,
  OUTBOUND_HIGH_WATER,
  type WebSocketData,
  WebSocketClosedError,
  WebSocketConnection,
  type WebSocketLike,
  WebSocketListener,
} from "../../lib/web/websocket.ts";
import { INBOUND_HIGH_WATER } from "../../lib/backends/handles.ts";
import { Ready } from "../../lib/reactor/events.ts";
import { DescriptorBudget } from "../../lib/reactor/descriptors.ts";

/** A ServerWebSocket that records what it is asked to do; `buffered` is what Bun would hold. */
class FakeSocket implements WebSocketLike {
  sent: string[] = [];
  buffered = 0;
  /** What sendText returns next: -1 (queued behind backpressure), 0 (dropped) or a byte count. */
  status = 1;
  closedWith: [number | undefined, string | undefined] | null = null;
  terminated = false;
  paused = false;
  bufferQueries = 0;
  constructor(readonly data: WebSocketData = { remote: { host: "127.0.0.1", port: 4000 }, lease: null, conn: null }) {}
  sendText(text: string): number {
    this.sent.push(text);
    if (this.status === -1) this.buffered += text.length;
    return this.status === 1 ? text.length : this.status;
  }
  getBufferedAmount(): number {
    this.bufferQueries++;
    return this.buffered;
  }
  close(code?: number, reason?: string): void {
    this.closedWith = [code, reason];
  }
  terminate(): void {
    this.terminated = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));
const remote = { host: "127.0.0.1", port: 4000 };
const local = { host: "127.0.0.1", port: 8080 };

t.test("a text frame is one line of input; recv takes it; the handle is a reactor connection", async (t) => {
  const ws = new FakeSocket();
  const conn = new WebSocketConnection(ws, remote, local, 1 << 20);
  let woken = 0;
  conn.watch(() => woken++);
  t.equal(conn.kind, "connection");
  t.equal(conn.readiness() & Ready.READABLE, 0, "nothing to read yet");
  conn.received("hello");
  conn.received("/nick bob");
  t.equal(woken, 1, "the watcher hears the first frame (the second finds input already waiting)");
  t.ok(conn.readiness() & Ready.READABLE);
  t.equal(text(conn.recv(3)), "hel", "recv may take part of it, as from a socket");
  t.equal(text(conn.recv()), "lo\n/nick bob\n");
  t.equal(conn.recv(), null, "then nothing (EAGAIN)");
  conn.closed(CloseCode.NORMAL, "");
  t.same(conn.recv(), new Uint8Array(0), "a normal close is EOF");
  t.equal(conn.error, null);
});

t.test("send: one text frame per call, whole; 0 while Bun holds more than the high-water mark; writable again on drain", async (t) => {
  const ws = new FakeSocket();
  const conn = new WebSocketConnection(ws, remote, local, 1 << 20);
  let woken = 0;
  conn.watch(() => woken++);
  const batch = bytes('{"k":"line","x":"hi"}\n{"k":"line","x":"there"}\n');
  t.equal(conn.send(batch), batch.length, "taken whole");
  t.same(ws.sent, ['{"k":"line","x":"hi"}\n{"k":"line","x":"there"}\n'], "as one frame");
  t.equal(ws.bufferQueries, 0, "while nothing was queued, Bun is not asked how much it holds");

  // The kernel is full: Bun queues the next frames (sendText says -1).
  ws.status = -1;
  const big = bytes("x".repeat(OUTBOUND_HIGH_WATER));
  t.equal(conn.send(big), big.length, "a frame under the mark is queued by Bun: taken");
  t.ok(conn.readiness() & Ready.WRITABLE, "still writable: Bun holds exactly the mark");
  t.equal(conn.send(bytes("y\n")), 2, "taken: the queue was not over the mark yet");
  t.equal(conn.readiness() & Ready.WRITABLE, 0, "over the mark: not writable");
  const before = ws.sent.length;
  t.equal(conn.send(bytes("z\n")), 0, "over the mark: nothing taken");
  t.equal(ws.sent.length, before, "and nothing handed to Bun");

  // The browser reads: Bun's queue shrinks and it says drain.
  ws.buffered = 1000;
  const wokenBefore = woken;
  conn.drained();
  t.equal(woken, wokenBefore + 1, "drain wakes the reactor");
  t.ok(conn.readiness() & Ready.WRITABLE, "writable again under the mark");
  t.equal(conn.send(bytes("z\n")), 2);
  ws.buffered = 0;
  ws.status = 1;
  t.ok(conn.readiness() & Ready.WRITABLE);
  const queries = ws.bufferQueries;
  conn.send(bytes("a\n"));
  conn.send(bytes("b\n"));
  t.equal(ws.bufferQueries, queries, "once the queue was seen empty, sends stop asking");
  conn.drained();
  t.equal(woken, wokenBefore + 1, "a drain with nothing waiting does not wake the reactor");
});

t.test("a frame Bun drops fails the connection instead of leaving a hole in the stream", async (t) => {
  const ws = new FakeSocket();
  const conn = new WebSocketConnection(ws, remote, local, 1 << 20);
  ws.status = 0;
  t.equal(conn.send(bytes("lost\n")), -1);
  t.ok(ws.terminated, "the socket is dropped");
  t.ok(conn.readiness() & Ready.ERRORED);
  t.match(conn.error?.message, /dropped/);
  t.equal(conn.send(bytes("more\n")), -1, "and stays gone");
});

t.test("close, abort, and the server shutting down", async (t) => {
  const a = new FakeSocket();
  new WebSocketConnection(a, remote, local, 1 << 20).close();
  t.same(a.closedWith, [1000, undefined], "a graceful close is 1000");
  const b = new FakeSocket();
  let shuttingDown = true;
  const conn = new WebSocketConnection(b, remote, local, 1 << 20, () => shuttingDown);
  conn.close();
  conn.close();
  t.same(b.closedWith, [1001, "server shutting down"], "while the server stops, 1001 (going away)");
  t.equal(conn.send(bytes("x\n")), -1, "closed: sends fail");
  shuttingDown = false;
  const c = new FakeSocket();
  const aborted = new WebSocketConnection(c, remote, local, 1 << 20);
  aborted.abort();
  t.ok(c.terminated, "abort terminates, no close frame");
  t.equal(c.closedWith, null);
});

t.test("an abnormal close is an error that says the code and the reason", async (t) => {
  const conn = new WebSocketConnection(new FakeSocket(), remote, local, 1 << 20);
  conn.closed(1006, "Received too big message");
  t.ok(conn.readiness() & Ready.ERRORED);
  t.type(conn.error, WebSocketClosedError);
  t.equal(conn.error?.message, "websocket closed (1006: Received too big message)");
  for (const code of [1000, 1001, 1005]) {
    const ok = new WebSocketConnection(new FakeSocket(), remote, local, 1 << 20);
    ok.closed(code, "");
    t.equal(ok.error, null, `${code} is a normal end`);
  }
});

t.test("inbound: reading pauses above INBOUND_HIGH_WATER; input far over it closes with 1008", async (t) => {
  const ws = new FakeSocket();
  const limit = INBOUND_HIGH_WATER * 4;
  const conn = new WebSocketConnection(ws, remote, local, limit);
  const line = "y".repeat(1023); // 1 KiB with its newline
  for (let i = 0; i < INBOUND_HIGH_WATER / 1024; i++) conn.received(line);
  t.notOk(ws.paused, "at the mark: still reading");
  conn.received(line);
  t.ok(ws.paused, "past it: Bun is told to stop reading (TCP flow control for the browser)");
  conn.recv();
  t.notOk(ws.paused, "taken: reading again");
  // A paused WebSocket still delivers what uWebSockets has already read.
  conn.setReading(false);
  t.ok(ws.paused, "the server holding it back pauses it too");
  let taken = 0;
  while (!ws.closedWith) {
    conn.received(line);
    taken += 1024;
    if (taken > 2 * limit) break;
  }
  t.same(ws.closedWith, [1008, "sending faster than the server reads"], "past the bound: closed with 1008 and why");
  t.ok(taken <= limit + 1024, "at the bound, not later");
  t.ok(conn.readiness() & Ready.ERRORED, "the server sees an error: the client is evicted");
  t.equal(conn.error?.message, "websocket closed (1008: sending faster than the server reads)");
  const unread = text(conn.recv())!;
  t.equal(unread.length, limit - (limit % 1024), "what came before the bound is still there to read");
});

t.test("the listener: open queues a connection, binary frames are refused with 1003, close releases the lease", async (t) => {
  const listener = new WebSocketListener(100);
  let stopped = 0;
  listener.bind({ host: "127.0.0.1", port: 8080 }, () => stopped++);
  t.equal(listener.handlers.maxPayloadLength, 100, "--max-line is the largest frame Bun takes (larger: 1009)");
  t.equal(listener.handlers.idleTimeout, 0, "the server's --idle-timeout applies, not Bun's");
  let woken = 0;
  listener.watch(() => woken++);
  const budget = new DescriptorBudget(10);
  const ws = new FakeSocket({ remote: { host: "10.0.0.1", port: 5555 }, lease: budget.acquire(), conn: null });
  // biome-ignore lint/suspicious/noExplicitAny: the fake stands in for Bun's socket
  const h = listener.handlers as any;
  h.open(ws);
  t.equal(woken, 1);
  t.ok(listener.readiness() & Ready.READABLE);
  const conn = listener.accept() as WebSocketConnection;
  t.ok(conn instanceof WebSocketConnection);
  t.same(conn.remote, { host: "10.0.0.1", port: 5555 });
  t.same(conn.local, { host: "127.0.0.1", port: 8080 });
  t.equal(listener.accept(), null);
  h.message(ws, "hi");
  t.equal(text(conn.recv()), "hi\n");
  h.message(ws, new Uint8Array([1, 2, 3]));
  t.same(ws.closedWith, [1003, "binary frames are not accepted"]);
  t.ok(conn.readiness() & Ready.ERRORED);
  t.equal(budget.used, 1);
  h.close(ws, 1003, "binary frames are not accepted");
  t.equal(budget.used, 0, "the descriptor is released when the socket closes");

  listener.close();
  listener.close();
  t.equal(stopped, 1, "close stops the server taking connections, once");
  const late = new FakeSocket();
  h.open(late);
  t.same(late.closedWith, [1001, "server shutting down"], "a connection opened after that is turned away");
  t.equal(listener.accept(), null);
});

t.test("a batch sent to every connection of a listener is decoded once, by that listener, not by a process-wide cache", async (t) => {
  // biome-ignore lint/suspicious/noExplicitAny: the fakes stand in for Bun's sockets
  const openOn = (listener: WebSocketListener, ws: FakeSocket) => ((listener.handlers as any).open(ws), listener.accept()!);
  const mine = new WebSocketListener(100);
  const other = new WebSocketListener(100);
  const [a, b, c] = [new FakeSocket(), new FakeSocket(), new FakeSocket()];
  const [connA, connB, connC] = [openOn(mine, a), openOn(mine, b), openOn(other, c)];
  const batch = bytes("one\n");
  connA.send(batch);
  // A probe, against the contract (a sender never changes bytes it has sent):
  // a connection that decoded again would see the change.
  batch.set(bytes("two\n"));
  connB.send(batch);
  connC.send(batch);
  t.same(a.sent, ["one\n"]);
  t.same(b.sent, ["one\n"], "the second connection of the listener reuses the first one's text");
  t.same(c.sent, ["two\n"], "another listener's connection decodes for itself");
});
