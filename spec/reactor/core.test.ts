// The reactor's contract on a scripted backend: every tick is decided by the
// test, so what lands in which ready set can be asserted exactly.
import t from "tap";
import type { Backend, Connection, Watcher } from "../../lib/reactor/backend.ts";
import { Interest, Ready } from "../../lib/reactor/events.ts";
import { Reactor, ReactorError } from "../../lib/reactor/reactor.ts";

/** A handle whose readiness the test sets by hand. */
class FakeConn implements Connection {
  readonly kind = "connection" as const;
  readonly remote = { host: "10.0.0.1", port: 1 };
  readonly local = { host: "10.0.0.2", port: 2 };
  error: Error | null = null;
  inbound: Uint8Array[] = [];
  eof = false;
  room = Infinity; // bytes the "kernel" takes before it is full
  sent: Uint8Array[] = [];
  closed = "";
  reading = false;
  private watcher: Watcher | null = null;
  readiness(): number {
    return (
      (this.inbound.length || this.eof ? Ready.READABLE : 0) |
      (this.room > 0 && !this.closed ? Ready.WRITABLE : 0) |
      (this.error ? Ready.ERRORED : 0)
    );
  }
  watch(w: Watcher | null): void {
    this.watcher = w;
  }
  setReading(on: boolean): void {
    this.reading = on;
  }
  recv(): Uint8Array | null {
    if (this.inbound.length) return this.inbound.shift()!;
    return this.eof ? new Uint8Array(0) : null;
  }
  send(bytes: Uint8Array): number {
    if (this.error) return -1;
    const n = Math.min(bytes.length, this.room);
    this.room -= n;
    this.sent.push(bytes.slice(0, n));
    return n;
  }
  close(): void {
    this.closed = "close";
  }
  abort(): void {
    this.closed = "abort";
  }
  // what the runtime would do
  arrive(text: string): void {
    this.inbound.push(new TextEncoder().encode(text));
    this.watcher?.(this);
  }
  fail(): void {
    this.error = new Error("reset");
    this.watcher?.(this);
  }
  drain(room: number): void {
    this.room = room;
    this.watcher?.(this);
  }
  get output(): string {
    return this.sent.map((b) => new TextDecoder().decode(b)).join("");
  }
}

/** A backend whose clock and poll the test drives. */
class FakeBackend implements Backend {
  readonly name = "fake";
  clock = 0;
  polls: number[] = [];
  private wake: (() => void) | null = null;
  private woken = false;
  now(): number {
    return this.clock;
  }
  poll(timeoutMs: number): Promise<void> {
    this.polls.push(timeoutMs);
    if (this.woken || timeoutMs === 0) {
      this.woken = false;
      return Promise.resolve();
    }
    if (timeoutMs !== Infinity) {
      this.clock += timeoutMs; // time passes only while the loop sleeps
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.wake = resolve));
  }
  wakeup(): void {
    this.woken = true;
    const w = this.wake;
    this.wake = null;
    if (w) {
      this.woken = false;
      w();
    }
  }
  listen(): never {
    throw new Error("not used");
  }
  connect(): never {
    throw new Error("not used");
  }
  stdin(): never {
    throw new Error("not used");
  }
}

function setup() {
  const backend = new FakeBackend();
  const reactor = new Reactor<string>(backend);
  return { backend, reactor };
}

t.test("one select() reports every handle that fired since the last, in one set each", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const b = new FakeConn();
  const c = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  const kb = reactor.register(b, Interest.READ, "b");
  reactor.register(c, Interest.READ, "c");
  a.arrive("x");
  b.arrive("y");
  b.arrive("z"); // a second event for b in the same pass
  const r = await reactor.select();
  t.same(r.readable.map((k) => k.data), ["a", "b"]);
  t.same(r.writable, [], "no WRITE interest, no writable report");
  t.same(r.errored, []);
  t.equal(ka.ready, Ready.READABLE);
  t.equal(kb.ready, Ready.READABLE);
  t.ok(a.reading && b.reading, "READ interest turns reading on");
});

t.test("level-triggered: a key is reported until it is served", async (t) => {
  const { reactor, backend } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  a.arrive("x");
  t.same((await reactor.select()).readable, [ka]);
  t.same((await reactor.select()).readable, [ka], "not read: reported again");
  t.equal(backend.polls.at(-1), 0, "and the loop did not sleep for it");
  a.recv();
  t.same((await reactor.select(10)).readable, [], "served: no longer reported");
});

t.test("data that arrived before register() is reported at once", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  a.inbound.push(new Uint8Array([1]));
  const ka = reactor.register(a, Interest.READ, "a");
  t.same((await reactor.select()).readable, [ka]);
});

t.test("an error is always reported, whatever the interest", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.NONE, "a");
  a.fail();
  const r = await reactor.select();
  t.same(r.errored, [ka]);
  t.same(r.readable, []);
  t.equal(ka.ready, Ready.ERRORED);
});

t.test("end of stream is readable, and recv() gives an empty array", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  a.eof = true;
  a.arrive("last");
  t.same((await reactor.select()).readable, [ka]);
  t.equal(a.recv()!.length, 4);
  t.equal(a.recv()!.length, 0);
});

