// IoPassPoller: the end of an I/O pass ends poll(), and a lost end-of-pass
// callback (as Bun 1.4 sometimes loses an immediate) cannot leave it asleep.
import t from "tap";
import { spawnSync } from "node:child_process";
import { IoPassPoller, type EndOfPassScheduler, LATE_PASS_MS } from "../../lib/backends/io-pass.ts";

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

t.test("one timeout timer serves poll after poll: none made per tick", async (t) => {
  const real = globalThis.setTimeout;
  let made = 0;
  // Count only the poller's timeout timers (its late-pass watchdog is 2 ms, made once).
  globalThis.setTimeout = ((fn: () => void, ms?: number, ...args: unknown[]) => {
    if ((ms ?? 0) > LATE_PASS_MS) made++;
    return real(fn, ms, ...args);
  }) as typeof setTimeout;
  try {
    const poller = new IoPassPoller();
    for (let i = 0; i < 1000; i++) {
      const polled = poller.poll(60_000);
      poller.wakeup(); // I/O ends the poll long before its timeout, as under load
      await polled;
    }
    t.equal(made, 1, "1000 polls with a timeout, one timer");
  } finally {
    globalThis.setTimeout = real;
  }
});

t.test("a kept timer set for an earlier wake time does not end a later poll early", async (t) => {
  const poller = new IoPassPoller();
  const first = poller.poll(20);
  poller.wakeup();
  await first; // its timer (due in 20 ms) stays for the next poll
  const start = performance.now();
  await poller.poll(200);
  const waited = performance.now() - start;
  t.ok(waited >= 198, `the second poll slept its own 200 ms (${waited.toFixed(1)} ms)`);
});

t.test("the kept timer holds no process up once no poll waits", async (t) => {
  // A child whose last poll had a minute's timeout, ended by a wakeup: it must exit now, not in a minute.
  const script = `
    import { IoPassPoller } from ${JSON.stringify(new URL("../../lib/backends/io-pass.ts", import.meta.url).href)};
    const poller = new IoPassPoller();
    const polled = poller.poll(60_000);
    poller.wakeup();
    await polled;
  `;
  const start = performance.now();
  const child = spawnSync(process.execPath, [...process.execArgv, "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 30_000,
  });
  t.equal(child.status, 0, `the child exited by itself ${child.stderr}`);
  t.ok(performance.now() - start < 30_000, "well before the minute");
});
