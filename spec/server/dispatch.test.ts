// The chat server's dispatcher on a real reactor (node:net backend, in
// process): who hears which notice and which line, and how `q` and a reset
// are told to the others. Clients are plain connections on a second reactor.
import t from "tap";
import { NodeBackend } from "../../lib/backends/node.ts";
import { type Connection, Interest, Reactor, type ReadySets, type SelectorKey } from "../../lib/reactor/index.ts";
import type { ServerAttachment } from "../../lib/server/session.ts";
import { ChatServer } from "../../lib/server/server.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A bounded number of ticks: a test that never sees its event fails instead of hanging. */
async function selectUntil<T>(reactor: Reactor<T>, done: (ready: ReadySets<T>) => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (done(await reactor.select(5000))) return;
  }
  throw new Error(`gave up waiting for ${what}`);
}

t.test("notices name the right client, lines reach the others only, q quits", async (t) => {
  const backend = new NodeBackend();
  const reactor = new Reactor<ServerAttachment>(backend);
  t.teardown(() => reactor.close());
  const listener = await backend.listen({ host: "127.0.0.1", port: 0 });
  t.teardown(() => listener.close());
  const server = new ChatServer(reactor, listener, { tailMs: 20 });
  const running = server.run();
  const port = listener.address.port;
  const peer = new Reactor<string>(new NodeBackend()); // one backend per reactor
  t.teardown(() => peer.close());
  const log: Record<string, string> = { a: "", b: "", c: "" };
  const conns: Record<string, Connection> = {};
  const keys: SelectorKey<string, Connection>[] = [];
  const pump = async (until: () => boolean, what: string) =>
    selectUntil(
      peer,
      (ready) => {
        for (const key of ready.readable) {
          const bytes = key.handle.kind === "connection" ? key.handle.recv() : null;
          if (bytes) log[key.data] += dec(bytes);
        }
        return until();
      },
      what,
    );
  for (const name of ["a", "b", "c"]) {
    conns[name] = await backend.connect({ host: "127.0.0.1", port });
    keys.push(peer.register(conns[name]!, Interest.READ, name));
  }
  const addr = (n: string) => `(127.0.0.1, ${conns[n]!.local.port})`;
  await pump(() => log.a!.includes(`Client ${addr("c")} connected`) && log.b!.includes(`Client ${addr("c")} connected`), "join notices");
  t.ok(log.a!.includes(`Client ${addr("b")} connected`), "a hears that b joined");
  t.ok(!log.c!.includes("connected"), "a client is not told about itself or earlier clients");
  peer.write(keys[0]!, enc("hello\r\nworld\n"));
  peer.write(keys[1]!, enc("no newline"));
  await pump(() => log.c!.includes("world") && log.c!.includes("no newline"), "messages");
  const from = (n: string) => `<127.0.0.1:${conns[n]!.local.port}>`;
  t.ok(log.c!.includes(`${from("a")} hello\n${from("a")} world\n`), "lines arrive whole and in order, CRLF or LF");
  t.ok(log.b!.includes(`${from("a")} hello\n`), "every other client hears them");
  t.ok(log.a!.includes(`${from("b")} no newline\n`), "an unterminated tail is delivered after the quiet time");
  t.ok(!log.a!.includes(`${from("a")}`), "never echoed to the sender");
  peer.write(keys[2]!, enc("q\n"));
  await pump(() => log.a!.includes(`Client ${addr("c")} quits`), "quit notice");
  conns.b!.abort();
  await pump(() => log.a!.includes(`Client ${addr("b")} is offline`), "offline notice");
  t.equal(server.clients, 1, "only a is left");
  server.shutdown();
  await pump(() => log.a!.includes("Server is shutting down"), "shutdown notice");
  await t.resolves(running, "run() returns after shutdown()");
});
