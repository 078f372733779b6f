/**
 * The backend conformance suite: one list of cases that every backend must
 * pass (CPython's selectors tests do the same with one base class). Cases
 * use only the reactor's public API and assert through `Check`, which maps
 * to tap's `t` in-process (conformance-node.test.ts) and to one JSON line
 * per assertion in a Bun child process (run.ts, read by
 * conformance-bun.test.ts and conformance-websocket.test.ts), so every
 * assertion shows up in tap's output.
 *
 * It runs against harnesses: each TCP backend, and the web gateway's
 * WebSocket connections (conformance/websocket.ts). What a client sends is
 * whole lines, so that a line sent is the line received on both kinds; a
 * case that needs what a harness cannot do (a `Capability`) is skipped
 * there, with the harness's reason.
 */
import {
  AlreadyRegisteredError,
  type Backend,
  ConnectError,
  type Connection,
  DescriptorBudget,
  Interest,
  type Listener,
  ListenError,
  Reactor,
  ReactorError,
  type ReadySets,
  Ready,
  type SelectorKey,
} from "../../../lib/reactor/index.ts";

/** The assertions a case makes; each one is reported, pass or fail. */
export interface Check {
  /** `actual` is `expected` (Object.is). */
  equal(actual: unknown, expected: unknown, message: string): boolean;
  /** Deep strict equality. */
  same(actual: unknown, expected: unknown, message: string): boolean;
  ok(value: unknown, message: string): boolean;
  match(text: string, pattern: RegExp, message: string): boolean;
}

/** What a case runs with. */
export interface CaseContext {
  check: Check;
  /** A new backend instance (one per reactor). */
  makeBackend(): Backend;
  /** Run `fn` when the case ends, passed, failed or timed out; the last added runs first. */
  addCleanup(fn: () => void): void;
}

/**
 * What a case may need beyond the contract every connection keeps:
 *
 * - `partial-send`: a send may take part of its bytes, as a byte stream's
 *   does (a message-oriented connection takes a message whole or not at all);
 * - `refusal-line`: a listener out of descriptors accepts the connection to
 *   tell it `fullMessage` before closing it;
 * - `tls-connect`: `connect()` speaks TLS, and its failures are the backend's own.
 */
export type Capability = "partial-send" | "refusal-line" | "tls-connect";

export interface Case {
  name: string;
  /** How long the case may take before it fails (default CASE_TIMEOUT_MS). */
  timeoutMs?: number;
  /** What it needs that not every harness has (nothing: it runs everywhere). */
  needs?: readonly Capability[];
  run(context: CaseContext): Promise<void>;
}

/** What the suite runs against: a backend that listens and connects, and what it cannot do. */
export interface Harness {
  /** As reported ("bun", "node", "websocket"). */
  readonly name: string;
  /** A new backend instance (one per reactor). */
  makeBackend(): Backend;
  /** Each capability it lacks, with why: the cases that need one are skipped with that reason. */
  readonly lacks: Readonly<Partial<Record<Capability, string>>>;
}

/** A TCP backend as a harness: a byte stream, which lacks nothing. */
export function backendHarness(name: string, makeBackend: () => Backend): Harness {
  return { name, makeBackend, lacks: {} };
}

/** Why `c` is skipped on `harness` (a capability it needs and the harness lacks), or null: it runs. */
export function skipReason(c: Case, harness: Harness): string | null {
  for (const need of c.needs ?? []) {
    const why = harness.lacks[need];
    if (why !== undefined) return `${need}: ${why}`;
  }
  return null;
}

/** Generous: a case that has not finished by then is stuck, not slow. */
export const CASE_TIMEOUT_MS = 60_000;

/** A case that did not finish in its time. */
export class CaseTimeoutError extends Error {
  override readonly name = "CaseTimeoutError";
}

/**
 * Run one case to its end: it throws what the case threw (or a
 * CaseTimeoutError), and its cleanups run in every outcome, so a failing
 * case leaves no socket open.
 */
