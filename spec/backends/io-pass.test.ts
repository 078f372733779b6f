// IoPassPoller: the end of an I/O pass ends poll(), and a lost end-of-pass
// callback (as Bun 1.4 sometimes loses an immediate) cannot leave it asleep.
import t from "tap";
import { IoPassPoller, type EndOfPassScheduler } from "../../lib/backends/io-pass.ts";

t.test("poll() ends after a wakeup, at the end of the pass", async (t) => {
  const poller = new IoPassPoller();
  const polled = poller.poll(Infinity);
  let ended = false;
  void polled.then(() => (ended = true));
  poller.wakeup();
  t.equal(ended, false, "not inside the pass that woke it");
  await polled;
  t.equal(ended, true);
});

t.test("a lost end-of-pass callback is replaced by the watchdog timer", async (t) => {
  const held: Array<() => void> = [];
  // Drops every callback, keeping it to run late, as the runtime might.
  const loseEveryPass: EndOfPassScheduler = (fn, pass) => held.push(() => fn(pass));
  const poller = new IoPassPoller(loseEveryPass);
  const first = poller.poll(Infinity);
  poller.wakeup();
  await first; // only the watchdog can end it
  t.equal(held.length, 1, "the end of pass was scheduled once");

  // The late callback of the first pass must not end the next poll.
  let secondEnded = false;
  const second = poller.poll(Infinity);
  void second.then(() => (secondEnded = true));
  held.shift()!();
  await new Promise((r) => setImmediate(r));
  t.equal(secondEnded, false, "a stale end-of-pass is ignored");
  poller.wakeup();
  await second;
  t.equal(secondEnded, true);
});

t.test("a timeout ends poll() without a wakeup", async (t) => {
  const poller = new IoPassPoller();
  await t.resolves(poller.poll(5), "returned after the timeout");
});
