// The gateway's WebSockets as reactor keys, without the chat server: a
// tiny select() loop (support/reactor-server.ts, run by Bun) accepts them
// from the listener, reads their lines and writes events back.
import { spawn } from "node:child_process";
import t from "tap";
import { bunPath, root } from "../support/bun.ts";
import { Waiters } from "../support/waiters.ts";
import { WsClient } from "../support/ws-client.ts";

/** The fixture, running: its output lines, and a way to wait for one. */
async function startLoop(maxLine: number, descriptors = 100) {
  const child = spawn(bunPath, ["spec/web/support/reactor-server.ts", String(maxLine), String(descriptors)], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let err = "";
  let partial = "";
  const waiters = new Waiters();
  child.stdout.on("data", (d) => {
    partial += d;
    const parts = partial.split("\n");
    partial = parts.pop()!;
    lines.push(...parts);
    waiters.wake();
  });
  child.stderr.on("data", (d) => (err += d));
  child.on("exit", () => waiters.wake());
  const waitLine = async (re: RegExp, from = 0): Promise<RegExpExecArray> => {
    let m: RegExpExecArray | null = null;
    await waiters.until(
      () => {
        m = lines.slice(from).reduce<RegExpExecArray | null>((found, l) => found ?? re.exec(l), null);
        if (!m && child.exitCode !== null) throw new Error(`the loop exited: ${err}`);
        return m !== null;
      },
      String(re),
      10_000,
      () => `; output: ${lines.join(" | ")}; stderr: ${err}`,
    );
    return m!;
  };
  const port = Number((await waitLine(/^ready ws:\/\/127\.0\.0\.1:(\d+)\/ws$/))[1]);
  return { child, lines, port, waitLine, stop: () => child.kill("SIGKILL") };
}

t.test("lines in, events out, in order, through the reactor", async (t) => {
  const loop = await startLoop(100);
  t.teardown(loop.stop);
  const a = await WsClient.open({ port: loop.port });
  const b = await WsClient.open({ port: loop.port });
  await loop.waitLine(/^descriptors 2$/);
  a.send("one");
  a.send("two\nthree");
  const name = `127.0.0.1:${a.port}`;
  for (const c of [a, b]) {
    await c.waitUntil((events) => events.length === 3, "three events");
    t.same(
      c.events.map((e) => [e.s, e.x]),
      [
        [name, "one"],
        [name, "two"],
        [name, "three"],
      ],
      "a frame is a line, a newline inside one splits it; both clients see the same order",
    );
  }
  a.close();
  await a.waitClosed();
  await loop.waitLine(new RegExp(`^gone ${name} EOF$`));
  await loop.waitLine(/^descriptors 1$/);
  b.close();
  await loop.waitLine(/^descriptors 0$/);
});

t.test("a frame over --max-line: closed with 1009 and a reason; the other client goes on", async (t) => {
  const loop = await startLoop(100);
  t.teardown(loop.stop);
  const big = await WsClient.open({ port: loop.port });
  const other = await WsClient.open({ port: loop.port });
  big.send("x".repeat(100));
  await other.waitText("x".repeat(100));
  t.pass("a frame of exactly --max-line bytes is a line");
  big.send("x".repeat(101));
  await big.waitClosed();
  t.equal(big.closeFrame?.code, 1009, "1009: message too big");
  t.ok(big.closeFrame!.reason.length > 0, `with a reason: ${big.closeFrame!.reason}`);
  await loop.waitLine(new RegExp(`^gone 127\\.0\\.0\\.1:${big.port} websocket closed \\(1006: `));
  other.send("still here");
  await other.waitText("still here");
});

t.test("binary frames: closed with 1003 and why; garbage: closed; the other client goes on", async (t) => {
  const loop = await startLoop(100);
  t.teardown(loop.stop);
  const binary = await WsClient.open({ port: loop.port });
  const garbage = await WsClient.open({ port: loop.port });
  const other = await WsClient.open({ port: loop.port });
  binary.sendFrame(0x2, Buffer.from([1, 2, 3]));
  await binary.waitClosed();
  t.same(binary.closeFrame, { code: 1003, reason: "binary frames are not accepted" });
  await loop.waitLine(new RegExp(`^gone 127\\.0\\.0\\.1:${binary.port} websocket closed \\(1003: binary frames are not accepted\\)$`));
  // An unmasked frame with a reserved opcode: no client may send that.
  garbage.sendRaw(Buffer.from([0x8b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]));
  await garbage.waitClosed();
  t.equal(garbage.events.length, 0, "nothing was taken from it");
  await loop.waitLine(new RegExp(`^gone 127\\.0\\.0\\.1:${garbage.port} websocket closed`));
  other.send("unaffected");
  await other.waitText("unaffected");
  await loop.waitLine(/^descriptors 1$/);
});

t.test("a client that stops reading: sends back up in the reactor's queue; when it reads again, all of it arrives in order", async (t) => {
  const loop = await startLoop(100);
  t.teardown(loop.stop);
  const slow = await WsClient.open({ port: loop.port });
  slow.stopReading();
  // 400 events of 16 KiB: far more than the kernel's buffers and Bun's high-water mark.
  slow.send("flood 400");
  const [, , pending] = await loop.waitLine(/^backlog (\S+) (\d+)$/);
  t.ok(Number(pending) > 0, `output waits in the reactor's queue (${pending} bytes): the handle refused it`);
  slow.socket.resume();
  await slow.waitUntil((events) => events.length === 400, "all 400 events", 30_000);
  t.ok(
    slow.events.every((e) => e.s === "flood" && e.x.length === 16 * 1024),
    "whole events, none lost or cut: writable came back on drain",
  );
  slow.send("after");
  await slow.waitText("after");
});

t.test("each WebSocket holds a descriptor; with none left, upgrades and pages get 503", async (t) => {
  const loop = await startLoop(100, 2);
  t.teardown(loop.stop);
  const a = await WsClient.open({ port: loop.port });
  const b = await WsClient.open({ port: loop.port });
  await loop.waitLine(/^descriptors 2$/);
  const refused = await WsClient.handshake({ port: loop.port });
  t.notOk(refused instanceof WsClient, "a third upgrade is refused");
  t.match(refused, { status: 503, body: "out of file descriptors, try again later\n", headers: { "retry-after": "1" } });
  const page = await fetch(`http://127.0.0.1:${loop.port}/`);
  t.equal(page.status, 503, "so is the page: each request needs a descriptor while it is answered");
  a.send("unaffected");
  await b.waitText("unaffected");
  // From the lines printed from now on: a's accept may have printed "descriptors 1", and a match of
  // that would let c try before b's descriptor is back (then refused with 503).
  const closing = loop.lines.length;
  b.close();
  await loop.waitLine(/^descriptors 1$/, closing);
  const opening = loop.lines.length;
  const c = await WsClient.open({ port: loop.port });
  await loop.waitLine(/^descriptors 2$/, opening);
  t.pass("a descriptor freed by a departure lets the next one in");
  c.send("in");
  await a.waitText("in");
  t.equal((await fetch(`http://127.0.0.1:${loop.port}/`).catch(() => null))?.status, 503, "and the budget is full again");
});
