// The reactor's contract on a scripted backend: every tick is decided by the
// test, so what lands in which ready set can be asserted exactly.
import t from "tap";
import type { Backend, Connection, Listener, Watcher } from "../../lib/reactor/backend.ts";
import { Interest, Ready } from "../../lib/reactor/events.ts";
import { AlreadyRegisteredError, Reactor, ReactorError } from "../../lib/reactor/reactor.ts";

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

/** A listener with nothing to accept: only its key's type matters here. */
class FakeListener implements Listener {
  readonly kind = "listener" as const;
  readonly address = { host: "10.0.0.2", port: 2 };
  error: Error | null = null;
  closed = false;
  readiness(): number {
    return Ready.NONE;
  }
  watch(): void {}
  setReading(): void {}
  accept(): null {
    return null;
  }
  clearError(): void {
    this.error = null;
  }
  close(): void {
    this.closed = true;
  }
}

/** A backend whose clock and poll the test drives. */
class FakeBackend implements Backend {
  readonly name = "fake";
  clock = 0;
  polls: number[] = [];
  /** wakeup() calls: how the reactor ends a sleep. */
  wakeups = 0;
  /** Whether a poll is waiting for a wakeup now. */
  get sleeping(): boolean {
    return this.wake !== null;
  }
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
    this.wakeups++;
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
  t.same(
    r.readable.map((k) => k.data),
    ["a", "b"],
  );
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
  t.equal(reactor.lingeringCount, 1);
  await reactor.select(0);
  t.equal(a.closed, "", "not closed while output remains");
  a.drain(10);
  await reactor.select();
  await reactor.select(0);
  t.equal(a.output, "bye!");
  t.equal(a.closed, "close");
  t.equal(reactor.lingeringCount, 0);
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

t.test("the before-sleep hook runs at each flush, before queued output is sent", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  reactor.setBeforeSleep(() => reactor.write(ka, new TextEncoder().encode("from hook")));
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
    for (const k of r.readable) if (k.handle.kind === "connection") k.handle.recv();
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

t.test("a write made while select() sleeps ends the sleep; the next select() sends it", { timeout: 5000 }, async (t) => {
  const { reactor, backend } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  const sleeping = reactor.select();
  t.ok(backend.sleeping, "asleep in poll(Infinity): nothing is ready");
  reactor.write(ka, new TextEncoder().encode("late"));
  const r = await sleeping; // without the wake-up this never settles
  t.same(r.readable, [], "woken with nothing ready");
  await reactor.select(0);
  t.equal(a.output, "late");
});

t.test("writes made during a tick do not wake the backend", async (t) => {
  const { reactor, backend } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  await reactor.select(0);
  const before = backend.wakeups;
  reactor.write(ka, new TextEncoder().encode("x"));
  reactor.write(ka, new TextEncoder().encode("y"));
  t.equal(backend.wakeups, before, "the flush before the next sleep sends them anyway");
});

t.test("closeKey() with output pending while select() sleeps ends the sleep", { timeout: 5000 }, async (t) => {
  const { reactor, backend } = setup();
  const a = new FakeConn();
  a.room = 2;
  const ka = reactor.register(a, Interest.READ, "a");
  reactor.write(ka, new TextEncoder().encode("bye!"));
  const sleeping = reactor.select(); // sends "by", keeps "e!"
  t.ok(backend.sleeping, "asleep with output pending");
  reactor.closeKey(ka);
  await sleeping;
  t.equal(reactor.lingeringCount, 1, "the key lingers until the rest is out");
  a.drain(10);
  await reactor.select();
  await reactor.select(0);
  t.equal(a.output, "bye!");
  t.equal(a.closed, "close");
});

t.test("a timer set while select() sleeps ends the sleep if it is due first", { timeout: 5000 }, async (t) => {
  const { reactor, backend } = setup();
  const fired: string[] = [];
  const sleeping = reactor.select();
  t.ok(backend.sleeping, "asleep in poll(Infinity)");
  reactor.setTimer(20, () => fired.push("20"));
  t.equal((await sleeping).timers, 0, "woken before the deadline");
  const r = await reactor.select();
  t.equal(backend.polls.at(-1), 20, "the next sleep lasts until the new deadline");
  t.equal(r.timers, 1);
  t.same(fired, ["20"]);
});

t.test("a timer due after the current sleep ends does not wake it", async (t) => {
  const { reactor, backend } = setup();
  const tick = reactor.select(100); // the fake's clock runs to 100 at once; select() has not resumed yet
  const before = backend.wakeups;
  reactor.setTimer(500, () => {});
  t.equal(backend.wakeups, before, "no wake-up: the sleep ends before the timer is due");
  await tick;
});

t.test("registering a handle twice is an AlreadyRegisteredError", async (t) => {
  const { reactor } = setup();
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  let thrown: unknown = null;
  try {
    reactor.register(a, Interest.WRITE, "again");
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof AlreadyRegisteredError, "the second register() throws AlreadyRegisteredError");
  t.ok(thrown instanceof ReactorError, "which is a ReactorError");
  t.equal(reactor.size, 1);
  t.equal(ka.interest, Interest.READ, "the first key is unchanged");
  reactor.unregister(ka);
  t.ok(reactor.register(a, Interest.READ, "fresh").valid, "after unregister() it can be registered again");
});

t.test("only a connection's key can be written to", async (t) => {
  const { reactor } = setup();
  const listenerKey = reactor.register(new FakeListener(), Interest.READ, "listener");
  // @ts-expect-error a listener's key is not a SelectorKey<T, Connection>
  t.throws(() => reactor.write(listenerKey, new Uint8Array([1])), ReactorError, "and at run time a ReactorError");
  t.equal(listenerKey.pendingBytes, 0);
});

t.test("a key of another reactor is a ReactorError", async (t) => {
  const { reactor } = setup();
  const other = setup().reactor;
  const ka = other.register(new FakeConn(), Interest.READ, "a");
  t.throws(() => reactor.write(ka, new Uint8Array([1])), ReactorError);
  t.throws(() => reactor.unregister(ka), ReactorError);
  t.ok(ka.valid, "the other reactor's key is untouched");
});

/** A backend that wakes `lateBy` ms after the deadline, and hands over waiting input one I/O pass at a time. */
class LateBackend extends FakeBackend {
  lateBy = 0;
  passes: Array<() => void> = [];
  override poll(timeoutMs: number): Promise<void> {
    if (timeoutMs === 0) this.passes.shift()?.();
    else if (timeoutMs !== Infinity) this.clock += this.lateBy;
    return super.poll(timeoutMs);
  }
}

t.test("after a late wake-up, input that piled up is let in before timers run", async (t) => {
  const backend = new LateBackend();
  const reactor = new Reactor<string>(backend);
  const a = new FakeConn();
  reactor.register(a, Interest.READ, "a");
  let seenByTimer = -1;
  reactor.setTimer(100, () => (seenByTimer = a.readiness() & Ready.READABLE));
  backend.lateBy = 8000; // the process was stopped 8 s
  backend.passes = [() => a.arrive("first half"), () => a.arrive(" second half\n")];
  const ready = await reactor.select();
  t.equal(seenByTimer, Ready.READABLE, "the timer saw the waiting input");
  t.same(backend.polls, [100, 0, 0, 0], "two catch-up passes brought input, the third nothing");
  t.equal(ready.readable.length, 1);
});

t.test("a wake-up on time, or one ended early by a write, runs no catch-up pass", async (t) => {
  const backend = new LateBackend();
  const reactor = new Reactor<string>(backend);
  const a = new FakeConn();
  const ka = reactor.register(a, Interest.READ, "a");
  reactor.setTimer(100, () => {});
  await reactor.select();
  t.same(backend.polls, [100], "on time: one poll");
  const sleeping = reactor.select();
  reactor.write(ka, new TextEncoder().encode("x"));
  await sleeping;
  t.same(backend.polls, [100, Infinity], "ended by a write: not a stall");
});
