// The chat client's session logic (lib/client/client.ts) on a real reactor
// (node:net backend, in process) against a scripted server: line framing
// across reads, telling a TLS server from a chat server, end of input.
import * as net from "node:net";
import { PassThrough } from "node:stream";
import t, { type Test } from "tap";
import { NodeBackend } from "../../lib/backends/node.ts";
import { StdinHandle } from "../../lib/backends/stdin.ts";
import { ChatClient, type ChatClientOptions, ClientExit, clientMessages } from "../../lib/client/client.ts";
import type { Readable } from "../../lib/reactor/backend.ts";
import { Reactor } from "../../lib/reactor/reactor.ts";
import { Waiters } from "../support/waiters.ts";

/** A server whose side of the one connection the test drives by hand. */
async function scriptedServer(t: Test) {
  const waiters = new Waiters();
  let socket: net.Socket | null = null;
  let received = "";
  const server = net.createServer((s) => {
    socket = s;
    s.on("data", (d) => {
      received += d.toString("latin1");
      waiters.wake();
    });
    s.on("error", () => {});
    waiters.wake();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    port: (server.address() as net.AddressInfo).port,
    /** The accepted connection, once there. */
    async accepted(): Promise<net.Socket> {
      await waiters.until(() => socket !== null, "the client's connection", 10_000);
      return socket!;
    },
    /** Resolves once the client has sent `text` (all it sent so far contains it). */
    waitFor: (text: string) =>
      waiters.until(
        () => received.includes(text),
        JSON.stringify(text),
        10_000,
        () => `; got ${received}`,
      ),
    received: () => received,
  };
}

/**
 * `handle` as itself, except that each `recv()` is also told to `seen`
 * (what it returned): a test then knows what the client has read.
 */
function spy<H extends Readable>(handle: H, seen: (data: Uint8Array | null) => void): H {
  return new Proxy(handle, {
    get(target, prop) {
      if (prop === "recv") {
        return (maxBytes?: number) => {
          const data = target.recv(maxBytes);
          seen(data);
          return data;
        };
      }
      const value = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * A ChatClient connected to `port`, its stdin a stream the test writes,
 * its output collected, and what it has read from either side counted.
 */
async function startClient(t: Test, port: number, options: ChatClientOptions = {}) {
  const backend = new NodeBackend();
  const reactor = new Reactor<"server" | "input">(backend);
  t.teardown(() => reactor.close());
  const waiters = new Waiters();
  let serverBytes = 0;
  let inputEnded = false;
  const conn = spy(await backend.connect({ host: "127.0.0.1", port }), (data) => {
    serverBytes += data?.length ?? 0;
    waiters.wake();
  });
  const stdin = new PassThrough();
  const input = spy(new StdinHandle(stdin as unknown as NodeJS.ReadStream), (data) => {
    if (data?.length === 0) inputEnded = true;
    waiters.wake();
  });
  const lines: string[] = [];
  const status: string[] = [];
  const client = new ChatClient(
    reactor,
    conn,
    input,
    {
      line: (text) => {
        lines.push(Buffer.from(text).toString("latin1"));
        waiters.wake();
      },
      status: (text) => status.push(text),
    },
    options,
  );
  const exit = client.run();
  return {
    client,
    stdin,
    lines,
    status,
    exit,
    waitLines: (n: number) =>
      waiters.until(
        () => lines.length >= n,
        `${n} lines`,
        10_000,
        () => `; got ${JSON.stringify(lines)}`,
      ),
    /** Resolves once the client has read `n` bytes from the server in all. */
    waitRead: (n: number) =>
      waiters.until(
        () => serverBytes >= n,
        `${n} bytes read`,
        10_000,
        () => `; read ${serverBytes}`,
      ),
    /** Resolves once the client has read the end of its input. */
    waitInputEnd: () => waiters.until(() => inputEnded, "end of input read", 10_000),
  };
}

t.test("a line split across reads is shown once, whole; a last line without newline at close", async (t) => {
  const server = await scriptedServer(t);
  const session = await startClient(t, server.port);
  const socket = await server.accepted();
  socket.write("<a> first half");
  await session.waitRead("<a> first half".length); // read alone: the rest is not sent yet
  t.same(session.lines, [], "an unfinished line is not shown");
  socket.write(" and second half\n<b> whole\n<c> no newline");
  await session.waitLines(2);
  t.same(session.lines, ["<a> first half and second half", "<b> whole"], "no line is shown in pieces, the unfinished one waits");
  socket.end();
  t.equal(await session.exit, ClientExit.SERVER_GONE);
  t.same(session.lines.slice(2), ["<c> no newline"], "the unterminated tail is shown when the server closes");
  t.same(session.status, [clientMessages.serverClosed]);
});

t.test("a line arriving one byte per read is one line", async (t) => {
  const server = await scriptedServer(t);
  const session = await startClient(t, server.port);
  const socket = await server.accepted();
  socket.setNoDelay(true);
  const line = "<bob> trickled\n";
  for (const [i, byte] of [...line].entries()) {
    socket.write(byte);
    await session.waitRead(i + 1); // each byte its own read
  }
  await session.waitLines(1);
  socket.write("<bob> next\n");
  await session.waitLines(2);
  t.same(session.lines, ["<bob> trickled", "<bob> next"]);
  session.stdin.end();
  socket.end();
  await session.exit;
});

t.test("a plain client answered with a TLS record says the server speaks TLS, and fails", async (t) => {
  for (const [what, record] of [
    ["an alert", [0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]],
    ["a handshake record", [0x16, 0x03, 0x03, 0x00, 0x04, 0x0e, 0x00, 0x00, 0x00]],
  ] as const) {
    const server = await scriptedServer(t);
    const session = await startClient(t, server.port, { quitLingerMs: 5000 });
    const socket = await server.accepted();
    session.stdin.write("hello over plain TCP\n");
    await server.waitFor("hello over plain TCP\n");
    // Split after the first byte: the header is told across reads too.
    socket.write(Buffer.from(record.slice(0, 1)));
    await session.waitRead(1);
    socket.end(Buffer.from(record.slice(1)));
    t.equal(await session.exit, ClientExit.WRONG_PROTOCOL, `${what}: not a chat server's answer`);
    t.same(session.status, [clientMessages.speaksTls], `${what}: the user is told to use --tls`);
    t.match(clientMessages.speaksTls, /TLS.*--tls/);
    t.same(session.lines, [], `${what}: the record is not shown as a line`);
  }
});

t.test("a TLS record after end of input (sent, then q) is still caught", async (t) => {
  const server = await scriptedServer(t);
  const session = await startClient(t, server.port, { quitLingerMs: 10_000 });
  const socket = await server.accepted();
  session.stdin.end("hi\n");
  await server.waitFor("hi\nq\n");
  socket.end(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]));
  t.equal(await session.exit, ClientExit.WRONG_PROTOCOL);
  t.same(session.status, [clientMessages.speaksTls]);
});

t.test("a server that closes before saying anything gets a hint about TLS", async (t) => {
  for (const tls of [false, true]) {
    const server = await scriptedServer(t);
    const session = await startClient(t, server.port, { tls });
    (await server.accepted()).end();
    t.equal(await session.exit, ClientExit.WRONG_PROTOCOL);
    t.same(session.status, [(tls ? clientMessages.silentTls : clientMessages.silentPlain)("closed the connection")]);
    t.match(session.status[0], tls ? /does not speak TLS, connect without --tls/ : /speaks TLS, connect with --tls/);
  }
});

t.test("end of input sends q and waits for the server's close, showing what still arrives", async (t) => {
  const server = await scriptedServer(t);
  const session = await startClient(t, server.port, { quitLingerMs: 10_000 });
  const socket = await server.accepted();
  session.stdin.end("one\nlast without newline");
  await server.waitFor("one\nlast without newline\nq\n");
  socket.end("<bob> said before your q arrived\n");
  t.equal(await session.exit, ClientExit.QUIT, "the server's close after q is the normal end");
  t.same(session.lines, ["<bob> said before your q arrived"]);
  t.same(session.status, []);
});

t.test("without a linger, q leaves at once", async (t) => {
  const server = await scriptedServer(t);
  const session = await startClient(t, server.port);
  await server.accepted();
  session.stdin.write("q\n");
  t.equal(await session.exit, ClientExit.QUIT, "before the server did anything");
  await server.waitFor("q\n");
});

t.test("stay: end of input keeps the session until the server closes; quit() still quits", async (t) => {
  const server = await scriptedServer(t);
  const session = await startClient(t, server.port, { stay: true, quitLingerMs: 10_000 });
  const socket = await server.accepted();
  session.stdin.end("only line\n");
  await server.waitFor("only line\n");
  await session.waitInputEnd();
  socket.write("<bob> after your input ended\n");
  await session.waitLines(1);
  t.same(session.lines, ["<bob> after your input ended"]);
  t.notOk(server.received().includes("q\n"), "no q was sent at end of input");
  session.client.quit();
  await server.waitFor("only line\nq\n");
  socket.end();
  t.equal(await session.exit, ClientExit.QUIT, "quit() (SIGINT in the program) ends it with q");
});

t.test("stay: the server closing ends the session as the server going away", async (t) => {
  const server = await scriptedServer(t);
  const session = await startClient(t, server.port, { stay: true });
  const socket = await server.accepted();
  session.stdin.end();
  await session.waitInputEnd();
  socket.write("<bob> hello\n");
  await session.waitLines(1);
  socket.end();
  t.equal(await session.exit, ClientExit.SERVER_GONE);
  t.same(session.status, [clientMessages.serverClosed]);
  t.notOk(server.received().includes("q\n"));
});