export async function runCase(c: Case, check: Check, makeBackend: () => Backend): Promise<void> {
  const cleanups: Array<() => void> = [];
  const timeoutMs = c.timeoutMs ?? CASE_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CaseTimeoutError(`did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  let failure: { error: unknown } | null = null;
  try {
    await Promise.race([c.run({ check, makeBackend, addCleanup: (fn) => cleanups.push(fn) }), timedOut]);
  } catch (error) {
    failure = { error };
  }
  clearTimeout(timer);
  let cleanupError: { error: unknown } | null = null;
  for (const fn of cleanups.reverse()) {
    try {
      fn();
    } catch (error) {
      cleanupError ??= { error };
    }
  }
  // A case's own failure says more than a cleanup that failed after it.
  if (failure) throw failure.error;
  if (cleanupError) throw cleanupError.error;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** What a promise rejected with, or null if it resolved. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (err: unknown) => err ?? new Error("rejected without a reason"),
  );
}

/** What `fn` threw, or null. */
function thrownBy(fn: () => void): unknown {
  try {
    fn();
    return null;
  } catch (err) {
    return err;
  }
}

/** Thrown when a bounded wait runs out: the case stops there. */
class GaveUpWaiting extends Error {
  override readonly name = "GaveUpWaiting";
}

/**
 * Select until `done` says the tick it saw is the one (and return that
 * tick's sets). Bounded: a case that never sees its event fails instead of
 * hanging.
 */
async function selectUntil<T>(
  reactor: Reactor<T>,
  done: (ready: ReadySets<T>) => boolean,
  what: string,
  maxTicks = 2000,
): Promise<ReadySets<T>> {
  for (let i = 0; i < maxTicks; i++) {
    const ready = await reactor.select(5000);
    if (done(ready)) return ready;
  }
  throw new GaveUpWaiting(`gave up waiting for ${what}`);
}

/** A reactor on a new backend, closed when the case ends. */
function newReactor(context: CaseContext): Reactor<string> {
  const reactor = new Reactor<string>(context.makeBackend());
  context.addCleanup(() => reactor.close());
  return reactor;
}

/** A listener on 127.0.0.1 and a free port, closed when the case ends. */
async function listen(context: CaseContext, backend: Backend): Promise<Listener> {
  const listener = await backend.listen({ host: "127.0.0.1", port: 0 });
  context.addCleanup(() => listener.close());
  return listener;
}

/** A client connection to `listener`, reset when the case ends. */
async function connect(context: CaseContext, backend: Backend, listener: Listener): Promise<Connection> {
  const client = await backend.connect({ host: "127.0.0.1", port: listener.address.port });
  context.addCleanup(() => client.abort());
  return client;
}

/** Accept exactly `n` connections through the reactor; each is reset when the case ends. */
async function acceptN(context: CaseContext, reactor: Reactor<string>, listener: Listener, n: number): Promise<Connection[]> {
  const key = reactor.register(listener, Interest.READ, "listener");
  const accepted: Connection[] = [];
  context.addCleanup(() => {
    for (const conn of accepted) conn.abort();
  });
  await selectUntil(
    reactor,
    (ready) => {
      if (ready.readable.includes(key)) for (let conn = listener.accept(); conn; conn = listener.accept()) accepted.push(conn);
      return accepted.length >= n;
    },
    `${n} connections`,
  );
  reactor.unregister(key);
  return accepted;
}

/** Receive on `key` until `want` bytes (or EOF) arrived. */
async function receive(reactor: Reactor<string>, key: SelectorKey<string, Connection>, want: number): Promise<string> {
  let text = "";
  await selectUntil(
    reactor,
    (ready) => {
      if (ready.readable.includes(key)) {
        const bytes = key.handle.recv();
        if (bytes && bytes.length === 0) return true;
        if (bytes) text += dec(bytes);
      }
      return text.length >= want;
    },
    `${want} bytes`,
  );
  return text;
}

/** Drive a reactor until its peer side sees EOF. */
async function receiveToEof(reactor: Reactor<string>, key: SelectorKey<string, Connection>): Promise<string> {
  return receive(reactor, key, Infinity);
}

/** A server-side connection registered for READ, its client, and a reactor for each side. */
interface Pair {
  reactor: Reactor<string>;
  key: SelectorKey<string, Connection>;
  conn: Connection;
  client: Connection;
  /** The client side's own reactor (one backend per reactor). */
  peer: Reactor<string>;
  clientKey: SelectorKey<string, Connection>;
}

async function connectedPair(context: CaseContext, clientInterest = Interest.READ): Promise<Pair> {
  const reactor = newReactor(context);
  const listener = await listen(context, reactor.backend);
  const client = await connect(context, reactor.backend, listener);
  const [conn] = await acceptN(context, reactor, listener, 1);
  const key = reactor.register(conn!, Interest.READ, "c");
  const peer = newReactor(context);
  const clientKey = peer.register(client, clientInterest, "client");
  return { reactor, key, conn: conn!, client, peer, clientKey };
}

export const cases: Case[] = [
  {
    name: "listener is readable while connections wait, and accept() drains all of them",
    async run(context) {
      const { check } = context;
      const reactor = newReactor(context);
      const listener = await listen(context, reactor.backend);
      const clients = await Promise.all([1, 2, 3, 4, 5].map(() => connect(context, reactor.backend, listener)));
      const accepted = await acceptN(context, reactor, listener, 5);
      check.equal(accepted.length, 5, "five connections accepted");
      check.equal(listener.accept(), null, "accept() on an empty backlog returns null");
      check.equal(listener.readiness() & Ready.READABLE, 0, "an empty backlog is not readable");
      const ports = new Set(clients.map((c) => c.local.port));
      check.ok(
        accepted.every((c) => ports.has(c.remote.port)),
        "each accepted connection's remote address is a client's",
      );
    },
  },
  {
    name: "one tick holds every key that became readable, each once",
    async run(context) {
      const { check } = context;
      const reactor = newReactor(context);
      const listener = await listen(context, reactor.backend);
      const clients = await Promise.all([0, 1, 2].map(() => connect(context, reactor.backend, listener)));
      const conns = await acceptN(context, reactor, listener, 3);
      for (const [i, conn] of conns.entries()) reactor.register(conn, Interest.READ, `c${i}`);
      for (const c of clients) c.send(enc("x\n"));
      const seen = new Set<string>();
      let duplicates = 0;
      let notReadable = 0;
      await selectUntil(
        reactor,
        (ready) => {
          if (new Set(ready.readable).size !== ready.readable.length) duplicates++;
          for (const key of ready.readable) {
            if (!(key.ready & Ready.READABLE)) notReadable++;
            if (key.handle.kind === "connection") key.handle.recv();
            seen.add(key.data);
          }
          return seen.size === 3;
        },
        "three readable keys",
      );
      check.equal(duplicates, 0, "no key twice in a tick");
      check.equal(notReadable, 0, "every key in the readable set has READABLE in `ready`");
      check.same([...seen].sort(), ["c0", "c1", "c2"], "all three keys were reported");
    },
  },
  {
    name: "readiness is level-triggered: unread bytes are reported again next tick",
    async run(context) {
      const { check } = context;
      const { reactor, key, conn, client } = await connectedPair(context);
      client.send(enc("hello\n"));
      await selectUntil(reactor, (ready) => ready.readable.includes(key), "readable");
      const again = await reactor.select(5000);
      check.ok(again.readable.includes(key), "still readable while nothing was read");
      check.equal(dec(conn.recv() ?? new Uint8Array()), "hello\n", "recv() returns the bytes");
      const after = await reactor.select(0);
      check.ok(!after.readable.includes(key), "not readable once drained");
    },
  },
  {
    name: "end of stream: recv() returns an empty array and the key stays readable",
    async run(context) {
      const { check } = context;
      const { reactor, key, conn, client } = await connectedPair(context);
      client.send(enc("bye\n"));
      client.close();
      const text = await receiveToEof(reactor, key);
      check.equal(text, "bye\n", "bytes sent before FIN arrive before EOF");
      check.equal(conn.recv()?.length, 0, "EOF is sticky");
    },
  },
  {
    name: "a reset connection is reported, and a write to it lands in the errored set",
    async run(context) {
      const { check } = context;
      const { reactor, key, conn, client } = await connectedPair(context);
      client.abort();
      await selectUntil(
        reactor,
        (ready) => ready.errored.includes(key) || (ready.readable.includes(key) && conn.recv()?.length === 0),
        "the reset to be reported (errored, or readable at EOF)",
      );
      // The dispatcher evicts from the errored set, so a failed write must get there.
      await selectUntil(
        reactor,
        (ready) => {
          if (ready.errored.includes(key)) return true;
          reactor.write(key, enc("x".repeat(100)));
          return false;
        },
        "the failed write to show up in the errored set",
      );
      check.ok(conn.error instanceof Error, "the handle carries the error");
    },
  },
  {
    name: "writes in one tick are coalesced into one send per connection",
    async run(context) {
      const { check } = context;
      const { reactor, key, peer, clientKey } = await connectedPair(context);
      const before = reactor.stats.sends;
      for (let i = 0; i < 10; i++) reactor.write(key, enc(`m${i};`));
      check.equal(reactor.stats.sends, before, "nothing is sent during the tick");
      reactor.runBeforeSleep();
      check.equal(reactor.stats.sends, before + 1, "one send for ten writes");
      check.equal(await receive(peer, clientKey, 30), "m0;m1;m2;m3;m4;m5;m6;m7;m8;m9;", "the peer gets them in order");
    },
  },
  {
    name: "what the socket does not take is kept and sent when it becomes writable",
    needs: ["partial-send"],
    async run(context) {
      const { check } = context;
      const { reactor, key, client, peer, clientKey } = await connectedPair(context, Interest.NONE);
      const big = new Uint8Array(16 << 20).fill(97);
      reactor.write(key, big);
      reactor.runBeforeSleep();
      check.ok(key.pendingBytes > 0, "a 16 MiB send into an unread socket is cut short");
      peer.modify(clientKey, Interest.READ);
      let got = 0;
      // Run both loops until everything arrived: the server side sends the
      // rest only when its key shows up writable.
      for (let i = 0; i < 100000 && got < big.length; i++) {
        const [, ready] = await Promise.all([reactor.select(10), peer.select(10)]);
        if (ready.readable.includes(clientKey)) got += (client.recv() ?? new Uint8Array()).length;
      }
      check.equal(got, big.length, "every byte arrived");
      check.equal(key.pendingBytes, 0, "nothing is left queued");
    },
  },
  {
    name: "many writes to a peer that does not read: what the connection does not take waits in the reactor, and all of it arrives in order",
    async run(context) {
      const { check } = context;
      const { reactor, key, client, peer, clientKey } = await connectedPair(context, Interest.NONE);
      // 16 MiB in 64 KiB writes: more than the kernel's buffers (and a
      // WebSocket's high-water mark) hold for a peer that does not read.
      const chunk = 64 * 1024;
      const count = 256;
      const letter = (position: number) => 97 + (Math.floor(position / chunk) % 26);
      for (let i = 0; i < count; i++) reactor.write(key, new Uint8Array(chunk).fill(letter(i * chunk)));
      reactor.runBeforeSleep();
      check.ok(key.pendingBytes > 0, "some of it stays queued in the reactor");
      peer.modify(clientKey, Interest.READ);
      let got = 0;
      let misplaced = 0;
      for (let i = 0; i < 100000 && got < chunk * count; i++) {
        const [, ready] = await Promise.all([reactor.select(10), peer.select(10)]);
        if (!ready.readable.includes(clientKey)) continue;
        const bytes = client.recv() ?? new Uint8Array();
        for (let j = 0; j < bytes.length; j++) if (bytes[j] !== letter(got + j)) misplaced++;
        got += bytes.length;
      }
      check.equal(got, chunk * count, "every byte arrived");
      check.equal(misplaced, 0, "in the order written");
      check.equal(key.pendingBytes, 0, "nothing is left queued");
    },
  },
  {
    name: "closeKey() sends queued output, then closes",
    async run(context) {
      const { check } = context;
      const { reactor, key, peer, clientKey } = await connectedPair(context);
      reactor.write(key, enc("last words"));
      reactor.closeKey(key);
      check.equal(key.valid, false, "the key is cancelled at once");
      reactor.runBeforeSleep();
      check.equal(await receiveToEof(peer, clientKey), "last words", "the peer gets the output, then EOF");
    },
  },
  {
    name: "a write made while select() sleeps wakes it and reaches the peer",
    // Without the wake-up the write waits for an I/O event that never comes.
    timeoutMs: 5000,
    async run(context) {
      const { check } = context;
      const { reactor, key, peer, clientKey } = await connectedPair(context);
      const serving = reactor.run(() => {}); // nothing to do: asleep in select(Infinity)
      setTimeout(() => reactor.write(key, enc("from a timer")), 1);
      check.equal(await receive(peer, clientKey, 12), "from a timer", "the peer gets the write");
      reactor.stop();
      await serving;
    },
  },
  {
    name: "a timer set while select() sleeps, due before the sleep ends, runs in time",
    timeoutMs: 5000,
    async run(context) {
      const { check } = context;
      const reactor = newReactor(context);
      let ran = false;
      const serving = reactor.run(() => {}); // asleep in select(Infinity)
      setTimeout(() => {
        reactor.setTimer(0, () => {
          ran = true;
          reactor.stop();
        });
      }, 1);
      await serving;
      check.ok(ran, "the timer ran inside the reactor's loop");
    },
  },
  {
    name: "WRITE interest reports a writable socket; removing it stops the reports",
    async run(context) {
      const { check } = context;
      const { reactor, key } = await connectedPair(context);
      reactor.modify(key, Interest.READ | Interest.WRITE);
      check.ok((await reactor.select(5000)).writable.includes(key), "writable with WRITE interest");
      reactor.modify(key, Interest.READ);
      check.ok(!(await reactor.select(0)).writable.includes(key), "not reported without WRITE interest");
    },
  },
  {
    name: "timers run inside select(), in deadline order, and can be cancelled",
    async run(context) {
      const { check } = context;
      const reactor = newReactor(context);
      const order: string[] = [];
      reactor.setTimer(30, () => order.push("b"));
      reactor.setTimer(10, () => order.push("a"));
      const cancelled = reactor.setTimer(20, () => order.push("cancelled"));
      cancelled.cancel();
      const start = reactor.now();
      let timers = 0;
      while (order.length < 2) timers += (await reactor.select()).timers;
      check.same(order, ["a", "b"], "deadline order; the cancelled one never runs");
      check.equal(timers, 2, "ReadySets.timers counts the callbacks that ran");
      check.ok(reactor.now() - start >= 29, "a timer does not fire early");
      const empty = await reactor.select(5);
      check.equal(empty.readable.length + empty.writable.length + empty.errored.length, 0, "a timeout gives empty sets");
    },
  },
  {
    name: "a taken port is a ListenError; a refused connection is a ConnectError",
    async run(context) {
      const { check } = context;
      const backend = context.makeBackend();
      const listener = await backend.listen({ host: "127.0.0.1", port: 0 });
      context.addCleanup(() => listener.close());
      const port = listener.address.port;
      const taken = await rejectionOf(backend.listen({ host: "127.0.0.1", port }));
      check.ok(taken instanceof ListenError, "listen() on a taken port rejects with a ListenError");
      check.match(String((taken as Error | null)?.message), /address already in use/, "and says why");
      listener.close();
      const refused = await rejectionOf(backend.connect({ host: "127.0.0.1", port }));
      check.ok(refused instanceof ConnectError, "connect() to a closed port rejects with a ConnectError");
      check.match(String((refused as Error | null)?.message), /refused/, "and says why");
    },
  },
  {
    name: "registering a handle twice is an AlreadyRegisteredError",
    async run(context) {
      const { check } = context;
      const { reactor, conn, key } = await connectedPair(context);
      const again = thrownBy(() => reactor.register(conn, Interest.READ, "again"));
      check.ok(again instanceof AlreadyRegisteredError, "the second register() throws AlreadyRegisteredError");
      check.ok(again instanceof ReactorError, "which is a ReactorError");
      check.equal(reactor.size, 1, "the first key is still the only one");
      check.ok(key.valid, "and still valid");
      reactor.unregister(key);
      const fresh = reactor.register(conn, Interest.READ, "fresh");
      check.ok(fresh.valid && fresh !== key, "after unregister() the handle can be registered again");
    },
  },
  {
    name: "a closed key: write() is refused, modify() throws, unregister() does nothing",
    async run(context) {
      const { check } = context;
      const { reactor, key, conn } = await connectedPair(context);
      reactor.closeKey(key);
      check.equal(key.valid, false, "closeKey() cancels the key");
      check.equal(reactor.write(key, enc("late")), false, "write() to a closed key returns false");
      check.equal(key.pendingBytes, 0, "and queues nothing");
      check.ok(thrownBy(() => reactor.modify(key, Interest.READ)) instanceof ReactorError, "modify() throws a ReactorError");
      check.equal(
        thrownBy(() => reactor.unregister(key)),
        null,
        "unregister() does not throw",
      );
      check.equal(reactor.size, 0, "and changes nothing");
      reactor.close();
      const afterClose = thrownBy(() => reactor.register(conn, Interest.READ, "after close"));
      check.ok(afterClose instanceof ReactorError, "register() on a closed reactor throws a ReactorError");
    },
  },
  {
    name: "a key unregistered by an earlier key's dispatch is skipped in the same tick",
    async run(context) {
      const { check } = context;
      const reactor = newReactor(context);
      const listener = await listen(context, reactor.backend);
      const clients = await Promise.all([0, 1].map(() => connect(context, reactor.backend, listener)));
      const conns = await acceptN(context, reactor, listener, 2);
      const keys = conns.map((c, i) => reactor.register(c, Interest.READ, `c${i}`));
      for (const c of clients) c.send(enc("x\n"));
      // Nothing is read, so once both have data every tick reports both.
      const both = await selectUntil(reactor, (ready) => keys.every((k) => ready.readable.includes(k)), "both keys readable in one tick");
      const walked: string[] = [];
      for (const key of both.readable) {
        if (!key.valid) continue;
        walked.push(key.data);
        for (const other of keys) if (other !== key) reactor.unregister(other); // e.g. the first evicts the second
      }
      check.equal(walked.length, 1, "the key cancelled in this walk is skipped");
      const cancelled = keys.find((k) => k.data !== walked[0])!;
      check.equal(cancelled.valid, false, "it is invalid");
      check.ok(cancelled.handle.readiness() & Ready.READABLE, "its handle still has unread bytes");
      const later = await reactor.select(0);
      check.ok(!later.readable.includes(cancelled), "yet it is not reported again");
      check.equal(reactor.size, 1, "only the other key is registered");
    },
  },
  {
    name: "a small read does not hold on to a large buffer: what recv() returns owns about its own size",
    async run(context) {
      const { check } = context;
      const { reactor, key, conn, client } = await connectedPair(context);
      // A byte trickled by a peer must cost about a byte while it waits to
      // be read, not the runtime's read buffer (a 64 KiB slab, say) that a
      // view of it would keep alive. Each send is read before the next.
      let largest = 0;
      for (let i = 0; i < 20; i++) {
        client.send(enc("x\n"));
        let got: Uint8Array | null = null;
        await selectUntil(
          reactor,
          (ready) => {
            if (ready.readable.includes(key)) got = conn.recv();
            return got !== null;
          },
          "two bytes",
        );
        const bytes = got as Uint8Array | null;
        largest = Math.max(largest, bytes?.buffer.byteLength ?? 0);
      }
      check.ok(largest > 0 && largest <= 1024, `the largest buffer behind a 2-byte read is ${largest} bytes (at most 1 KiB)`);
    },
  },
  {
    name: "recv(maxBytes) takes at most maxBytes; the rest stays buffered and the key stays readable",
    async run(context) {
      const { check } = context;
      const { reactor, key, conn, client } = await connectedPair(context);
      // One small send arrives as one segment on loopback (one frame over a WebSocket): all 12 bytes are buffered at once.
      client.send(enc("hello world\n"));
      await selectUntil(reactor, (ready) => ready.readable.includes(key), "readable");
      const first = conn.recv(4);
      check.equal(first && dec(first), "hell", "recv(4) takes the first 4 bytes");
      check.ok(conn.readiness() & Ready.READABLE, "the handle is still readable");
      const next = await reactor.select(0);
      check.ok(next.readable.includes(key), "the key is reported readable again without new input");
      const rest = conn.recv(100);
      check.equal(rest && dec(rest), "o world\n", "the next recv gets the rest, in order");
      check.equal(conn.recv(4), null, "then nothing is buffered");
    },
  },
  {
    name: "a descriptor budget: past it a connection is refused with the given line; closing one frees its descriptor",
    needs: ["refusal-line"],
    async run(context) {
      const { check } = context;
      const reactor = newReactor(context);
      const peer = newReactor(context);
      const budget = new DescriptorBudget(2);
      const listener = await reactor.backend.listen({ host: "127.0.0.1", port: 0, descriptors: budget, fullMessage: enc("full\n") });
      context.addCleanup(() => listener.close());
      // One after another: the kernel queues them in this order, and the runtime accepts in that order.
      const members = [await connect(context, peer.backend, listener), await connect(context, peer.backend, listener)];
      const refused = await connect(context, peer.backend, listener);
      const refusedKey = peer.register(refused, Interest.READ, "refused");
      check.equal(await receiveToEof(peer, refusedKey), "full\n", "the third gets the line, then end of stream");
      const accepted = await acceptN(context, reactor, listener, 2);
      const ports = new Set(members.map((c) => c.local.port));
      check.ok(
        accepted.every((c) => ports.has(c.remote.port)),
        "the two within the budget are accepted",
      );
      check.equal(listener.accept(), null, "the refused one never reaches the backlog");
      check.equal(budget.used, 2, "two descriptors held");
      check.equal(budget.refusals, 1, "one refusal counted");

      // Closing one: its descriptor is free once the socket is closed; the
      // peer sees the reset after the runtime has closed its side.
      const gone = members.find((c) => c.local.port === accepted[0]!.remote.port)!;
      const goneKey = peer.register(gone, Interest.READ, "gone");
      accepted[0]!.abort();
      await selectUntil(
        peer,
        (ready) => ready.errored.includes(goneKey) || (ready.readable.includes(goneKey) && gone.recv()?.length === 0),
        "the close",
      );
      // The peer can see the reset before this side's runtime has run its own
      // close callback, where node:net's socket gives its lease back (about 1
      // run in 60 under load): turn this reactor's loop until it has, bounded.
      for (let i = 0; i < 250 && budget.used !== 1; i++) await reactor.select(20);
      check.equal(budget.used, 1, "the closed connection's descriptor is released");
      accepted[0]!.abort();
      check.equal(budget.used, 1, "released once, however often it is closed");
      const late = await connect(context, peer.backend, listener);
      const [again] = await acceptN(context, reactor, listener, 1);
      check.equal(again?.remote.port, late.local.port, "a new connection is accepted");
      check.equal(budget.used, 2, "and holds the freed descriptor");
      check.equal(budget.refusals, 1, "no further refusal");
    },
  },
  {
    name: "a TLS connect to a plain server fails, with --insecure too (insecure skips verification, not the handshake)",
    needs: ["tls-connect"],
    async run(context) {
      const { check } = context;
      const reactor = newReactor(context);
      const backend = reactor.backend;
      const listener = await listen(context, backend);
      reactor.register(listener, Interest.READ, "listener");
      // The plain server answers a ClientHello with a line of text, as ours does.
      const serving = (async () => {
        for (;;) {
          const ready = await reactor.select();
          for (const key of ready.readable) {
            if (key.handle.kind !== "listener") continue;
            for (let conn = key.handle.accept(); conn; conn = key.handle.accept()) {
              conn.send(enc("plain text, not TLS\n"));
              conn.close();
            }
          }
        }
      })();
      void serving.catch(() => {});
      for (const insecure of [false, true]) {
        const outcome = await backend
          .connect({ host: "127.0.0.1", port: listener.address.port, tls: { insecure } })
          .then((conn) => {
            conn.abort();
            return "connected";
          })
          .catch((err: unknown) => (err instanceof ConnectError ? "ConnectError" : String(err)));
        check.equal(outcome, "ConnectError", `insecure: ${insecure}: the failed handshake is a ConnectError`);
      }
    },
  },
];
