// The bench's `bun-publish` target: a room as a Bun developer would write it
// with Bun's native pub/sub. Every WebSocket subscribes to one topic and each
// text frame is `server.publish`ed to it, as one event in the same JSON shape
// as our gateway's (lib/chat/events.ts), so the load generator parses the
// same thing from both. `server.publish` sends to every subscriber, the
// sender included, as our gateway does for web clients.
//
//   bun bench/peers/bun-publish.ts [HOST:PORT]     (default 127.0.0.1:0)
//
// Prints `bun-publish listening on HOST:PORT` once it accepts connections.

import { parseHostPort } from "../../lib/reactor/address.ts";

const ROOM = "room";

interface Member {
  /** `HOST:PORT`, how events name the sender (ours does the same before /nick) */
  name: string;
  /** `Client (HOST, PORT)`, how notices name it */
  notice: string;
}

const address = parseHostPort(process.argv[2] ?? "127.0.0.1:0");
if (!address) {
  process.stderr.write(`bun-publish: expected HOST:PORT, got '${process.argv[2]}'\n`);
  process.exit(2);
}

// ids as long as ours (EPOCH:SEQ, the epoch the time and a random tail in base 36): the same bytes per event
const epoch =
  Date.now().toString(36) +
  Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, "0");
let seq = 0;
const event = (k: string, s: string, x: string): string => `${JSON.stringify({ k, id: `${epoch}:${++seq}`, t: Date.now(), s, x })}\n`;

const server = Bun.serve<Member>({
  hostname: address.host,
  port: address.port,
  fetch(req, server) {
    if (new URL(req.url).pathname !== "/ws") return new Response("not found\n", { status: 404 });
    const peer = server.requestIP(req);
    const host = peer?.address ?? "?";
    const port = peer?.port ?? 0;
    const data = { name: `${host}:${port}`, notice: `Client (${host}, ${port})` };
    return server.upgrade(req, { data }) ? undefined : new Response("a WebSocket upgrade is expected\n", { status: 400 });
  },
  websocket: {
    // The same ceilings as a default Bun.serve: nothing tuned for the benchmark.
    open(ws) {
      // announced before it subscribes: like ours, a joiner is not told about itself
      server.publish(ROOM, event("join", ws.data.name, `${ws.data.notice} connected`));
      ws.subscribe(ROOM);
    },
    message(ws, message) {
      server.publish(ROOM, event("line", ws.data.name, typeof message === "string" ? message : message.toString()));
    },
    close(ws) {
      server.publish(ROOM, event("leave", ws.data.name, `${ws.data.notice} quits`));
    },
  },
});

process.stdout.write(`bun-publish listening on ${server.hostname}:${server.port}\n`);
