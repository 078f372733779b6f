/**
 * The backend conformance suite: one list of cases that every backend must
 * pass (CPython's selectors tests do the same with one base class). The
 * cases use only node:assert and the public reactor API, so they run
 * in-process under tap (Node backend) and in a Bun child process (both
 * backends), see run.ts.
 */
import assert from "node:assert/strict";
import type { Backend, Connection, Listener } from "../../../lib/reactor/backend.ts";
import { ConnectError, ListenError } from "../../../lib/reactor/backend.ts";
import { Interest, Ready } from "../../../lib/reactor/events.ts";
import { Reactor, type ReadySets, type SelectorKey } from "../../../lib/reactor/reactor.ts";
import { ChatServer, type Slot } from "../../../lib/server/server.ts";

export interface Case {
  name: string;
  run(backend: () => Backend): Promise<void>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A bounded number of ticks: a case that never sees its event fails instead of hanging. */
async function selectUntil<T>(
  reactor: Reactor<T>,
  done: (ready: ReadySets<T>) => boolean,
  what: string,
  maxTicks = 2000,
): Promise<void> {
  for (let i = 0; i < maxTicks; i++) {
    if (done(await reactor.select(5000))) return;
  }
  assert.fail(`gave up waiting for ${what}`);
}

async function listen(backend: Backend): Promise<Listener> {
  return backend.listen({ host: "127.0.0.1", port: 0 });
}

/** Accept exactly `n` connections through the reactor. */
async function acceptN(reactor: Reactor<string>, listener: Listener, n: number): Promise<Connection[]> {
  const key = reactor.register(listener, Interest.READ, "listener");
  const got: Connection[] = [];
  await selectUntil(reactor, (r) => {
    if (r.readable.includes(key)) for (let c = listener.accept(); c; c = listener.accept()) got.push(c);
    return got.length >= n;
  }, `${n} connections`);
  reactor.unregister(key);
  return got;
}

/** Receive on `key` until `want` bytes (or EOF) arrived. */
async function receive(reactor: Reactor<string>, key: SelectorKey<string>, want: number): Promise<string> {
  let text = "";
  await selectUntil(reactor, (r) => {
    if (r.readable.includes(key)) {
      const b = (key.handle as Connection).recv();
      if (b && b.length === 0) return true;
      if (b) text += dec(b);
    }
    return text.length >= want;
  }, `${want} bytes`);
  return text;
}

/** Drive a reactor until its peer side sees EOF. */
async function receiveToEof(reactor: Reactor<string>, key: SelectorKey<string>): Promise<string> {
  return receive(reactor, key, Infinity);
}

/** A server-side connection registered for READ, its client, and a reactor for each side. */
interface Pair {
  reactor: Reactor<string>;
  key: SelectorKey<string>;
  conn: Connection;
  client: Connection;
  /** The client side's own reactor (one backend per reactor). */
  peer: Reactor<string>;
  clientKey: SelectorKey<string>;
  close(): void;
}

async function connectedPair(make: () => Backend, clientInterest = Interest.READ): Promise<Pair> {
  const b = make();
  const reactor = new Reactor<string>(b);
  const listener = await listen(b);
  const client = await b.connect({ host: "127.0.0.1", port: listener.address.port });
  const [conn] = await acceptN(reactor, listener, 1);
  const key = reactor.register(conn!, Interest.READ, "c");
  const peer = new Reactor<string>(make());
  const clientKey = peer.register(client, clientInterest, "client");
  return {
    reactor,
    key,
    conn: conn!,
    client,
    peer,
    clientKey,
    close() {
      reactor.close();
      peer.close();
      listener.close();
    },
  };
}

export const cases: Case[] = [
  {
    name: "listener is readable while connections wait, and accept() drains all of them",
    async run(make) {
      const b = make();
      const reactor = new Reactor<string>(b);
      const listener = await listen(b);
      const clients = await Promise.all([1, 2, 3, 4, 5].map(() => b.connect({ host: "127.0.0.1", port: listener.address.port })));
      const accepted = await acceptN(reactor, listener, 5);
      assert.equal(accepted.length, 5);
      assert.equal(listener.accept(), null, "accept() on an empty backlog returns null");
      assert.equal(listener.readiness() & Ready.READABLE, 0);
      const ports = new Set(clients.map((c) => c.local.port));
      for (const c of accepted) assert.ok(ports.has(c.remote.port), "remote address is the client's");
      for (const c of [...clients, ...accepted]) c.abort();
      listener.close();
      reactor.close();
    },
  },
  {
    name: "one tick holds every key that became readable, each once",
    async run(make) {
      const b = make();
      const reactor = new Reactor<string>(b);
      const listener = await listen(b);
      const clients = await Promise.all([0, 1, 2].map(() => b.connect({ host: "127.0.0.1", port: listener.address.port })));
      const conns = await acceptN(reactor, listener, 3);
      const keys = conns.map((c, i) => reactor.register(c, Interest.READ, `c${i}`));
      for (const c of clients) c.send(enc("x"));
      const seen = new Set<string>();
      await selectUntil(reactor, (r) => {
        assert.equal(new Set(r.readable).size, r.readable.length, "no key twice in a tick");
        for (const k of r.readable) {
          assert.ok(k.ready & Ready.READABLE);
          (k.handle as Connection).recv();
          seen.add(k.data);
        }
        return seen.size === 3;
      }, "three readable keys");
      assert.equal(keys.length, 3);
      reactor.close();
      for (const c of clients) c.abort();
      listener.close();
    },
  },
  {
    name: "readiness is level-triggered: unread bytes are reported again next tick",
    async run(make) {
      const { reactor, key, conn, client, close } = await connectedPair(make);
      client.send(enc("hello"));
      await selectUntil(reactor, (r) => r.readable.includes(key), "readable");
      const again = await reactor.select(5000);
      assert.ok(again.readable.includes(key), "still readable while nothing was read");
      assert.equal(dec(conn.recv()!), "hello");
      const after = await reactor.select(0);
      assert.ok(!after.readable.includes(key), "not readable once drained");
      close();
    },
  },
  {
    name: "end of stream: recv() returns an empty array and the key stays readable",
    async run(make) {
      const { reactor, key, conn, client, close } = await connectedPair(make);
      client.send(enc("bye"));
      client.close();
      const text = await receiveToEof(reactor, key);
      assert.equal(text, "bye", "bytes sent before FIN arrive before EOF");
      assert.equal(conn.recv()!.length, 0, "EOF is sticky");
      close();
    },
  },
  {
    name: "a reset connection is reported, and a write to it lands in the errored set",
    async run(make) {
      const { reactor, key, conn, client, close } = await connectedPair(make);
      client.abort();
      await selectUntil(
        reactor,
        (r) => r.errored.includes(key) || (r.readable.includes(key) && conn.recv()?.length === 0),
        "the reset to be reported (errored, or readable at EOF)",
      );
      // The dispatcher evicts from the errored set, so a failed write must get there.
      await selectUntil(reactor, (r) => {
        if (r.errored.includes(key)) return true;
        reactor.write(key, enc("x".repeat(100)));
        return false;
      }, "the failed write to show up in the errored set");
      assert.ok(conn.error instanceof Error, "the handle carries the error");
      close();
    },
  },
  {
    name: "writes in one tick are coalesced into one send per connection",
    async run(make) {
      const { reactor, key, peer, clientKey, close } = await connectedPair(make);
      const before = reactor.stats.sends;
      for (let i = 0; i < 10; i++) reactor.write(key, enc(`m${i};`));
      assert.equal(reactor.stats.sends, before, "nothing is sent during the tick");
      reactor.flush();
      assert.equal(reactor.stats.sends, before + 1, "one send for ten writes");
      assert.equal(await receive(peer, clientKey, 30), "m0;m1;m2;m3;m4;m5;m6;m7;m8;m9;");
      close();
    },
  },
  {
    name: "what the socket does not take is kept and sent when it becomes writable",
    async run(make) {
      const { reactor, key, client, peer, clientKey, close } = await connectedPair(make, Interest.NONE);
      const big = new Uint8Array(16 << 20).fill(97);
      reactor.write(key, big);
      reactor.flush();
      assert.ok(key.pendingBytes > 0, "a 16 MiB send into an unread socket is cut short");
      peer.modify(clientKey, Interest.READ);
      let got = 0;
      // Run both loops until everything arrived: the server side sends the
      // rest only when its key shows up writable.
      for (let i = 0; i < 100000 && got < big.length; i++) {
        const [, r] = await Promise.all([reactor.select(10), peer.select(10)]);
        if (r.readable.includes(clientKey)) got += (client.recv() ?? new Uint8Array()).length;
      }
      assert.equal(got, big.length, "every byte arrived");
      assert.equal(key.pendingBytes, 0);
      close();
    },
  },
  {
    name: "closeKey() sends queued output, then closes",
    async run(make) {
      const { reactor, key, peer, clientKey, close } = await connectedPair(make);
      reactor.write(key, enc("last words"));
      reactor.closeKey(key);
      assert.equal(key.valid, false, "the key is cancelled at once");
      reactor.flush();
      assert.equal(await receiveToEof(peer, clientKey), "last words");
      close();
    },
  },
  {
    name: "WRITE interest reports a writable socket; removing it stops the reports",
    async run(make) {
      const { reactor, key, close } = await connectedPair(make);
      reactor.modify(key, Interest.READ | Interest.WRITE);
      assert.ok((await reactor.select(5000)).writable.includes(key));
      reactor.modify(key, Interest.READ);
      assert.ok(!(await reactor.select(0)).writable.includes(key));
      close();
    },
  },
  {
    name: "timers run inside select(), in deadline order, and can be cancelled",
    async run(make) {
      const reactor = new Reactor<string>(make());
      const order: string[] = [];
      reactor.setTimer(30, () => order.push("b"));
      reactor.setTimer(10, () => order.push("a"));
      const c = reactor.setTimer(20, () => order.push("cancelled"));
      c.cancel();
      const start = reactor.now();
      let timers = 0;
      while (order.length < 2) timers += (await reactor.select()).timers;
      assert.deepEqual(order, ["a", "b"]);
      assert.equal(timers, 2);
      assert.ok(reactor.now() - start >= 29, "a timer does not fire early");
      const empty = await reactor.select(5);
      assert.equal(empty.readable.length + empty.writable.length + empty.errored.length, 0, "a timeout gives empty sets");
      reactor.close();
    },
  },
  {
    name: "a taken port is a ListenError; a refused connection is a ConnectError",
    async run(make) {
      const b = make();
      const listener = await listen(b);
      await assert.rejects(b.listen({ host: "127.0.0.1", port: listener.address.port }), (e: unknown) => {
        assert.ok(e instanceof ListenError);
        assert.match((e as Error).message, /address already in use/);
        return true;
      });
      const port = listener.address.port;
      listener.close();
      await assert.rejects(b.connect({ host: "127.0.0.1", port }), (e: unknown) => {
        assert.ok(e instanceof ConnectError);
        assert.match((e as Error).message, /refused/);
        return true;
      });
    },
  },
  {
    name: "dispatcher: notices name the right client, lines reach the others only, q quits",
    async run(make) {
      const b = make();
      const reactor = new Reactor<Slot>(b);
      const listener = await listen(b);
      const server = new ChatServer(reactor, listener, { tailMs: 20 });
      const running = server.run();
      const port = listener.address.port;
      const peer = new Reactor<string>(make()); // one backend per reactor
      const log: Record<string, string> = { a: "", b: "", c: "" };
      const conns: Record<string, Connection> = {};
      const keys: SelectorKey<string>[] = [];
      const pump = async (until: () => boolean, what: string) =>
        selectUntil(peer, (r) => {
          for (const k of r.readable) {
            const d = (k.handle as Connection).recv();
            if (d) log[k.data] += dec(d);
          }
          return until();
        }, what);
      for (const name of ["a", "b", "c"]) {
        conns[name] = await b.connect({ host: "127.0.0.1", port });
        keys.push(peer.register(conns[name]!, Interest.READ, name));
      }
      const addr = (n: string) => `(127.0.0.1, ${conns[n]!.local.port})`;
      await pump(() => log.a!.includes(`Client ${addr("c")} connected`) && log.b!.includes(`Client ${addr("c")} connected`), "join notices");
      assert.ok(log.a!.includes(`Client ${addr("b")} connected`));
      assert.ok(!log.c!.includes("connected"), "a client is not told about itself or earlier clients");
      peer.write(keys[0]!, enc("hello\r\nworld\n"));
      peer.write(keys[1]!, enc("no newline"));
      await pump(() => log.c!.includes("world") && log.c!.includes("no newline"), "messages");
      const from = (n: string) => `<127.0.0.1:${conns[n]!.local.port}>`;
      assert.ok(log.c!.includes(`${from("a")} hello\n${from("a")} world\n`));
      assert.ok(log.b!.includes(`${from("a")} hello\n`));
      assert.ok(log.a!.includes(`${from("b")} no newline\n`), "an unterminated tail is delivered after the quiet time");
      assert.ok(!log.a!.includes(`${from("a")}`), "never echoed to the sender");
      peer.write(keys[2]!, enc("q\n"));
      await pump(() => log.a!.includes(`Client ${addr("c")} quits`), "quit notice");
      conns.b!.abort();
      await pump(() => log.a!.includes(`Client ${addr("b")} is offline`), "offline notice");
      assert.equal(server.clients, 1);
      server.shutdown();
      await pump(() => log.a!.includes("Server is shutting down"), "shutdown notice");
      await running;
      reactor.close();
      peer.close();
    },
  },
];
