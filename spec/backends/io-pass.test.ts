// PassWaiter: the end of an I/O pass ends poll(), and a lost end-of-pass
// callback (as Bun 1.4 sometimes loses an immediate) cannot leave it asleep.
import t from "tap";
import { PassWaiter, type PassScheduler } from "../../lib/backends/io-pass.ts";

t.test("poll() ends after a wakeup, at the end of the pass", async (t) => {
  const waiter = new PassWaiter();
  const polled = waiter.poll(Infinity);
  let ended = false;
  void polled.then(() => (ended = true));
  waiter.wakeup();
  t.equal(ended, false, "not inside the pass that woke it");
  await polled;
  t.equal(ended, true);
});

t.test("a lost end-of-pass callback is replaced by the watchdog timer", async (t) => {
  const held: Array<() => void> = [];
  // Drops every callback, keeping it to run late, as the runtime might.
  const lose: PassScheduler = (fn, pass) => held.push(() => fn(pass));
  const waiter = new PassWaiter(lose);
  const first = waiter.poll(Infinity);
  waiter.wakeup();
  await first; // only the watchdog can end it
  t.equal(held.length, 1, "the end of pass was scheduled once");

  // The late callback of the first pass must not end the next poll.
  let secondEnded = false;
  const second = waiter.poll(Infinity);
  void second.then(() => (secondEnded = true));
  held.shift()!();
  await new Promise((r) => setImmediate(r));
  t.equal(secondEnded, false, "a stale end-of-pass is ignored");
  waiter.wakeup();
  await second;
  t.equal(secondEnded, true);
});

t.test("a timeout ends poll() without a wakeup", async (t) => {
  const waiter = new PassWaiter();
  await waiter.poll(5);
  t.pass("returned after the timeout");
});