t.test("unregister during a dispatch: the key is invalid in this tick and gone after", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const b = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  const kb = reactor.register(b, Interest.READ, "b");
  a.arrive("x");
  b.arrive("y");
  const r = await reactor.select();
  const walked: string[] = [];
  for (const key of r.readable) {
    if (!key.valid) continue;
    walked.push(key.data);
    if (key === ka) reactor.unregister(kb); // e.g. a evicts b
  }
  t.same(walked, ["a"], "the cancelled key is skipped in the same walk");
  t.equal(kb.valid, false);
  b.arrive("more");
  t.notOk((await reactor.select(0)).readable.includes(kb), "never reported again");
  t.throws(() => reactor.modify(kb, Interest.READ), ReactorError);
  t.equal(reactor.size, 1);
});

t.test("writes in a tick are queued and sent once, before the next sleep", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  reactor.write(ka, new TextEncoder().encode("one "));
  reactor.write(ka, new TextEncoder().encode("two"));
  t.equal(a.sent.length, 0, "nothing sent during the tick");
  await reactor.select(0);
  t.equal(a.sent.length, 1, "one send for two writes");
  t.equal(a.output, "one two");
});

t.test("a short send keeps the rest until the key is writable again", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  a.room = 3;
  const ka = reactor.register(a, Interest.READ, "a");
  reactor.write(ka, new TextEncoder().encode("abcdefgh"));
  await reactor.select(0);
  t.equal(a.output, "abc");
  t.equal(ka.pendingBytes, 5);
  await reactor.select(0);
  t.equal(a.sent.length, 1, "no retry while the socket is full");
  a.drain(100);
  const r = await reactor.select();
  t.same(r.writable, [], "the internal retry is not reported to a key without WRITE interest");
  await reactor.select(0); // the flush phase of the next tick sends the rest
  t.equal(a.output, "abcdefgh");
  t.equal(ka.pendingBytes, 0);
});

t.test("a failed send leaves the key errored for the dispatcher to evict", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  a.error = new Error("EPIPE");
  reactor.write(ka, new Uint8Array([1]));
  a.fail();
  const r = await reactor.select();
  t.same(r.errored, [ka]);
  t.equal(ka.pendingBytes, 0, "output for a dead socket is dropped");
});

t.test("closeKey() flushes first; closeKey(key, true) resets at once", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const b = new FakeConn();
  a.room = 2;
  const ka = reactor.register(a, Interest.READ, "a");
  const kb = reactor.register(b, Interest.READ, "b");
  reactor.write(ka, new TextEncoder().encode("bye!"));
  reactor.closeKey(ka);
  t.equal(ka.valid, false);
  t.equal(reactor.closing, 1);
  await reactor.select(0);
  t.equal(a.closed, "", "not closed while output remains");
  a.drain(10);
  await reactor.select();
  await reactor.select(0);
  t.equal(a.output, "bye!");
  t.equal(a.closed, "close");
  t.equal(reactor.closing, 0);
  reactor.write(kb, new Uint8Array([1]));
  reactor.closeKey(kb, true);
  t.equal(b.closed, "abort");
  t.equal(b.sent.length, 0);
});

t.test("WRITE interest: writable reported while the socket has room", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ | Interest.WRITE, "a");
  t.same((await reactor.select()).writable, [ka]);
  t.same((await reactor.select()).writable, [ka], "level-triggered");
  reactor.modify(ka, Interest.READ);
  t.same((await reactor.select(0)).writable, []);
});

t.test("timers: the sleep ends at the next deadline and due timers run in order", async (t) => {
  const { reactor, backend } = setup();
  const fired: string[] = [];
  reactor.setTimer(50, () => fired.push("50"));
  reactor.setTimer(20, () => fired.push("20"));
  reactor.setTimer(20, () => fired.push("20 again"));
  const dropped = reactor.setTimer(30, () => fired.push("cancelled"));
  dropped.cancel();
  let r = await reactor.select(1000);
  t.equal(backend.polls.at(-1), 20, "slept only until the first deadline");
  t.same(fired, ["20", "20 again"], "equal deadlines fire in the order set");
  t.equal(r.timers, 2);
  r = await reactor.select(1000);
  t.equal(backend.polls.at(-1), 30, "the cancelled timer does not shorten the sleep");
  t.same(fired, ["20", "20 again", "50"]);
  await reactor.select(5);
  t.equal(backend.polls.at(-1), 5, "with no timer, the select timeout holds");
});

t.test("a timer callback that unregisters a key keeps it out of that tick's sets", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  reactor.setTimer(0, () => reactor.unregister(ka));
  a.arrive("x");
  const r = await reactor.select();
  t.same(r.readable, []);
});

t.test("beforeSleep hooks run at each flush, before queued output is sent", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  reactor.beforeSleep(() => reactor.write(ka, new TextEncoder().encode("from hook")));
  await reactor.select(0);
  t.equal(a.output, "from hook");
});

t.test("run() loops until stop(); misuse is a ReactorError", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  reactor.register(a, Interest.READ, "a");
  let ticks = 0;
  a.arrive("x");
  await reactor.run((r) => {
    ticks++;
    for (const k of r.readable) (k.handle as FakeConn).recv();
    if (ticks === 2) reactor.stop();
    else a.arrive("y");
  });
  t.equal(ticks, 2);
  const pending = reactor.select();
  await t.rejects(reactor.select(), ReactorError, "one select() at a time");
  reactor.backend.wakeup();
  await pending;
  reactor.close();
  t.equal(a.closed, "abort", "close() resets what is still registered");
  t.throws(() => reactor.register(new FakeConn(), Interest.READ, "x"), ReactorError);
});
